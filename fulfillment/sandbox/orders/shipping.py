"""The seller's writes to an order: confirmShipment (one package at a time) and, for store-pickup
orders, updateShipmentStatus. Every refusal is Amazon's 400 with `errors[]` (the model lists no
409/422 for these operations); an unknown order is 404.
"""

from __future__ import annotations

import copy
import re
from datetime import datetime, timedelta

from ..core.errors import bad_request, check_body
from ..core.timefmt import iso, parse_time
from .records import (
    CANCELED,
    MODEL_V0,
    PENDING,
    PICKED_UP,
    READY_FOR_PICKUP,
    REFUSED_PICKUP,
    SHIPPABLE,
    OrderRecord,
)

PACKAGE_REFERENCE = re.compile(r"^[0-9]{1,20}$")

def latest_ship_date(now: datetime) -> datetime:
    """How far ahead a shipDate may lie: the end of the next day (UTC), so a label a carrier collects
    tomorrow (merchant_fulfillment.services.ship_date: the next day at 10:00) can be confirmed with
    its ShipDate at any hour of today."""
    return (now + timedelta(days=1)).replace(hour=23, minute=59, second=59, microsecond=999999)


def _check_marketplace(record: OrderRecord, marketplace_id: str) -> None:
    if marketplace_id != record.marketplace.marketplace_id:
        raise bad_request(
            f"marketplaceId '{marketplace_id}' is not the marketplace of order {record.order_id}.",
            f"The order was placed in {record.marketplace.marketplace_id}.",
        )


def _items(record: OrderRecord, lines: list[dict], what: str) -> dict[str, int]:
    """{orderItemId: quantity} of a request's item lines, each line checked against the order."""
    quantities: dict[str, int] = {}
    for line in lines:
        item_id, quantity = line.get("orderItemId"), line.get("quantity")
        if not item_id or quantity is None:
            raise bad_request(f"Every {what} line needs orderItemId and quantity.")
        if record.item(item_id) is None:
            raise bad_request(
                f"Order item '{item_id}' is not in order {record.order_id}.",
                "Items of the order: " + ", ".join(i.order_item_id for i in record.items),
            )
        if item_id in quantities:
            raise bad_request(f"Order item '{item_id}' is listed twice.")
        if quantity < 1:
            raise bad_request(f"Quantity of order item '{item_id}' must be at least 1.")
        quantities[item_id] = quantity
    return quantities


def confirm_shipment(record: OrderRecord, body: dict, now: datetime) -> dict:
    """Confirm one package (or correct one already confirmed); returns the stored package."""
    check_body(MODEL_V0, "confirmShipment", body)
    _check_marketplace(record, body["marketplaceId"])
    detail = body["packageDetail"]
    reference = detail["packageReferenceId"]
    if not PACKAGE_REFERENCE.match(reference) or int(reference) == 0:
        raise bad_request(
            f"packageReferenceId '{reference}' is not valid: use a positive number (e.g. 1, 2).",
            "It identifies the package within the order; store it to correct the package later.",
        )
    if record.store_pickup:
        raise bad_request(
            f"Order {record.order_id} is a store pickup order: report it with "
            "updateShipmentStatus (ReadyForPickup, PickedUp, RefusedPickup)."
        )
    if record.status == PENDING:
        raise bad_request(
            f"Order {record.order_id} is Pending: its payment is not authorized, it cannot ship yet."
        )
    if record.status == CANCELED:
        raise bad_request(f"Order {record.order_id} is Canceled: it cannot be shipped.")
    for name in ("carrierCode", "trackingNumber"):
        if not str(detail[name]).strip():
            raise bad_request(f"packageDetail.{name} must not be empty.")
    if detail["carrierCode"] == "Other" and not str(detail.get("carrierName", "")).strip():
        raise bad_request("packageDetail.carrierName is required when carrierCode is Other.")
    ship_date = parse_time(detail["shipDate"], "packageDetail.shipDate")
    if ship_date < record.purchased_at:
        raise bad_request(
            f"shipDate {detail['shipDate']} is before the order was placed "
            f"({iso(record.purchased_at)})."
        )
    if ship_date > latest_ship_date(now):
        raise bad_request(f"shipDate {detail['shipDate']} is too far in the future.")
    if not detail["orderItems"]:
        raise bad_request("packageDetail.orderItems must list at least one order item.")
    quantities = _items(record, detail["orderItems"], "packageDetail.orderItems")
    sent = {
        "carrierCode": detail["carrierCode"],
        "carrierName": detail.get("carrierName"),
        "shippingMethod": detail.get("shippingMethod"),
        "trackingNumber": detail["trackingNumber"],
        "shipDate": iso(ship_date),
        "at": iso(now),
    }
    stored = record.packages.get(reference)
    if stored is not None:  # a correction: same items and quantities, new carrier details
        if quantities != stored["items"]:
            raise bad_request(
                f"Package {reference} of order {record.order_id} was confirmed with other items "
                "or quantities: a correction must repeat them exactly.",
                f"Confirmed: {_describe(stored['items'])}; this request: {_describe(quantities)}.",
            )
        stored.update({k: v for k, v in sent.items() if k != "at"})
        stored["corrections"].append(sent)
        record.touch(now)
        return copy.deepcopy(stored)
    over = [
        f"{item_id}: {quantity} asked, {record.item(item_id).left} left"
        for item_id, quantity in quantities.items()
        if quantity > record.item(item_id).left
    ]
    if over:
        raise bad_request(
            "Quantity is more than is left to ship for: " + "; ".join(over) + ".",
            "Left = ordered minus already confirmed in other packages.",
        )
    for item_id, quantity in quantities.items():
        record.item(item_id).shipped += quantity
    stored = record.packages[reference] = {
        "packageReferenceId": reference,
        **sent,
        "items": quantities,
        "corrections": [],
    }
    record.settle(f"confirmShipment package {reference}", now)
    return copy.deepcopy(stored)


def update_shipment_status(record: OrderRecord, body: dict, now: datetime) -> None:
    """Store pickup: ReadyForPickup (units left -> ready), then PickedUp (ready -> shipped) or
    RefusedPickup (ready -> refused); orderItems limits the step to some units."""
    check_body(MODEL_V0, "updateShipmentStatus", body)
    _check_marketplace(record, body["marketplaceId"])
    status = body["shipmentStatus"]
    if not record.store_pickup:
        raise bad_request(
            f"Order {record.order_id} is not a store pickup order: updateShipmentStatus only "
            "applies to store pickup (IsISPU) orders. Confirm its packages with confirmShipment."
        )
    if record.status not in SHIPPABLE:
        raise bad_request(f"Order {record.order_id} is {record.status}: its status cannot change.")
    source = "left" if status == READY_FOR_PICKUP else "ready"
    available = {i.order_item_id: (i.left if source == "left" else i.ready) for i in record.items}
    if body.get("orderItems"):
        quantities = _items(record, body["orderItems"], "orderItems")
    else:
        quantities = {item_id: n for item_id, n in available.items() if n}
    if not quantities:
        needs = "units that are not yet ready" if source == "left" else "units ready for pickup"
        raise bad_request(
            f"{status} is not possible for order {record.order_id}: it has no {needs}."
        )
    over = [
        f"{item_id}: {n} asked, {available[item_id]} {source}"
        for item_id, n in quantities.items()
        if n > available[item_id]
    ]
    if over:
        raise bad_request(f"{status} is not possible for: " + "; ".join(over) + ".")
    for item_id, n in quantities.items():
        item = record.item(item_id)
        if status == READY_FOR_PICKUP:
            item.ready += n
        elif status == PICKED_UP:
            item.ready, item.shipped = item.ready - n, item.shipped + n
        elif status == REFUSED_PICKUP:
            item.ready, item.refused = item.ready - n, item.refused + n
    record.history.append({"at": iso(now), "pickup": status, "items": quantities})
    record.settle(f"updateShipmentStatus {status}", now)


def _describe(quantities: dict[str, int]) -> str:
    return ", ".join(f"{item_id} x {n}" for item_id, n in sorted(quantities.items()))
