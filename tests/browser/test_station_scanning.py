"""The scanner in real Chromium (issue 9: defects 6 and 9): a shipment id scanned on any screen opens
it, whatever has the cursor, and never presses the button that has it; a scanned tracking number
(a label found again) opens its shipment. A scanner types the code and sends Enter, as the
keyboard does here."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from fulfillment.shipments import services
from fulfillment.shipments.models import Package, Programme, ShipmentStep
from fulfillment.stations.models import Station
from tests.shipments import factories

from .helpers import make_packer, sign_in_at_station

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def no_worker(monkeypatch):
    monkeypatch.setattr(services.steps, "enqueue_step", lambda step_id: None)


@pytest.fixture
def packer_page(page, live_server):
    Station.objects.create(name="Bench A", location_id="LOC", timezone="Asia/Kolkata")
    sign_in_at_station(page, live_server, make_packer(), "Bench A")
    return page


def _scan(page, code):
    page.keyboard.type(code, delay=5)  # a scanner types fast, then Enter
    page.keyboard.press("Enter")


def _opened(page, live_server, shipment):
    page.wait_for_url(f"{live_server.url}/shipments/{shipment.amazon_id}/")
    expect(page.locator("#shipment-header h1")).to_have_text(shipment.amazon_id)
    # Opening claims it: wait for that, so the test ends with no request of the page still running.
    expect(page.locator("[data-claim-state=mine], [data-claim-done]")).to_be_visible()


def test_a_shipment_scanned_on_the_shipped_screen_opens_it(packer_page, live_server, shoot):
    """Defect 6: on the Shipped screen the scanner's Enter followed "Next shipment" and the queue's
    box came up empty: the scanned id was lost."""
    page = packer_page
    shipped = factories.shipment(status="SHIPPED", tracking_ids=["TRK-1"])
    factories.package(shipped, tracking_id="TRK-1", shipped_at=timezone.now())
    following = factories.shipment(ship_by=timezone.now() + timedelta(hours=2))
    page.goto(f"{live_server.url}/shipments/{shipped.amazon_id}/")
    expect(page.locator("[data-shipped]")).to_be_visible()
    expect(page.locator("#scan-input")).to_be_focused()
    shoot("78-shipped-scan-next")
    _scan(page, following.amazon_id)
    _opened(page, live_server, following)


def test_a_scan_while_a_button_has_the_cursor_opens_the_shipment_and_presses_nothing(packer_page, live_server):
    page = packer_page
    ready = factories.shipment(status="SHIPLABEL_GENERATED", ship_by=timezone.now() + timedelta(hours=2))
    factories.package(ready, label_status=Package.LabelStatus.READY, label_printed_at=timezone.now())
    other = factories.shipment(ship_by=timezone.now() + timedelta(hours=3))
    page.goto(f"{live_server.url}/shipments/{ready.amazon_id}/")
    expect(page.locator("[data-action=SHIP]")).to_be_focused()
    _scan(page, other.buyer_order_id)
    _opened(page, live_server, other)
    assert not ShipmentStep.objects.filter(shipment=ready, kind="SHIP").exists()  # Enter did not mark it shipped


def test_a_scan_on_the_queue_goes_into_the_scan_box_even_when_it_lost_the_cursor(packer_page, live_server):
    page = packer_page
    first = factories.shipment(ship_by=timezone.now() + timedelta(hours=1))
    made = factories.shipment(ship_by=timezone.now() + timedelta(hours=2))
    page.goto(f"{live_server.url}/shipments/")
    page.locator(f"tr[data-shipment='{first.amazon_id}'] a.open").focus()  # the packer tabbed onto a row
    _scan(page, made.amazon_id)
    _opened(page, live_server, made)


def test_a_scanned_tracking_number_opens_its_shipment(packer_page, live_server, shoot):
    """Defect 9: the scan box took only a shipment or order id."""
    page = packer_page
    made = factories.shipment(Programme.SELF_SHIP, status="SHIPPED")
    factories.package(made, tracking_id="1Z999AA10123456784", carrier_name="UPS", shipped_at=timezone.now())
    page.goto(f"{live_server.url}/shipments/")
    expect(page.locator("#scan-input")).to_be_focused()
    _scan(page, "1Z999AA10123456784")
    _opened(page, live_server, made)
    expect(page.locator("[data-shipped]")).to_be_visible()
    page.goto(f"{live_server.url}/shipments/")
    _scan(page, "1Z-NOT-OURS")
    expect(page.locator("[data-scan-error]")).to_contain_text("No shipment found for “1Z-NOT-OURS”")
    expect(page.locator("[data-scan-error]")).to_contain_text("tracking number")
    expect(page.locator("#scan-input")).to_have_value("1Z-NOT-OURS")
    shoot("79-queue-scan-unknown")
