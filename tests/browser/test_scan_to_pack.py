"""Scan to pack in real Chromium against the sandbox: no mouse, no typing, only scans (the keyboard
as a scanner types), the weight from the virtual scale, the label printed by the virtual Zebra and
the invoice by the virtual IPP document printer."""

import json
import re
import threading
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from fulfillment.printers.virtual import VirtualPrinter
from fulfillment.printers.virtual_ipp import VirtualDocumentPrinter
from fulfillment.printers.virtual_scale import start_virtual_scale
from fulfillment.shipments.models import SerialNumber, Shipment
from fulfillment.shipments.services import scanpack
from fulfillment.stations.models import BoxPreset, Station

from .helpers import make_packer, sign_in_at_station
from .test_packing_flow import LOCATION, STEP_TIMEOUT, _add, _wait_status, eager_steps  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_steps")]


def _serve(server):
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def devices(tmp_path):
    zebra = _serve(VirtualPrinter(("127.0.0.1", 0), tmp_path / "labels"))
    docs = _serve(VirtualDocumentPrinter(("127.0.0.1", 0), tmp_path / "documents"))
    scale, _ = start_virtual_scale(settle_seconds=0.5)
    yield zebra, docs, scale
    for server in (zebra, docs, scale):
        server.shutdown()
        server.server_close()


@pytest.fixture
def station(devices):
    zebra, docs, scale = devices
    (zebra_host, zebra_port), (scale_host, scale_port) = zebra.server_address[:2], scale.server_address[:2]
    BoxPreset.objects.create(name="Small box", length=20, width=15, height=10, barcode="BOX-SMALL")
    return Station.objects.create(name="Scan bench", location_id=LOCATION, timezone="Asia/Kolkata",
                                  printer_host=zebra_host, printer_port=zebra_port, scale_host=scale_host,
                                  scale_port=scale_port, document_printer_url=docs.url)


@pytest.fixture
def clicks(page):
    """Mouse presses across the pages of the tab (a pointer goes down for a click; Enter in a form does
    not, though the browser then "clicks" its submit button for it)."""
    def count():
        return page.evaluate("Number(sessionStorage.getItem('pointerdowns') || 0)")
    page.add_init_script("document.addEventListener('pointerdown', function () { sessionStorage.setItem("
                         "'pointerdowns', Number(sessionStorage.getItem('pointerdowns') || 0) + 1); }, true);")
    return count


def _scan(page, code):
    """What a keyboard-mode scanner does: the code's characters, then Enter, into whatever has the cursor."""
    page.keyboard.type(code, delay=5)
    page.keyboard.press("Enter")


def test_a_simple_shipment_in_four_scans(page, live_server, sandbox_settings, sandbox, station, devices,
                                         clicks, shoot):
    zebra, docs, scale = devices
    shipment = _add(sandbox, programme="seller_flex", marketplace="IN", skus=["MILTON-THERMO-1000-SS"], units=1,
                    label_format="PDF", invoice_shape="pdf", ship_by_hours=2)
    grams = Decimal(shipment.recommended_weight) * (1000 if shipment.recommended_weight_unit.startswith("K") else 1)
    scale.place(f"{grams / 1000:.3f}", "kg")
    sign_in_at_station(page, live_server, make_packer(), station.name)
    page.goto(f"{live_server.url}/shipments/")
    expect(page.locator("#scan-input")).to_be_focused()
    before = clicks()  # signing in and choosing the station took clicks; from here on, none

    _scan(page, shipment.amazon_id)  # 1: open it from the queue
    page.wait_for_url(f"**/shipments/{shipment.amazon_id}/")
    expect(page.locator("#pack-scan")).to_be_focused()
    expect(page.locator("#fp-weight")).to_have_attribute("data-scale-state", "stable")  # the scale fills the form
    _scan(page, "MILTON-THERMO-1000-SS")  # 2: the item into the carton
    expect(page.locator("[data-carton='1']")).to_contain_text("MILTON-THERMO-1000-SS × 1")
    expect(page.locator("#pack-scan")).to_be_focused()
    shoot("scan-01-item-in-carton")
    _scan(page, scanpack.PACK)  # 3: Pack & label; the chain prints label and invoice here
    _wait_status(page, "SHIPLABEL_GENERATED")
    expect(page.locator("[data-fast-path=done]")).to_contain_text("printed on Scan bench's printer", timeout=STEP_TIMEOUT)
    expect(page.locator("[data-flash]")).to_have_count(0)  # only how it ended, not "Pack & label started"
    expect(page.locator("#pack-scan")).to_be_focused()
    shoot("scan-02-labelled")
    _scan(page, scanpack.SHIP)  # 4: Mark shipped
    _wait_status(page, "SHIPPED")
    shoot("scan-03-shipped")

    assert clicks() == before
    shipment = Shipment.objects.get(pk=shipment.pk)
    package = shipment.packages.get()
    assert package.weight == grams / 1000 and package.weight_unit == "KG"  # the scale's, in the scale's unit
    labels = list(zebra.out_dir.glob("*.zpl"))
    assert len(labels) == 1 and b"^GFA" in labels[0].read_bytes()  # the PDF label, as ZPL
    jobs = [json.loads(p.read_text()) for p in docs.out_dir.glob("*.json")]
    assert [job["job-name"] for job in jobs] == [f"Invoice {shipment.amazon_id}"]
    assert sandbox.state(shipment.amazon_id)["shipment"]["status"] == "SHIPPED"


def test_two_cartons_with_serials_without_the_mouse(page, live_server, sandbox_settings, sandbox, station,
                                                    devices, clicks, shoot):
    zebra, docs, scale = devices
    shipment = _add(sandbox, programme="easy_ship", marketplace="IN", skus=["TPLINK-ARCHER-C6"], units=2,
                    label_format="ZPL", invoice_shape="pdf", ship_by_hours=3)
    scale.place("0.800", "kg")
    sign_in_at_station(page, live_server, make_packer(), station.name)
    page.goto(f"{live_server.url}/shipments/")
    expect(page.locator("#scan-input")).to_be_focused()
    before = clicks()
    _scan(page, shipment.amazon_id)
    page.wait_for_url(f"**/shipments/{shipment.amazon_id}/")
    expect(page.locator("#pack-scan")).to_be_focused()
    for n, serial in ((1, "SN-TP-0001"), (2, "SN-TP-0002")):
        _scan(page, "TPLINK-ARCHER-C6")
        expect(page.locator("[data-awaiting-serial]")).to_contain_text("serial number of the TPLINK-ARCHER-C6")
        _scan(page, serial)
        expect(page.locator(f"[data-carton='{n}']")).to_contain_text(serial)
        _scan(page, "BOX-SMALL")
        expect(page.locator(f"[data-carton='{n}']")).to_contain_text("Small box")
        if n == 1:
            shoot("scan-04-serial-and-box")
            _scan(page, scanpack.NEW_CARTON)
            expect(page.locator("[data-carton='2']")).to_contain_text("Empty")
            scale.place("0.820", "kg")
    shoot("scan-05-two-cartons")
    _scan(page, scanpack.PACK)
    _wait_status(page, "SHIPLABEL_GENERATED")
    expect(page.locator("[data-fast-path=done]")).to_contain_text("2 labels printed", timeout=STEP_TIMEOUT)
    _scan(page, scanpack.SHIP)
    _wait_status(page, "SHIPPED")
    assert clicks() == before
    packages = list(Shipment.objects.get(pk=shipment.pk).packages.order_by("position"))
    assert [(p.weight, p.length) for p in packages] == [(Decimal("0.800"), 20), (Decimal("0.820"), 20)]
    assert sorted(SerialNumber.objects.filter(shipment=shipment).values_list("serial", flat=True)) == [
        "SN-TP-0001", "SN-TP-0002"]
    assert len(list(zebra.out_dir.glob("*.zpl"))) == 2


def test_a_station_without_a_scale_packs_by_scans_and_a_typed_weight(page, live_server, sandbox_settings, sandbox,
                                                                     devices, clicks, shoot):
    """No network scale: the weight is typed into the open carton's box (as a USB scale in keyboard mode
    types it: number, unit, Enter); Amazon's suggestion is a hint, never the value."""
    zebra, docs, _ = devices
    (zebra_host, zebra_port) = zebra.server_address[:2]
    station = Station.objects.create(name="Plain bench", location_id=LOCATION, timezone="Asia/Kolkata",
                                     printer_host=zebra_host, printer_port=zebra_port, document_printer_url=docs.url)
    shipment = _add(sandbox, programme="seller_flex", marketplace="IN", skus=["MILTON-THERMO-1000-SS"], units=1,
                    label_format="ZPL", invoice_shape="pdf", ship_by_hours=2)
    sign_in_at_station(page, live_server, make_packer(), station.name)
    page.goto(f"{live_server.url}/shipments/")
    expect(page.locator("#scan-input")).to_be_focused()
    before = clicks()

    _scan(page, shipment.amazon_id)
    page.wait_for_url(f"**/shipments/{shipment.amazon_id}/")
    expect(page.locator("#pack-scan")).to_be_focused()
    _scan(page, "MILTON-THERMO-1000-SS")
    weight = page.locator("#carton-weight")
    expect(weight).to_be_focused()  # the carton is full: its weight is what is missing
    expect(weight).to_have_value("")  # Amazon's suggestion is only the placeholder
    expect(weight).to_have_attribute("placeholder", re.compile(r"Amazon: .* \(hint\)"))
    shoot("scan-06-weigh-the-carton")
    _scan(page, "abc")  # a slip: said, kept, the cursor stays
    expect(page.locator("[data-flash]")).to_contain_text("abc is not a number")
    expect(weight).to_have_value("abc")
    expect(weight).to_be_focused()
    page.keyboard.press("Control+A")
    grams = Decimal(shipment.recommended_weight) * (1000 if shipment.recommended_weight_unit.startswith("K") else 1)
    typed = f"{grams / 1000 + Decimal('0.012'):.3f}"
    _scan(page, f"{typed} kg")  # what a USB scale types
    expect(page.locator("[data-carton='1']")).to_contain_text(f"{Decimal(typed).normalize():f} kg")
    expect(page.locator("#pack-scan")).to_be_focused()
    shoot("scan-07-typed-weight")
    _scan(page, scanpack.PACK)
    _wait_status(page, "SHIPLABEL_GENERATED")
    expect(page.locator("[data-fast-path=done]")).to_contain_text("printed on Plain bench's printer", timeout=STEP_TIMEOUT)
    expect(page.locator("[data-flash]")).to_have_count(0)  # "Pack & label started" went with its end
    _scan(page, scanpack.SHIP)
    _wait_status(page, "SHIPPED")

    assert clicks() == before
    package = Shipment.objects.get(pk=shipment.pk).packages.get()
    assert (package.weight, package.weight_unit) == (Decimal(typed), "KG")
    assert len(list(zebra.out_dir.glob("*.zpl"))) == 1
