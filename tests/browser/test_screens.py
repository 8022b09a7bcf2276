"""Every station screen in real Chromium at both station resolutions, from stored shipments
(no Amazon calls: steps stay waiting). Screenshots land in screenshots/ for a human look."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import expect

from fulfillment.accounts import roles
from fulfillment.claims import services as claims
from fulfillment.claims.models import Claim
from fulfillment.documents.models import Document
from fulfillment.shipments import services
from fulfillment.shipments.models import (
    Package,
    Programme,
    ShipmentStep,
    ShippingOption,
)
from fulfillment.shipments.selectors import QUEUE_SHOWN
from fulfillment.stations.models import BoxPreset, Station
from tests.shipments import factories

from .helpers import make_packer, make_user, sign_in_at_station

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def no_worker(monkeypatch):
    monkeypatch.setattr(services.steps, "enqueue_step", lambda step_id: None)
    cache.delete_many(["shipments:sync:default", "shipments:sync-asked:default"])  # no sync running for its account


@pytest.fixture
def floor(db):
    station = Station.objects.create(name="Bench A", location_id="LOC", timezone="Asia/Kolkata")
    for name, length, w, h in (("Small box", 20, 15, 10), ("Medium box", 30, 25, 15), ("Large box", 45, 35, 30),
                          ("Mailer bag", 30, 22, 3)):
        BoxPreset.objects.create(name=name, length=length, width=w, height=h)
    return station


def _queue_data():
    now = timezone.now()
    factories.synced(now - timedelta(seconds=17))
    made = [
        factories.shipment(Programme.EASY_SHIP, ship_by=now - timedelta(minutes=25), priority="HIGH",
                           compliance={"serial_number_requirement": "REQUIRED"}, requires_serials=True, units_count=2,
                           lines=(("PHONE-X1", 2),)),
        factories.shipment(Programme.SELF_SHIP, ship_by=now + timedelta(minutes=40), priority="LOW", gift_wrap=True,
                           units_count=1),
        factories.shipment(Programme.SELLER_FLEX, status="PACKAGE_CREATED", ship_by=now + timedelta(hours=5),
                           priority="LOW", has_hazmat=True, multi_piece=True, units_count=3,
                           shipment_type="REPLACEMENT"),
        factories.shipment(Programme.EASY_SHIP, status="SHIPLABEL_GENERATED", ship_by=now + timedelta(days=1, hours=2),
                           units_count=1),
    ]
    return made


def test_queue_scan_box_and_countdowns(page, live_server, floor, shoot):
    made = _queue_data()
    sign_in_at_station(page, live_server, make_packer(), "Bench A")
    factories.synced(timezone.now() - timedelta(seconds=17))  # now: signing in can take seconds on a busy machine
    page.reload()
    scan = page.locator("#scan-input")
    expect(scan).to_be_focused()
    expect(page.locator(f"tr[data-shipment='{made[0].amazon_id}'] .countdown")).to_have_class("countdown overdue")
    expect(page.locator(f"tr[data-shipment='{made[0].amazon_id}'] .countdown")).to_contain_text("overdue")
    expect(page.locator("#sync-status [data-age]")).to_have_text(re.compile(r"^1[7-9] s$"))
    expect(page.locator("[data-action=SYNC_NOW]")).to_be_enabled()
    shoot("01-queue")
    scan.fill("NOT-A-SHIPMENT")
    scan.press("Enter")
    expect(page.locator("#scan-error")).to_contain_text("No shipment found")
    expect(page.locator("#scan-input")).to_be_focused()
    # The refused code is selected, so the next scan replaces it.
    page.wait_for_function("document.activeElement.selectionEnd - document.activeElement.selectionStart === 14")
    shoot("02-queue-not-found")
    page.locator("#scan-input").fill(made[1].buyer_order_id)
    page.locator("#scan-input").press("Enter")
    page.wait_for_url(f"**/shipments/{made[1].amazon_id}/")
    expect(page.get_by_role("heading", name=made[1].amazon_id)).to_be_visible()


def test_a_long_queue_shows_the_first_by_ship_by_and_how_many_more_wait(page, live_server, floor, shoot):
    now = timezone.now()
    programmes = [Programme.EASY_SHIP, Programme.SELF_SHIP, Programme.SELLER_FLEX]
    statuses = ["ACCEPTED", "ACCEPTED", "CONFIRMED", "PACKAGE_CREATED", "SHIPLABEL_GENERATED"]
    made = [factories.shipment(programmes[n % 3], status=statuses[n % 5], ship_by=now + timedelta(minutes=20 * n - 50),
                               priority="HIGH" if n % 7 == 0 else "LOW", gift_wrap=n % 4 == 0, has_hazmat=n % 9 == 0,
                               units_count=1 + n % 3, lines=())
            for n in range(QUEUE_SHOWN + 51)]
    sign_in_at_station(page, live_server, make_packer(), "Bench A")
    rows = page.locator("table.queue tbody tr")
    expect(rows).to_have_count(QUEUE_SHOWN)
    expect(rows.first).to_have_attribute("data-shipment", made[0].amazon_id)
    expect(rows.first).to_have_class(re.compile(r"is-overdue"))  # ticked by station.js
    expect(page.locator("[data-queue-more]")).to_contain_text(f"Showing the first {QUEUE_SHOWN} of {QUEUE_SHOWN + 51}")
    expect(page.locator("[data-queue-more]")).to_contain_text("51 more waiting")
    expect(page.locator("#scan-input")).to_be_focused()
    shoot("03-queue-long")


def test_shipment_pages_at_each_step(page, live_server, floor, shoot):
    user = make_packer()
    now = timezone.now()
    accepted = factories.shipment(Programme.EASY_SHIP, ship_by=now + timedelta(hours=2), priority="HIGH",
                                  recommended_length=Decimal(21), recommended_width=Decimal(16),
                                  recommended_height=Decimal(9), recommended_dimension_unit="CM",
                                  recommended_weight=Decimal(350), recommended_weight_unit="G",
                                  lines=(("MUG-BLUE", 1),), units_count=1)
    serials = factories.shipment(Programme.SELF_SHIP, status="CONFIRMED", ship_by=now + timedelta(hours=3),
                                 lines=(("PHONE-X1", 2), ("CASE-X1", 1)), units_count=3, requires_serials=True,
                                 compliance={"serial_number_requirement": "REQUIRED"})
    options = factories.shipment(Programme.EASY_SHIP, status="PICKUP_SLOT_RETRIEVED", ship_by=now + timedelta(hours=4))
    pkg = factories.package(options)
    for n, (carrier, recommended) in enumerate((("ATS", True), ("Delhivery", False), ("BlueDart", False))):
        ShippingOption.objects.create(
            shipment=options, package=pkg, option_id=f"OPT-{n}", ship_by="MARKETPLACE", carrier_name=carrier,
            pickup_start=now + timedelta(hours=20 + n), pickup_end=now + timedelta(hours=22 + n),
            handover_method="PICKUP" if n != 2 else "DROPOFF", is_recommended=recommended,
            handover_address={"address": {"name": "Carrier hub", "addressLine1": "12 MG Road", "city": "Bengaluru",
                                          "postalCode": "560001"}},
        )
    labelled = factories.shipment(Programme.SELLER_FLEX, status="SHIPLABEL_GENERATED", ship_by=now + timedelta(hours=1))
    ok_package = factories.package(labelled, label_status=Package.LabelStatus.READY, tracking_id="TRK123",
                                   carrier_name="ATS")
    failed_package = factories.package(labelled, label_status=Package.LabelStatus.FAILED,
                                       label_error="Amazon could not make this label: address not serviceable (E42).")
    Document.objects.create(shipment=labelled, package=ok_package, kind=Document.Kind.LABEL, content=b"^XA^XZ",
                            original_format="ZPL", content_type="application/zpl", tracking_id="TRK123",
                            carrier_name="ATS")
    cancelled = factories.shipment(status="CANCELLED", cancellation_type="MARKETPLACE_CANCELLED",
                                   cancellation_reason="Buyer cancelled the order")
    assert failed_package.pk

    sign_in_at_station(page, live_server, user, "Bench A")
    page.goto(f"{live_server.url}/shipments/{accepted.amazon_id}/")
    expect(page.locator("[data-action=PACK_AND_LABEL]")).to_be_visible()
    expect(page.locator("#pack-scan")).to_be_focused()  # scan to pack at every station, the form below it
    page.get_by_role("button", name="Small box").click()
    expect(page.locator("#fp-length")).to_have_value("20")
    shoot("03-shipment-accepted-fast-path")
    page.locator("[data-action=REJECT]").click()
    expect(page.get_by_role("heading", name=f"Reject shipment {accepted.amazon_id}")).to_be_visible()
    shoot("04-reject-reasons")

    page.goto(f"{live_server.url}/shipments/{serials.amazon_id}/")
    expect(page.locator("#verify-input")).to_be_focused()
    page.locator("#verify-input").fill("PHONE-X1")
    page.locator("#verify-input").press("Enter")
    expect(page.locator("[data-scan-result=accepted]")).to_be_visible()
    page.locator("#verify-input").fill("WRONG-ONE")
    page.locator("#verify-input").press("Enter")
    expect(page.locator("[data-scan-result=refused]")).to_contain_text("WRONG ITEM")
    expect(page.locator("#verify-input")).to_be_focused()
    shoot("05-scan-to-verify")
    page.get_by_role("button", name="Skip scanning and pack").click()
    first_serial = page.locator("input.serial").first
    expect(first_serial).to_be_focused()
    first_serial.fill("SN-0001")
    first_serial.press("Enter")  # a scanner's Enter moves on, it does not submit
    expect(page.locator("input.serial").nth(1)).to_be_focused()
    page.locator("input.serial").nth(1).fill("SN-0001")
    page.locator("input.serial").nth(1).press("Enter")
    expect(page.locator(".serial-status.bad").first).to_contain_text("SN-0001 is entered twice")
    shoot("06-packages-serials")
    page.locator("[data-action=SAVE_PACKAGES]").click()
    expect(page.locator("[data-form-problems], .banner-error").first).to_be_visible()
    expect(page.locator("input.serial").first).to_have_value("SN-0001")
    shoot("07-packages-errors")
    page.locator("[data-action=ADD_PACKAGE]").click()
    expect(page.get_by_role("heading", name="Package 2", exact=True)).to_be_visible()
    shoot("08-packages-two")

    page.goto(f"{live_server.url}/shipments/{options.amazon_id}/")
    expect(page.locator("[data-option=OPT-0] input")).to_be_checked()
    shoot("09-shipping-options")

    page.goto(f"{live_server.url}/shipments/{labelled.amazon_id}/")
    expect(page.locator("[data-label-error]")).to_contain_text("not serviceable")
    expect(page.locator("[data-action=RETRY_LABEL]")).to_be_visible()
    shoot("10-labels")

    page.goto(f"{live_server.url}/shipments/{cancelled.amazon_id}/")
    expect(page.locator("[data-cancelled]")).to_be_visible()
    shoot("11-cancelled")


def test_a_second_packer_sees_who_holds_the_shipment_and_the_buttons_refuse(page, live_server, floor, shoot):
    made = factories.shipment(Programme.EASY_SHIP, ship_by=timezone.now() + timedelta(hours=2), lines=(("MUG-BLUE", 1),))
    anna = make_packer("anna")
    claims.claim(made, anna)
    sign_in_at_station(page, live_server, make_packer("ben"), "Bench A")
    page.goto(f"{live_server.url}/shipments/{made.amazon_id}/")
    held = page.locator("[data-claim-state=other]")
    expect(held).to_contain_text("anna is working on this shipment")
    page.locator("[data-action=CONFIRM]").click()
    expect(page.locator("[data-flash]")).to_contain_text("anna is working on this shipment. Pick another one")
    shoot("13-held-by-another-packer")
    page.locator("[data-action=REJECT]").click()  # the reject form opens (looking is fine) but sending refuses
    page.locator("select[name=reason_1]").select_option("OUT_OF_STOCK")
    page.locator("[data-action=REJECT_NEXT]").click()
    expect(page.locator("[data-flash]")).to_contain_text("anna is working on this shipment")
    expect(page.locator("[data-action=REJECT_CONFIRMED]")).to_have_count(0)
    assert not ShipmentStep.objects.filter(shipment=made).exclude(kind="REFRESH").exists()
    assert Claim.objects.get(shipment=made).user == anna


def test_a_supervisor_watches_a_shipment_read_only(page, live_server, floor, shoot):
    made = factories.shipment(Programme.SELLER_FLEX, status="CONFIRMED", ship_by=timezone.now() + timedelta(hours=1),
                              lines=(("MUG-BLUE", 2),))
    claims.claim(made, make_packer("anna"))
    sign_in_at_station(page, live_server, make_user("sofia", roles.SUPERVISOR), "Bench A")
    expect(page.locator("[data-action=SYNC_NOW]")).to_have_count(0)
    page.goto(f"{live_server.url}/shipments/{made.amazon_id}/")
    expect(page.locator("[data-read-only]")).to_be_visible()
    expect(page.locator("[data-claim-state=other]")).to_contain_text("anna is working on this shipment")
    expect(page.locator("#verify-input")).to_have_count(0)
    expect(page.get_by_role("button", name="Release")).to_be_visible()
    shoot("14-supervisor-read-only")


def test_amazon_disagreeing_shows_on_the_station_and_on_the_board(page, live_server, floor, shoot):
    """Amazon's status contradicted one a step had set: the packer sees it on the shipment, the
    supervisor on the board, beside the shipments Amazon sent that could not be read."""
    from fulfillment.shipments.models import UnreadableShipment

    made = factories.shipment(status="CONFIRMED", disagreed_at=timezone.now(), disagreed_status="PACKAGE_CREATED",
                              ship_by=timezone.now() + timedelta(hours=3))
    UnreadableShipment.objects.create(seller_account="default", shipment_id="Bz9Xq4LmN", location_id="LOC",
                                      problems=["shipmentInfo.buyerOrderId: Field required",
                                                "lineItems.0.numberOfUnits: Input should be a valid integer"])
    sign_in_at_station(page, live_server, make_packer(), "Bench A")
    page.goto(f"{live_server.url}/shipments/{made.amazon_id}/")
    banner = page.locator("[data-amazon-disagrees]")
    expect(banner).to_contain_text("Amazon disagrees")
    expect(banner.locator("[data-status]")).to_have_count(2)
    expect(banner.locator("[data-status]").first).to_have_attribute("data-status", "PACKAGE_CREATED")  # ours
    expect(banner.locator("[data-status]").last).to_have_attribute("data-status", "CONFIRMED")  # Amazon's
    shoot("70-amazon-disagrees-station")
    page.get_by_role("button", name="Sign out").click()
    supervisor = make_user("sofia", roles.SUPERVISOR)
    page.goto(f"{live_server.url}/supervision/")
    page.fill("#id_username", supervisor.username)
    page.fill("#id_password", "packer-password-for-tests")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/supervision/")
    expect(page.locator('[data-figure="amazon_disagrees"]')).to_have_text("1")
    expect(page.locator(f'[data-disagrees="{made.amazon_id}"]')).to_be_visible()
    expect(page.locator('[data-unreadable="Bz9Xq4LmN"]')).to_contain_text("shipmentInfo.buyerOrderId: Field required")
    page.locator("#amazon-disagrees").scroll_into_view_if_needed()
    shoot("71-amazon-disagrees-board")
