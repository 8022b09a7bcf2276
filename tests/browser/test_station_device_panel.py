"""The devices page in real Chromium: each virtual twin connected with its reading and last job; a
device that does not answer says what to check."""

import socket
import threading

import pytest
from playwright.sync_api import expect

from fulfillment.documents.models import Document
from fulfillment.printers.virtual import VirtualPrinter
from fulfillment.printers.virtual_ipp import VirtualDocumentPrinter
from fulfillment.printers.virtual_scale import start_virtual_scale
from fulfillment.shipments import services
from fulfillment.stations.models import Station
from tests.shipments import factories

from .helpers import make_packer, sign_in_at_station

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_devices_page_shows_each_device_and_what_to_check(page, live_server, tmp_path, shoot):
    zebra = VirtualPrinter(("127.0.0.1", 0), tmp_path / "labels")
    docs = VirtualDocumentPrinter(("127.0.0.1", 0), tmp_path / "documents")
    for server in (zebra, docs):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    scale, _ = start_virtual_scale(settle_seconds=0)
    scale.place("0.420", "kg")
    try:
        host, port = zebra.server_address[:2]
        station = Station.objects.create(name="Bench D", location_id="LOC", printer_host=host, printer_port=port,
                                         scale_host=scale.server_address[0], scale_port=scale.server_address[1],
                                         document_printer_url=docs.url)
        shipment = factories.shipment(status="SHIPLABEL_GENERATED")
        package = factories.package(shipment)
        label = Document.objects.create(shipment=shipment, package=package, kind=Document.Kind.LABEL,
                                        content=b"^XA^FDx^FS^XZ", original_format="ZPL", content_type="application/zpl")
        services.print_label(label, station=station, user=None)
        sign_in_at_station(page, live_server, make_packer(), "Bench D")
        page.goto(f"{live_server.url}/shipments/")
        page.locator("[data-nav=devices]").click()  # the top navigation's Devices
        expect(page.locator("[data-nav=devices]")).to_have_attribute("aria-current", "page")
        expect(page).to_have_title("Devices · Bench D · Packbench")  # all well: the title says nothing more
        cards = page.locator("[data-device]")
        expect(cards).to_have_count(3)
        expect(cards.nth(0)).to_have_attribute("data-device-state", "ok")
        expect(cards.nth(0).locator("[data-device-reading]")).to_contain_text("ready")
        expect(cards.nth(0).locator("[data-device-last-job]")).to_contain_text(shipment.amazon_id)
        expect(cards.nth(1).locator("[data-device-reading]")).to_contain_text("0.420 kg stable")
        expect(cards.nth(2).locator("[data-device-reading]")).to_contain_text("idle")
        expect(cards.nth(2).locator("[data-device-last-job]")).to_contain_text("none yet")
        shoot("devices-03-panel")
    finally:
        scale.shutdown()
        scale.server_close()
    with socket.socket() as probe:  # the scale is gone: the panel says what to check on its next look
        probe.bind(("127.0.0.1", 0))
        Station.objects.filter(pk=station.pk).update(scale_port=probe.getsockname()[1])
    expect(cards.nth(1)).to_have_attribute("data-device-state", "bad")  # its next look (every 5 s)
    expect(page).to_have_title("⚠ 1 device to check · Devices · Bench D · Packbench")  # at a glance, from the tab
    expect(cards.nth(1).locator("[data-device-problem]")).to_contain_text("Check: The scale at")
    expect(cards.nth(1).locator("[data-device-problem]")).to_contain_text("switched on")
    shoot("devices-04-scale-down")
    for server in (zebra, docs):
        server.shutdown()
        server.server_close()
