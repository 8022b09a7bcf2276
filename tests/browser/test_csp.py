"""The pages work under the real Content-Security-Policy (no bypass): htmx swaps, polling,
scanner focus and countdowns run, and Chromium reports no violation."""

import re

import pytest
from playwright.sync_api import expect

from fulfillment.shipments import services
from fulfillment.shipments.models import Shipment

from .helpers import make_packer, sign_in_at_station
from .test_packing_flow import LOCATION, _wait_status, eager_steps, station  # noqa: F401  fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def strict_page(browser):
    """A browser context that enforces the site's CSP, unlike the shared one."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    violations = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.on("pageerror", lambda exc: violations.append(str(exc)))
    yield page, violations
    context.close()


def test_a_packer_confirms_a_shipment_under_the_enforced_policy(
    strict_page, live_server, sandbox, sandbox_settings, eager_steps, station  # noqa: F811
):
    page, violations = strict_page
    doc = sandbox.create_shipment(location_id=LOCATION, programme="easy_ship", marketplace="IN", units=1)
    shipment_id = doc["id"] if "id" in doc else doc["shipment"]["id"]
    services.refresh_shipment(shipment_id)

    sign_in_at_station(page, live_server, make_packer(), station.name)
    scan = page.locator("#scan-input")
    expect(scan).to_be_focused()  # station.js ran: scripts from our origin are allowed
    expect(page.locator("[data-deadline]").first).to_contain_text(re.compile(r"left|overdue"))
    scan.fill(shipment_id)
    scan.press("Enter")
    page.wait_for_url("**/shipments/*/")

    page.locator("[data-action=CONFIRM]").first.click()  # an htmx POST with the CSRF header, then polling
    _wait_status(page, "CONFIRMED")
    assert Shipment.objects.get(amazon_id=shipment_id).status == "CONFIRMED"
    assert violations == []
