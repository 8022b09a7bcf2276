"""SmartConnect's package rules: what a package must hold and say (pure functions).

422 for a broken business rule, 400 for plainly malformed input or a body against the model.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from ..core import errors
from ..core.errors import bad_request, unprocessable
from .records import MODEL

GRAMS_PER_UNIT = {
    "G": Decimal(1),
    "KG": Decimal(1000),
    "LB": Decimal("453.59237"),
    "OZ": Decimal("28.349523125"),
}
MIN_PACKAGE_GRAMS = Decimal(5)
MAX_LABEL_PACKAGES = 50


def check_body(operation_id: str, body: Any) -> None:
    """400 when the body does not match the model's schema for this operation."""
    errors.check_body(MODEL, operation_id, body)


def _decimal(value: str, what: str) -> Decimal:
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError):
        raise bad_request(f"{what} '{value}' is not a number.") from None
    if not number.is_finite():
        raise bad_request(f"{what} '{value}' is not a number.")
    return number


def weight_in_grams(weight: dict) -> Decimal:
    return _decimal(weight["value"], "weight.value") * GRAMS_PER_UNIT[weight["weightUnit"]]


def _pieces_per_unit(line: dict) -> int | None:
    for attribute in line.get("customAttributes", []):
        if attribute.get("key") == "numberOfPieces":
            return int(attribute["value"])
    return None


def check_package(shipment: dict, package: dict) -> None:
    """Business rules for one package (422 unless the input is plainly malformed)."""
    pid = package["id"]
    if not pid.strip():
        raise bad_request("Package id must not be empty.")
    grams = weight_in_grams(package["weight"])
    if grams < MIN_PACKAGE_GRAMS:
        raise unprocessable(
            f"Package {pid} weighs {package['weight']['value']} {package['weight']['weightUnit']}; "
            f"the minimum is {MIN_PACKAGE_GRAMS} g."
        )
    for side in ("length", "width", "height"):
        if _decimal(package["dimensions"][side]["value"], f"dimensions.{side}.value") <= 0:
            raise unprocessable(f"Package {pid}: {side} must be greater than zero.")
    items = package["packageLineItems"]
    if not items:
        raise unprocessable(f"Package {pid} has no line items.")
    lines = {line["shipmentLineItemId"]: line for line in shipment["lineItems"]}
    seen_lines = set()
    for item in items:
        line = lines.get(item["packageLineItemId"])
        if line is None:
            raise unprocessable(
                f"Package {pid}: line item {item['packageLineItemId']} is not in shipment {shipment['id']}.",
                f"Line items of the shipment: {', '.join(lines)}",
            )
        if item["packageLineItemId"] in seen_lines:
            raise bad_request(f"Package {pid} lists line item {item['packageLineItemId']} twice.")
        seen_lines.add(item["packageLineItemId"])
        _check_line_item(pid, line, item)
    hazmat_needed = any(
        lines[i["packageLineItemId"]]["complianceAttributes"]["hazmatLabelsRequirement"]
        == "REQUIRED"
        for i in items
    )
    labels = [label for label in package.get("hazmatLabels", []) if label.strip()]
    if hazmat_needed and not labels:
        raise unprocessable(f"Package {pid} holds dangerous goods: hazmatLabels are required.")
    if not hazmat_needed and package.get("hazmatLabels"):
        raise unprocessable(f"Package {pid}: hazmatLabels are not allowed for these items.")


def _check_line_item(pid: str, line: dict, item: dict) -> None:
    rules = line["complianceAttributes"]
    sku, quantity = line["merchantSku"], item["quantity"]
    multi_piece = line.get("pieceType") == "MULTIPLE"
    if quantity < 0 or (quantity == 0 and not multi_piece):
        raise unprocessable(f"Package {pid}: quantity of {sku} must be at least 1.")
    # A multi-piece unit spreads over several cartons: every carton says how many pieces it
    # holds; cartons after the first of a unit carry quantity 0.
    if multi_piece and "pieces" not in item:
        raise unprocessable(
            f"Package {pid}: {sku} is a multi-piece item; give the number of pieces in this package."
        )
    serials = item.get("serialNumbers", [])
    if rules["serialNumberRequirement"] == "REQUIRED":
        if len(serials) != quantity or any(not s.strip() for s in serials):
            raise unprocessable(
                f"Package {pid}: {sku} needs one serial number per unit ({quantity}), got {len(serials)}."
            )
        if len(set(serials)) != len(serials):
            raise unprocessable(f"Package {pid}: {sku} has the same serial number twice.")
    elif serials:
        raise unprocessable(f"Package {pid}: serial numbers are not allowed for {sku}.")
    origin = item.get("countryOfOrigin")
    if rules["countryOfOriginRequirement"] == "REQUIRED":
        if not origin or len(origin) != 2 or not origin.isalpha() or not origin.isupper():
            raise unprocessable(
                f"Package {pid}: {sku} needs its country of origin (two-letter code such as CN)."
            )
    elif origin:
        raise unprocessable(f"Package {pid}: country of origin is not allowed for {sku}.")
    value = item.get("itemValue")
    if rules["itemValueRequirement"] == "REQUIRED":
        if not value or _decimal(value["value"], "itemValue.value") <= 0:
            raise unprocessable(f"Package {pid}: {sku} needs its item value (amount and currency).")
    elif value:
        raise unprocessable(f"Package {pid}: item value is not allowed for {sku}.")


def check_unit_totals(shipment: dict, packages: list[dict]) -> None:
    """The packages together must hold exactly the shipment's units (and pieces of multi-piece items)."""
    problems = []
    serials: list[str] = []
    for line in shipment["lineItems"]:
        lid = line["shipmentLineItemId"]
        held = [i for p in packages for i in p["packageLineItems"] if i["packageLineItemId"] == lid]
        units = sum(i["quantity"] for i in held)
        if units != line["numberOfUnits"]:
            problems.append(
                f"{line['merchantSku']} (line {lid}): packages hold {units} of {line['numberOfUnits']} units"
            )
        per_unit = _pieces_per_unit(line)
        if line.get("pieceType") == "MULTIPLE" and per_unit:
            pieces = sum(i.get("pieces", 0) for i in held)
            expected = per_unit * line["numberOfUnits"]
            if pieces != expected:
                problems.append(
                    f"{line['merchantSku']} (line {lid}): packages hold {pieces} of {expected} pieces"
                )
        serials += [s for i in held for s in i.get("serialNumbers", [])]
    if problems:
        raise unprocessable("Packages do not match the shipment's items.", "; ".join(problems))
    duplicates = sorted({s for s in serials if serials.count(s) > 1})
    if duplicates:
        raise unprocessable(
            f"Serial number(s) used twice in the shipment: {', '.join(duplicates)}."
        )
