"""Weighing the open carton: the station's scale reading, and whether it is plausible.

The weight sent to Amazon is what the scale (or the packer) says; Amazon's recommended weight is only
a hint. A reading far from what the items should weigh (the catalogue's unit weights, else Amazon's
recommendation) is flagged before a label is bought for a wrong parcel.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from fulfillment.stations.models import CatalogueItem

from .workflow import GRAMS_PER

# Far = off by more than this share AND more than this many grams (packing material, a light box).
TOLERANCE_SHARE = Decimal("0.25")
TOLERANCE_GRAMS = Decimal(100)


@dataclass(frozen=True)
class Expected:
    grams: Decimal
    source: str  # in the packer's words: "the catalogue" / "Amazon's recommendation"


@dataclass(frozen=True)
class Weighing:
    """What the page shows beside the weight box."""

    reading: object | None = None  # printers.scale.ScaleReading
    problem: str = ""  # the scale gave no weight: what to check
    warning: str = ""  # the weight is implausible
    hint: str = ""  # Amazon's suggestion, never sent


def units_by_sku(lines, quantities: dict[str, int] | None = None) -> dict[str, int]:
    """Units per merchant SKU in the carton: `quantities` (line_item_id → units) or every unit."""
    units: dict[str, int] = {}
    for line in lines:
        count = (quantities or {}).get(line.line_item_id,
                                       None if quantities else line.number_of_units - line.cancelled_quantity)
        if count:
            units[line.merchant_sku] = units.get(line.merchant_sku, 0) + int(count)
    return units


def expected_weight(shipment, units: dict[str, int], *, whole_shipment: bool = True) -> Expected | None:
    """What the carton should weigh: the catalogue's unit weights when it knows every SKU, else
    Amazon's recommended weight (only for the whole shipment in one carton)."""
    known = dict(CatalogueItem.objects.filter(merchant_sku__in=units).values_list("merchant_sku", "unit_weight_grams"))
    if units and all(sku in known for sku in units):
        return Expected(sum((known[sku] * n for sku, n in units.items()), Decimal(0)), "the catalogue")
    if whole_shipment and shipment.recommended_weight is not None:
        per = GRAMS_PER.get(_unit(shipment.recommended_weight_unit))
        if per:
            return Expected(Decimal(shipment.recommended_weight) * per, "Amazon's recommendation")
    return None


def unit_code(unit: str | None) -> str:
    """Amazon's weight unit as ours (G, KG, LB, OZ), "" when it gave none."""
    return _unit(unit) if unit else ""


def _unit(unit: str | None) -> str:
    """Amazon writes the unit both ways (G / GRAMS, KG / KILOGRAMS)."""
    return {"GRAMS": "G", "KILOGRAMS": "KG", "POUNDS": "LB", "OUNCES": "OZ"}.get((unit or "").upper(),
                                                                                (unit or "").upper())


def weight_warning(grams: Decimal | None, expected: Expected | None) -> str:
    if grams is None or grams <= 0 or expected is None or expected.grams <= 0:  # nothing on the scale yet
        return ""
    off = abs(Decimal(grams) - expected.grams)
    if off > expected.grams * TOLERANCE_SHARE and off > TOLERANCE_GRAMS:
        return (f"Check the carton: it weighs {_grams(grams)}, but by {expected.source} it should weigh about "
                f"{_grams(expected.grams)}. A missing or extra item?")
    return ""


def _grams(grams) -> str:
    grams = Decimal(grams)
    return f"{grams / 1000:.3f} kg" if grams >= 1000 else f"{grams:.0f} g"


def amazon_hint(shipment) -> str:
    if shipment.recommended_weight is None:
        return ""
    value = Decimal(shipment.recommended_weight).normalize()
    return f"Amazon suggests {value:f} {_unit(shipment.recommended_weight_unit).lower()} (a hint: the scale's weight is sent)."


def weigh(station, shipment, units: dict[str, int], *, whole_shipment: bool = True) -> Weighing:
    """The station scale's weight now with its plausibility; without a scale, only the hint."""
    from fulfillment.printers.scale import ScaleError, read_weight

    hint = amazon_hint(shipment)
    if not station.scale_host:
        return Weighing(hint=hint)
    try:
        reading = read_weight(station.scale_host, station.scale_port)
    except ScaleError as exc:
        return Weighing(problem=exc.packer_message, hint=hint)
    expected = expected_weight(shipment, units, whole_shipment=whole_shipment)
    return Weighing(reading=reading, warning=weight_warning(reading.grams, expected), hint=hint)
