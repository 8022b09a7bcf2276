"""A stored ZPL label drawn in Chromium by the vendored zpl-renderer-js, under the site's real CSP
(WebAssembly allowed on the preview page only), for a packer and a supervisor."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from fulfillment.accounts import roles
from fulfillment.documents.models import Document
from fulfillment.stations.models import Station
from tests.shipments import factories

from .helpers import make_packer, make_user, sign_in_at_station

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LABEL = b"^XA^FO40,40^A0N,60,60^FDPackbench^FS^FO40,140^BCN,120,Y,N,N^FD1Z999AA10123456784^FS^XZ"


@pytest.fixture
def strict_page(browser, live_server):
    """A tab without the suite's CSP bypass: the page's own Content-Security-Policy applies."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    yield context.new_page()
    context.close()


def test_a_zpl_label_is_drawn_without_a_printer(strict_page, live_server):
    page = strict_page
    Station.objects.create(name="Bench Z", location_id="LOC")
    shipment = factories.shipment(status="SHIPLABEL_GENERATED")
    package = factories.package(shipment, tracking_id="1Z999AA10123456784")
    label = Document.objects.create(shipment=shipment, package=package, kind=Document.Kind.LABEL, content=LABEL,
                                    original_format="ZPL", content_type="application/zpl",
                                    tracking_id="1Z999AA10123456784", carrier_name="UPS")
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    for user in (make_packer(), make_user("sam", roles.SUPERVISOR)):
        sign_in_at_station(page, live_server, user, "Bench Z")
        if user.username == "packer":
            page.goto(f"{live_server.url}/shipments/{shipment.amazon_id}/")
        else:  # a supervisor, from the shipment's history
            page.goto(live_server.url + reverse("supervision:history", args=[shipment.amazon_id]))
        assert not page.locator("script[src*='zpl-renderer']").count()  # no other page loads it
        page.locator("[data-action=PREVIEW_LABEL]").first.click()
        preview = page.locator("[data-zpl-preview]")
        expect(preview).to_have_attribute("data-preview-state", "done", timeout=30_000)
        image = page.locator("[data-zpl-image]")
        expect(image).to_have_count(1)
        assert page.evaluate("document.querySelector('[data-zpl-image]').naturalWidth") == 813  # 101.6 mm at 8 dpmm
        if user.username == "packer":
            page.screenshot(path="screenshots/zpl-preview-1366x768.png")
        page.context.clear_cookies()
    assert not [e for e in errors if "Content Security Policy" in e], errors
    assert label.pk
