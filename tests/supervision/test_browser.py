"""A supervisor at the board, in real Chromium against the live server."""

import threading
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from fulfillment.accounts import roles
from fulfillment.claims import services as claims
from fulfillment.claims.models import Claim
from fulfillment.printers.virtual_ipp import VirtualDocumentPrinter
from fulfillment.shipments.models import ShipmentEvent, Status

from . import factories as f

pytestmark = [pytest.mark.browser]


@pytest.mark.django_db(transaction=True)
def test_a_supervisor_finds_an_overdue_shipment_and_releases_the_packers_claim(page, shoot, live_server, settings):
    settings.CLAIM_LEASE_SECONDS = 3600  # the packer's tab stays "open" for the whole test
    settings.SUPERVISION_REFRESH_SECONDS = 1
    now = timezone.now()
    anna, ben = f.user("anna"), f.user("ben")
    sofia = f.user("sofia", roles.SUPERVISOR)
    f.busy_floor(now, [anna, ben])
    late = f.shipment(now=now, status=Status.INVOICE_GENERATED, ship_by_in=timedelta(minutes=-35), location="SANDBOX-LOC-1",
                      buyer_order_id="171-5550001-0000042")
    claims.claim(late, anna)
    f.worked_history(late, anna, now)

    page.goto(f"{live_server.url}/supervision/")
    page.fill("#id_username", sofia.username)
    page.fill("#id_password", f.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/supervision/")

    expect(page.locator('[data-figure="overdue"]')).to_have_text("1")
    overdue = page.locator("#overdue")
    row = overdue.locator("tr", has_text=late.amazon_id)
    expect(row).to_contain_text("anna")
    expect(row).to_contain_text("overdue")
    expect(page.locator("svg.sv-chart").first).to_be_visible()
    shoot("supervision-board", full_page=True)

    # The board is live: a shipment that falls overdue shows up without a reload.
    f.shipment(now=timezone.now(), ship_by_in=timedelta(minutes=-1), buyer_order_id="171-5550001-0000099")
    expect(page.locator('[data-figure="overdue"]')).to_have_text("2", timeout=5000)
    expect(overdue).to_contain_text("171-5550001-0000099")

    row.get_by_role("link", name=late.amazon_id).click()
    page.wait_for_url(f"{live_server.url}/supervision/shipments/{late.amazon_id}/")
    expect(page.locator("#claim")).to_contain_text("anna")
    expect(page.locator("#timeline")).to_contain_text("Claimed by anna")
    expect(page.locator("#amazon-calls tr.throttled")).to_have_count(2)
    expect(page.locator("#documents")).to_contain_text("Invoice")
    shoot("supervision-history", full_page=True)

    page.get_by_role("button", name="Release this shipment").click()
    expect(page.get_by_text(f"Shipment {late.amazon_id} released from anna.")).to_be_visible()
    expect(page.locator("#claim")).to_contain_text("Nobody holds this shipment")
    expect(page.locator("#timeline")).to_contain_text("sofia released anna's claim")

    assert not Claim.objects.filter(shipment=late).exists()
    assert ShipmentEvent.objects.filter(shipment=late, kind="RELEASE", user=sofia).exists()
    # The freed shipment can be taken by the next packer at once.
    assert claims.claim(late, ben).user == ben


@pytest.mark.django_db(transaction=True)
def test_a_supervisor_starts_on_the_board_and_reaches_a_shipped_shipment_from_it(page, shoot, live_server,
                                                                                label_printer, tmp_path):
    """Issue 9, defect 8: supervisors landed on "Which station are you at?"; filtering the board by
    SHIPPED listed nothing; reprinting before choosing a station said "ask your admin". Defect 7: a
    shipped shipment's history still counted down to its ship-by."""
    from fulfillment.documents.models import Document
    from fulfillment.shipments.models import Package
    from fulfillment.stations.models import Station

    now = timezone.now()
    Station.objects.create(name="Bench 1", location_id="LOC-1")
    host, port = label_printer.server_address
    docs = VirtualDocumentPrinter(("127.0.0.1", 0), tmp_path / "documents")
    threading.Thread(target=docs.serve_forever, daemon=True).start()
    Station.objects.create(name="Bench 2", location_id="LOC-1", printer_host=host, printer_port=port,
                           document_printer_url=docs.url)
    sofia = f.user("sofia", roles.SUPERVISOR)
    old = f.shipment(now=now - timedelta(days=30), status=Status.SHIPPED, ship_by_in=timedelta(hours=2),
                     buyer_order_id="171-0000000-0000030", tracking_ids=["TRK-OLD-1"])
    package = Package.objects.create(shipment=old, package_id="PKG1-OLD", length=10, width=10, height=10, weight=100,
                                     tracking_id="TRK-OLD-1", shipped_at=now - timedelta(days=30))
    label = Document.objects.create(shipment=old, package=package, kind=Document.Kind.LABEL,
                                    content=b"^XA^FDold^FS^XZ", original_format="ZPL", content_type="text/plain")
    Document.objects.create(shipment=old, kind=Document.Kind.INVOICE, content=b"%PDF-1.4\n%%EOF",
                            original_format="PDF", content_type="application/pdf")
    f.shipment(now=now, status=Status.ACCEPTED, ship_by_in=timedelta(hours=3))

    page.goto(f"{live_server.url}/")
    page.fill("#id_username", sofia.username)
    page.fill("#id_password", f.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/supervision/")  # the board, no station to choose first
    expect(page.get_by_role("heading", name="Floor board")).to_be_visible()

    page.locator("#id_status").select_option("SHIPPED")
    page.get_by_role("button", name="Show").click()
    matching = page.locator("#matching")
    expect(matching).to_contain_text("Shipments matching")
    row = matching.locator("tr", has_text=old.amazon_id)
    expect(row).to_contain_text("Shipped")
    expect(row.locator(".countdown")).to_have_count(0)  # shipped: its ship-by is a date, not a countdown
    shoot("80-board-shipped-filter")

    # A tracking number typed (or scanned) into the search finds it too.
    page.goto(f"{live_server.url}/supervision/?q=TRK-OLD-1")
    page.locator("#matching").get_by_role("link", name=old.amazon_id).click()
    page.wait_for_url(f"{live_server.url}/supervision/shipments/{old.amazon_id}/")
    expect(page.locator("[data-ship-by-closed]")).to_be_visible()
    expect(page.locator(".ship-header .countdown")).to_have_count(0)

    reprint = page.locator("#documents tr", has_text="Shipping label").locator("form")
    reprint.locator("select[name=station]").select_option(label="Bench 2")
    shoot("81-history-reprint-choose-station")
    reprint.get_by_role("button", name="Reprint").click()
    expect(page.get_by_text("Label sent to Bench 2's printer.")).to_be_visible()
    assert label_printer.jobs == [bytes(label.content)]
    assert ShipmentEvent.objects.filter(shipment=old, kind="LABEL_PRINTED", user=sofia).exists()
    # The invoice goes to Bench 2's document printer, no print dialog.
    reprint = page.locator("#documents tr", has_text="Invoice").locator("form")
    reprint.locator("select[name=station]").select_option(label="Bench 2")
    reprint.get_by_role("button", name="Reprint").click()
    expect(page.get_by_text("Invoice sent to Bench 2's document printer")).to_be_visible()
    shoot("82-history-invoice-reprinted")
    assert page.url.endswith(f"/supervision/shipments/{old.amazon_id}/")
    assert len(list((tmp_path / "documents").glob("*.json"))) == 1
    docs.shutdown()
    docs.server_close()
