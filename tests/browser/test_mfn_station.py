"""Seller-fulfilled (MFN) Amazon orders at the station in Chromium: from the queue (channel badge) to
a bought, printed label and a confirmed shipment; two packages confirmed one by one; a store pickup
order to PickedUp; a label purchase whose answer was lost, settled by a supervisor. The sandbox's
Orders and Merchant Fulfillment APIs answer over HTTP; steps run eagerly inside the live server (as
tests/browser/test_packing_flow.py)."""

import pytest
from playwright.sync_api import expect

from fulfillment.sandbox.core.catalogue import LOCATIONS
from fulfillment.shipments import services
from fulfillment.shipments.models import Shipment
from fulfillment.stations.models import BoxPreset, Station
from tests.conftest import SCREENSHOTS

from .helpers import make_packer, sign_in_at_station
from .test_packing_flow import STEP_TIMEOUT, _press, _wait_status, eager_steps  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LOCATION = LOCATIONS[0]


@pytest.fixture
def station(label_printer):
    host, port = label_printer.server_address
    BoxPreset.objects.create(name="Medium box", length=30, width=25, height=15)
    return Station.objects.create(name="Bench 1", location_id=LOCATION, printer_host=host, printer_port=port)


@pytest.fixture
def packer_page(page, live_server, sandbox_settings, eager_steps, station, print_spy):  # noqa: F811
    sign_in_at_station(page, live_server, make_packer(), station.name)
    return page


def _order(sandbox, **shape) -> Shipment:
    sandbox.configure(orders_list_lag_seconds=0)
    state = sandbox.create_order(location_id=LOCATION, **shape)
    services.sync_mfn_account("default", locations={LOCATION}, force=True)  # as the periodic sync does
    return Shipment.objects.get(amazon_id=state["order"]["AmazonOrderId"])


def _pack(page, *quantities):
    """Fill the packages form: one box per entry, each holding that many units of the one line."""
    for n in range(1, len(quantities)):
        _press(page, "ADD_PACKAGE")
        expect(page.locator(f"input[name='pkg-{n}-weight']")).to_be_visible()
    for n, quantity in enumerate(quantities):
        page.get_by_role("button", name="Medium box").nth(n).click()
        page.locator(f"input[name='pkg-{n}-weight']").fill("900")
        page.locator(f"input[name^='pkg-{n}-qty_']").first.fill(str(quantity))
    _press(page, "SAVE_PACKAGES")


def _print_label(page, package_row):
    """Print the package's label like any label: ZPL to the station's printer, PDF/PNG via the browser."""
    package_row.locator("[data-action=PRINT_LABEL]").click()
    expect(package_row.locator(".pill-done")).to_contain_text("Printed", timeout=STEP_TIMEOUT)


def test_mfn_order_from_the_queue_to_a_bought_printed_label_and_a_confirmed_shipment(packer_page, live_server,
                                                                                     sandbox, shoot, print_spy):
    page = packer_page
    order = _order(sandbox, marketplace="US", skus=["LEGO-60337-CITY"], ship_by_hours=30)
    page.goto(f"{live_server.url}/shipments/")
    row = page.locator(f"tr[data-shipment='{order.amazon_id}']")
    expect(row.locator(".badge-mfn")).to_have_text("Seller-fulfilled")
    shoot("60-queue-mfn")
    row.locator("a.open").click()
    page.wait_for_url(f"**/shipments/{order.amazon_id}/")
    _pack(page, 1)
    expect(page.locator("[data-action=MFN_BUY_CHEAPEST]")).to_be_visible(timeout=STEP_TIMEOUT)
    _press(page, "MFN_SERVICES")
    expect(page.locator("[data-mfn-offers] tr[data-offer]").first).to_be_visible(timeout=STEP_TIMEOUT)
    shoot("61-mfn-prices")
    _press(page, "MFN_BUY_CHEAPEST")
    label_row = page.locator("[data-label-package]").first
    expect(label_row).to_be_visible(timeout=STEP_TIMEOUT)
    package = order.packages.get()
    assert package.label_shipment_id and package.service_id
    expect(page.locator("[data-action=MFN_PRINT_LABEL]")).to_be_focused()  # Enter prints it
    shoot("62-mfn-label-bought")
    page.keyboard.press("Enter")
    expect(label_row.locator(".pill-done")).to_contain_text("Printed", timeout=STEP_TIMEOUT)
    _press(page, "MFN_CONFIRM")
    _wait_status(page, "SHIPPED")
    expect(page.locator("[data-shipped]")).to_be_visible()
    expect(page.locator("[data-mfn-reference='1']")).to_be_visible()
    shoot("63-mfn-confirmed")
    held = sandbox.order_state(order.amazon_id)
    assert held["order"]["OrderStatus"] == "Shipped" and list(held["confirmations"]) == ["1"]


def test_two_packages_confirmed_one_by_one_and_a_store_pickup(packer_page, live_server, sandbox, shoot):
    page = packer_page
    order = _order(sandbox, marketplace="US", skus=["LEGO-60337-CITY"], units=2, ship_by_hours=30)
    page.goto(f"{live_server.url}/shipments/{order.amazon_id}/")
    _pack(page, 1, 1)
    for position, status in ((1, "PARTIALLY_SHIPPED"), (2, "SHIPPED")):
        expect(page.locator(f"[data-action=MFN_BUY_CHEAPEST][data-package='{position}']")).to_be_visible(
            timeout=STEP_TIMEOUT)
        _press(page, "MFN_BUY_CHEAPEST")
        label_row = page.locator("[data-label-package]").nth(position - 1)
        expect(label_row.locator("[data-action=PRINT_LABEL]")).to_be_visible(timeout=STEP_TIMEOUT)
        _print_label(page, label_row)
        _press(page, "MFN_CONFIRM")
        _wait_status(page, status)
        if position == 1:
            shoot("64-mfn-partly-shipped")
            assert sandbox.order_state(order.amazon_id)["order"]["OrderStatus"] == "PartiallyShipped"
    assert sorted(sandbox.order_state(order.amazon_id)["confirmations"]) == ["1", "2"]

    pickup = _order(sandbox, marketplace="US", skus=["TPLINK-ARCHER-C6"], store_pickup=True)
    page.goto(f"{live_server.url}/shipments/{pickup.amazon_id}/")
    expect(page.locator(".badge-pickup")).to_be_visible()
    _press(page, "MFN_READY")
    _wait_status(page, "READY_FOR_PICKUP")
    shoot("65-mfn-ready-for-pickup")
    _press(page, "MFN_PICKED_UP")
    _wait_status(page, "SHIPPED")
    assert sandbox.order_state(pickup.amazon_id)["order"]["OrderStatus"] == "Shipped"


def test_a_label_purchase_whose_answer_was_lost_is_settled_by_a_supervisor(packer_page, live_server, sandbox,
                                                                           browser, browser_context_args, shoot):
    from fulfillment.accounts import roles

    from .helpers import make_user

    page = packer_page
    order = _order(sandbox, marketplace="US", skus=["LEGO-60337-CITY"], ship_by_hours=30)
    page.goto(f"{live_server.url}/shipments/{order.amazon_id}/")
    _pack(page, 1)
    expect(page.locator("[data-action=MFN_BUY_CHEAPEST]")).to_be_visible(timeout=STEP_TIMEOUT)
    sandbox.faults(operations=["createShipment"], error_rate=1.0, error_status=500, count=1, apply=True)
    _press(page, "MFN_BUY_CHEAPEST")
    # Said once, in the failed step's banner (the panel repeats it only once that is no longer the latest).
    expect(page.locator("[data-step-error]")).to_contain_text("Do not buy again", timeout=STEP_TIMEOUT)
    expect(page.locator("[data-label-in-doubt]")).to_have_count(0)
    expect(page.locator("[data-action=MFN_BUY_CHEAPEST]")).to_have_count(0)
    shoot("66-mfn-label-in-doubt")

    [sold] = sandbox.mfn_shipments(order.amazon_id)  # what Seller Central shows the supervisor
    lead = browser.new_context(**browser_context_args).new_page()
    sign_in_at_station(lead, live_server, make_user("sam", roles.SUPERVISOR), "Bench 1")
    lead.goto(f"{live_server.url}/shipments/{order.amazon_id}/")
    lead.get_by_label("A label for this package").check()
    lead.get_by_label("Its shipment id").fill(sold["ShipmentId"])
    lead.screenshot(path=str(SCREENSHOTS / "67-mfn-label-check-supervisor-1366x768.png"))  # the form, filled in
    _press(lead, "MFN_LABEL_CHECK")
    expect(lead.locator("[data-next], h2").first).to_contain_text("Print the label", timeout=STEP_TIMEOUT)
    lead.context.close()

    page.reload()
    expect(page.locator("[data-action=MFN_PRINT_LABEL]")).to_be_visible(timeout=STEP_TIMEOUT)
    package = order.packages.get()
    assert package.label_shipment_id == sold["ShipmentId"] and package.tracking_id == sold["TrackingId"]
    assert len(sandbox.mfn_shipments(order.amazon_id)) == 1
