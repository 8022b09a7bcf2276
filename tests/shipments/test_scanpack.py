"""Scan to pack as a service: items into the open carton, serials by the scan after their item, box
barcodes, command barcodes, each carton's weight from the (virtual) scale. No Amazon: the chain's
first step is only asked for."""

from decimal import Decimal

import pytest
from django.core.cache import cache

from fulfillment.printers.virtual_scale import start_virtual_scale
from fulfillment.shipments import services
from fulfillment.shipments.models import ShipmentStep
from fulfillment.shipments.services import scanpack
from fulfillment.stations.models import BoxPreset, CatalogueItem, Station

from . import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_worker(monkeypatch):
    monkeypatch.setattr(services.steps, "enqueue_step", lambda step_id: None)
    cache.clear()


@pytest.fixture
def scale():
    server, _ = start_virtual_scale(settle_seconds=0)
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def station(scale):
    host, port = scale.server_address[:2]
    return Station.objects.create(name="Scan bench", location_id="LOC", scale_host=host, scale_port=port)


def _scan(shipment, station, *codes):
    return [scanpack.handle_scan(shipment, code, station=station, user=None) for code in codes]


def test_a_simple_shipment_item_then_pack_and_label(station, scale):
    shipment = factories.shipment(lines=(("MUG-BLUE", 1),), recommended_length=Decimal(21), recommended_width=Decimal(16),
                                  recommended_height=Decimal(9), recommended_dimension_unit="CM",
                                  recommended_weight=Decimal(350), recommended_weight_unit="G")
    scale.place("0.362", "kg")
    item, pack = _scan(shipment, station, "MUG-BLUE", scanpack.PACK)
    assert item.level == "ok" and "Carton 1: MUG-BLUE" in item.message
    assert pack.level == "ok", pack.message
    assert _scan(shipment, station, scanpack.PACK)[0].message.startswith("Pack & label is already on its way")
    step = ShipmentStep.objects.get(shipment=shipment, kind="CONFIRM")
    assert step.payload["chain"] == services.PACK_AND_LABEL and step.payload["station"] == station.pk
    assert step.payload["packages"] == [{"length": "21", "width": "16", "height": "9", "dimension_unit": "CM",
                                         "weight": "0.362", "weight_unit": "KG",
                                         "items": [{"line_item_id": "1", "quantity": 1, "serial_numbers": []}]}]


def test_two_cartons_with_serials(station, scale):
    shipment = factories.shipment(status="CONFIRMED", lines=(("PHONE-X1", 2),), requires_serials=True,
                                  compliance={"serial_number_requirement": "REQUIRED"})
    small = BoxPreset.objects.create(name="Small box", length=20, width=15, height=10, barcode="BOX-S")
    CatalogueItem.objects.create(merchant_sku="PHONE-X1", unit_weight_grams=Decimal(400))
    first = _scan(shipment, station, "PHONE-X1", "PHONE-X1", "SN-1")
    assert "Now scan the serial number" in first[0].message
    assert first[1].level == "error" and "not a serial number" in first[1].message  # an item where its serial goes
    assert first[2].level == "ok" and "Serial SN-1" in first[2].message
    assert _scan(shipment, station, scanpack.NEW_CARTON)[0].message.startswith("Scan the barcode of carton 1's box")
    scale.place("0.45", "kg")
    box, closed = _scan(shipment, station, "BOX-S", scanpack.NEW_CARTON)
    assert box.level == "ok" and closed.level == "ok" and "Carton 1 closed at 0.450 kg" in closed.message
    assert _scan(shipment, station, "PHONE-X1", "SN-1")[1].message.startswith("Serial SN-1 is already in this shipment")
    scale.place("1.9", "kg")  # far from a 400 g phone: warned once, the same scan again goes on
    serial, box2, warned = _scan(shipment, station, "SN-2", f"PB:BOX:{small.pk}", scanpack.PACK)
    assert serial.level == "ok" and box2.level == "ok"
    assert warned.level == "warn" and "about 400 g" in warned.message
    assert not ShipmentStep.objects.filter(shipment=shipment, kind="CREATE_PACKAGES").exists()
    assert _scan(shipment, station, scanpack.PACK)[0].level == "ok"
    step = ShipmentStep.objects.get(shipment=shipment, kind="CREATE_PACKAGES")
    assert [(p["weight"], [i["serial_numbers"] for i in p["items"]]) for p in step.payload["packages"]] == [
        ("0.450", [["SN-1"]]), ("1.900", [["SN-2"]])]
    assert [(p.position, p.weight) for p in shipment.packages.order_by("position")] == [
        (1, Decimal("0.450")), (2, Decimal("1.900"))]


def test_missing_units_skip_cancel_and_wrong_scans(station, scale):
    shipment = factories.shipment(lines=(("MUG-BLUE", 2), ("LID", 1)), recommended_length=Decimal(21),
                                  recommended_width=Decimal(16), recommended_height=Decimal(9),
                                  recommended_dimension_unit="CM", recommended_weight=Decimal(900),
                                  recommended_weight_unit="G")
    scale.place("0.9", "kg")
    other = factories.shipment(lines=(("LID", 1),))
    assert _scan(shipment, station, other.amazon_id)[0].open_shipment == other.amazon_id  # the next one, from here
    wrong, _, missing = _scan(shipment, station, "NOT-HERE", "MUG-BLUE", scanpack.PACK)
    assert wrong.level == "error" and "WRONG ITEM" in wrong.message
    assert missing.level == "error" and "Still to scan: MUG-BLUE × 1, LID × 1" in missing.message
    assert _scan(shipment, station, scanpack.CANCEL)[0].message.startswith("Cartons emptied")
    assert scanpack.summary(shipment)["remaining"] == 3
    skipped, packed = _scan(shipment, station, scanpack.SKIP, scanpack.PACK)
    assert skipped.level == "ok" and packed.level == "ok", packed.message
    assert shipment.events.filter(message__startswith="Scanning skipped").exists()
    assert _scan(shipment, station, scanpack.SHIP)[0].message.startswith("Not yet")


def test_command_sheet_pdf(client, station):
    from django.contrib.auth.models import Group, User
    from pypdf import PdfReader

    from fulfillment.accounts import roles

    BoxPreset.objects.create(name="Small box", length=20, width=15, height=10)
    user = User.objects.create_user("packer", password="x")
    user.groups.add(Group.objects.get_or_create(name=roles.PACKER)[0])
    client.force_login(user)  # the floor's only station needs no choosing
    response = client.get("/shipments/commands/sheet.pdf")
    assert response["Content-Type"] == "application/pdf", response.content[:300]
    import io

    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    for words in ("Pack & label", "New carton", "Mark shipped", "Reprint", "Skip", "Cancel", "PB:PACK", "Small box"):
        assert words in text
    # For a human look (screenshots/): the sheet as printed, 1366 px wide.
    import pypdfium2
    from django.conf import settings

    page = pypdfium2.PdfDocument(response.content)[0]
    shots = settings.BASE_DIR / "screenshots"
    shots.mkdir(exist_ok=True)
    page.render(scale=1366 / page.get_width()).to_pil().save(shots / "command-sheet-1366.png")


def test_without_a_scale_pack_and_label_waits_for_the_typed_weight_then_goes_on():
    from fulfillment.shipments.forms import CartonWeightForm

    station = Station.objects.create(name="Plain bench", location_id="LOC")
    shipment = factories.shipment(lines=(("MUG-BLUE", 1),), recommended_length=Decimal(21), recommended_width=Decimal(16),
                                  recommended_height=Decimal(9), recommended_dimension_unit="CM",
                                  recommended_weight=Decimal(350), recommended_weight_unit="G")
    item, pack = _scan(shipment, station, "MUG-BLUE", scanpack.PACK)
    assert "Type the carton's weight" in item.message
    assert pack.level == "warn" and "Weigh carton 1" in pack.message  # never Amazon's 350 g
    assert scanpack.summary(shipment)["weigh_now"]
    assert not ShipmentStep.objects.filter(shipment=shipment, kind="CONFIRM").exists()
    form = CartonWeightForm({"weight": "0.36kg", "weight_unit": "G"})  # what a USB scale types wins over the unit box
    assert form.is_valid() and (form.cleaned_data["weight"], form.cleaned_data["weight_unit"]) == (Decimal("0.36"), "KG")
    assert "not a number" in CartonWeightForm({"weight": "NaN", "weight_unit": "G"}).errors["weight"][0]
    done = scanpack.set_weight(shipment, Decimal("0.36"), "KG", station=station, user=None)  # Enter: the scan waiting goes on
    assert done.level == "ok" and done.progress, done.message
    step = ShipmentStep.objects.get(shipment=shipment, kind="CONFIRM")
    assert step.payload["packages"][0]["weight"] == "0.36" and step.payload["packages"][0]["weight_unit"] == "KG"


def test_without_a_scale_a_weight_far_off_needs_the_command_again():
    station = Station.objects.create(name="Plain bench", location_id="LOC")
    shipment = factories.shipment(lines=(("MUG-BLUE", 1),), recommended_length=Decimal(21), recommended_width=Decimal(16),
                                  recommended_height=Decimal(9), recommended_dimension_unit="CM",
                                  recommended_weight=Decimal(350), recommended_weight_unit="G")
    _scan(shipment, station, "MUG-BLUE")
    typed = scanpack.set_weight(shipment, Decimal("2"), "KG", station=station, user=None)
    assert typed.level == "ok" and "weighs 2 kg" in typed.message
    first, second = _scan(shipment, station, scanpack.PACK, scanpack.PACK)
    assert first.level == "warn" and "Check the carton" in first.message
    assert second.level == "ok", second.message


def test_without_a_scale_new_carton_takes_the_typed_weight_and_the_next_carton_is_weighed_afresh():
    station = Station.objects.create(name="Plain bench", location_id="LOC")
    BoxPreset.objects.create(name="Small box", length=20, width=15, height=10, barcode="BOX-S")
    shipment = factories.shipment(lines=(("MUG-BLUE", 2),))
    _scan(shipment, station, "MUG-BLUE", "BOX-S")
    assert not scanpack.summary(shipment)["weigh_now"]  # a unit is still to scan: the scan box keeps the cursor
    waiting = _scan(shipment, station, scanpack.NEW_CARTON)[0]
    assert waiting.level == "warn" and scanpack.summary(shipment)["weigh_now"]
    opened = scanpack.set_weight(shipment, Decimal("400"), "G", station=station, user=None)
    assert opened.level == "ok" and "Carton 1 closed at 400 g" in opened.message
    _scan(shipment, station, "MUG-BLUE", "BOX-S")
    cartons = scanpack.cartons(shipment)["cartons"]
    assert [(c["weight"], c["weight_unit"]) for c in cartons] == [("400", "G"), (None, None)]
    assert scanpack.summary(shipment)["weigh_now"]  # every unit scanned: carton 2's weight is next
