"""What a packer's browser sees besides the page (issue 9, defect 7): no error in the console while
the packages form is filled in, a favicon, and no countdown on a shipment that has shipped."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from fulfillment.shipments import services
from fulfillment.stations.models import Station
from tests.shipments import factories

from .helpers import make_packer, sign_in_at_station

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def no_worker(monkeypatch):
    monkeypatch.setattr(services.steps, "enqueue_step", lambda step_id: None)


def test_filling_in_the_packages_form_logs_no_error_and_every_page_has_its_icon(page, live_server):
    """Every quantity or serial change logged an htmx error (hx-disabled-elt inherited from the form),
    and /favicon.ico answered 404."""
    Station.objects.create(name="Bench A", location_id="LOC")
    made = factories.shipment(status="CONFIRMED", lines=(("PHONE-X1", 2),), requires_serials=True,
                              compliance={"serial_number_requirement": "REQUIRED"}, scan_skipped_at=timezone.now())
    problems = []
    page.on("console", lambda message: message.type in ("error", "warning") and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("response", lambda response: response.status >= 400 and problems.append(f"{response.status} {response.url}"))
    sign_in_at_station(page, live_server, make_packer(), "Bench A")
    page.goto(f"{live_server.url}/shipments/{made.amazon_id}/")
    qty = page.locator("input[name='pkg-0-qty_1']")
    qty.fill("1")
    with page.expect_response(lambda response: "/packages/" in response.url):
        qty.press("Tab")
    expect(page.locator("input.serial")).to_have_count(1)
    serial = page.locator("input.serial")
    serial.fill("SN-0001")
    with page.expect_response(lambda response: "check-serial" in response.url):
        serial.press("Tab")
    expect(page.locator(".serial-status.good")).to_have_text("✓")
    icon = page.request.get(f"{live_server.url}/favicon.ico")
    assert icon.ok and icon.headers["content-type"] == "image/svg+xml"
    assert page.locator("link[rel=icon]").count() == 1
    assert problems == []
