"""The scale's weight beside what the carton should weigh: the catalogue first, else Amazon's hint."""

from decimal import Decimal

import pytest

from fulfillment.printers.virtual_scale import start_virtual_scale
from fulfillment.shipments import weighing
from fulfillment.stations.models import CatalogueItem, Station

from . import factories

pytestmark = pytest.mark.django_db


def test_catalogue_weights_win_over_amazons_recommendation():
    shipment = factories.shipment(lines=(("MUG-BLUE", 2), ("LID", 1)), recommended_weight=Decimal(900),
                                  recommended_weight_unit="G")
    lines = list(shipment.line_items.all())
    units = weighing.units_by_sku(lines)
    assert weighing.expected_weight(shipment, units) == weighing.Expected(Decimal(900), "Amazon's recommendation")
    CatalogueItem.objects.create(merchant_sku="MUG-BLUE", unit_weight_grams=Decimal(300))
    CatalogueItem.objects.create(merchant_sku="LID", unit_weight_grams=Decimal(40))
    assert weighing.expected_weight(shipment, units) == weighing.Expected(Decimal(640), "the catalogue")
    # One carton of two: only the catalogue can say what it should weigh.
    assert weighing.expected_weight(shipment, {"MUG-BLUE": 1}, whole_shipment=False).grams == Decimal(300)
    CatalogueItem.objects.filter(merchant_sku="LID").delete()
    assert weighing.expected_weight(shipment, {"LID": 1}, whole_shipment=False) is None


def test_far_weights_warn_near_ones_do_not():
    expected = weighing.Expected(Decimal(600), "the catalogue")
    assert weighing.weight_warning(Decimal(650), expected) == ""  # packing material
    assert weighing.weight_warning(Decimal(690), expected) == ""  # within 100 g
    warning = weighing.weight_warning(Decimal(1200), expected)
    assert "1.200 kg" in warning and "about 600 g" in warning and "the catalogue" in warning
    assert weighing.weight_warning(Decimal(300), expected)


def test_weigh_reads_the_station_scale_and_never_sends_amazons_weight():
    shipment = factories.shipment(lines=(("MUG-BLUE", 1),), recommended_weight=Decimal("0.35"),
                                  recommended_weight_unit="KG")
    scale, _ = start_virtual_scale(settle_seconds=0)
    try:
        host, port = scale.server_address[:2]
        station = Station.objects.create(name="Scale bench", location_id="LOC", scale_host=host, scale_port=port)
        scale.place("0.362", "kg")
        result = weighing.weigh(station, shipment, weighing.units_by_sku(shipment.line_items.all()))
        assert result.reading.value == Decimal("0.362") and result.reading.stable and not result.warning
        assert result.hint.startswith("Amazon suggests 0.35 kg")
        scale.place("1.9", "kg")
        assert "about 350 g" in weighing.weigh(station, shipment, {"MUG-BLUE": 1}).warning
    finally:
        scale.shutdown()
        scale.server_close()
    down = weighing.weigh(station, shipment, {"MUG-BLUE": 1})
    assert down.reading is None and "cannot be reached" in down.problem
