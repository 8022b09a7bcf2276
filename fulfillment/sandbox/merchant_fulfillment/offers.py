"""A label request checked against its order, and the shipping service offers it gets."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta

from ..core.errors import bad_request
from ..core.timefmt import iso, parse_time
from ..orders.records import CANCELED, PENDING, SHIPPED, OrderRecord
from . import services
from .services import SIGNATURE_EXPERIENCES, Service


def check_details(order: OrderRecord, details: dict, now: datetime) -> dict[str, int]:
    """400 unless the request fits its order; returns {OrderItemId: quantity} of the package."""
    if order.store_pickup:
        raise bad_request(f"Order {order.order_id} is a store pickup order: it needs no label.")
    if order.status == PENDING:
        raise bad_request(f"Order {order.order_id} is Pending: payment is not authorized yet.")
    if order.status in {CANCELED, SHIPPED}:
        raise bad_request(f"Order {order.order_id} is {order.status}: no label can be bought.")
    if not details["ItemList"]:
        raise bad_request("ItemList must name at least one order item.")
    quantities: dict[str, int] = {}
    for line in details["ItemList"]:
        item = order.item(line["OrderItemId"])
        if item is None:
            raise bad_request(
                f"Order item '{line['OrderItemId']}' is not in order {order.order_id}."
            )
        if line["OrderItemId"] in quantities:
            raise bad_request(f"Order item '{line['OrderItemId']}' is listed twice in ItemList.")
        if line["Quantity"] < 1 or line["Quantity"] > item.left:
            raise bad_request(
                f"Quantity {line['Quantity']} of order item '{item.order_item_id}' is not "
                f"between 1 and the {item.left} unit(s) not yet confirmed shipped."
            )
        quantities[item.order_item_id] = line["Quantity"]
    if details["Weight"]["Value"] <= 0:
        raise bad_request("Weight.Value must be greater than zero.")
    size = details["PackageDimensions"]
    if not size.get("PredefinedPackageDimensions"):
        missing = [k for k in ("Length", "Width", "Height", "Unit") if k not in size]
        if missing or any(size[k] <= 0 for k in ("Length", "Width", "Height")):
            raise bad_request(
                "PackageDimensions needs Length, Width, Height (greater than zero) and Unit, "
                "or PredefinedPackageDimensions."
            )
    country = order.marketplace.code
    if details["ShipFromAddress"]["CountryCode"] != country:
        raise bad_request(
            f"ShipFromAddress.CountryCode must be {country}: Merchant Fulfillment ships within "
            f"the order's country."
        )
    wanted = parse_time(details.get("ShipDate"), "ShipDate")
    if wanted is not None and wanted < now - timedelta(days=1):
        raise bad_request(f"ShipDate {details['ShipDate']} is in the past.")
    experience = details["ShippingServiceOptions"]["DeliveryExperience"]
    needs_signature = [
        i.order_item_id
        for i in order.items
        if i.signature_required and i.order_item_id in quantities
    ]
    if needs_signature and experience not in SIGNATURE_EXPERIENCES:
        raise bad_request(
            f"Order item(s) {', '.join(needs_signature)} must be delivered against a signature: "
            "use DeliveryExperience DeliveryConfirmationWithSignature.",
            "getOrderItems shows ShippingConstraints.SignatureConfirmation MANDATORY.",
        )
    return quantities


def offer_id(secret: bytes, order: OrderRecord, details: dict, service: Service, day: str) -> str:
    """Opaque, tied to the request's details and the ship day: changed details, another day or
    another sandbox make it invalid."""
    options = details["ShippingServiceOptions"]
    basis = json.dumps(
        [
            order.order_id,
            sorted((i["OrderItemId"], i["Quantity"]) for i in details["ItemList"]),
            details["Weight"],
            details["PackageDimensions"],
            options["DeliveryExperience"],
            options["CarrierWillPickUp"],
            options.get("DeclaredValue"),
            service.service_id,
            day,
        ],
        sort_keys=True,
    )
    return base64.b64encode(hmac.new(secret, basis.encode(), hashlib.sha256).digest()).decode()


def evaluate(
    order: OrderRecord, details: dict, now: datetime, secret: bytes, unavailable: list[str]
) -> tuple[list[dict], list[dict], list[dict]]:
    """(offered ShippingServices, RejectedShippingServices, TemporarilyUnavailableCarriers)."""
    market = order.marketplace
    kg = services.billable_kg(details)
    wanted = parse_time(details.get("ShipDate"), "ShipDate") or now
    arrive_by = parse_time(details.get("MustArriveByDate"), "MustArriveByDate")
    options = details["ShippingServiceOptions"]
    offered, rejected, down = [], [], []
    for service in services.SERVICES[market.code]:
        if service.carrier in unavailable:
            if {"CarrierName": service.carrier} not in down:
                down.append({"CarrierName": service.carrier})
            continue
        refused = services.rejection(service, details, kg)
        if refused:
            rejected.append(
                {
                    "CarrierName": service.carrier,
                    "ShippingServiceName": service.name,
                    "ShippingServiceId": service.service_id,
                    "RejectionReasonCode": refused[0],
                    "RejectionReasonMessage": refused[1],
                }
            )
            continue
        shipped = services.ship_date(service, wanted, now)
        earliest, latest = services.delivery_window(service, shipped)
        if arrive_by is not None and latest > arrive_by:
            continue  # only services that arrive by MustArriveByDate are returned
        amount = {
            "CurrencyCode": market.currency,
            "Amount": float(services.rate(service, market.code, details, kg)),
        }
        late = [
            code
            for code, missed in (
                ("LATE_SHIP_DATE", shipped > order.latest_ship),
                ("LATE_DELIVERY_RISK", latest > order.latest_delivery),
            )
            if missed
        ]
        chosen = {
            "DeliveryExperience": options["DeliveryExperience"],
            "CarrierWillPickUp": options["CarrierWillPickUp"],
        }
        for key in ("CarrierWillPickUpOption", "DeclaredValue", "LabelFormat"):
            if key in options and (key != "LabelFormat" or options[key] in service.formats):
                chosen[key] = options[key]
        offered.append(
            {
                "ShippingServiceName": service.name,
                "CarrierName": service.carrier,
                "ShippingServiceId": service.service_id,
                "ShippingServiceOfferId": offer_id(
                    secret, order, details, service, iso(shipped)[:10]
                ),
                "ShipDate": iso(shipped),
                "EarliestEstimatedDeliveryDate": iso(earliest),
                "LatestEstimatedDeliveryDate": iso(latest),
                "Rate": amount,
                "RateWithAdjustments": dict(amount),
                "ShippingServiceOptions": chosen,
                "AvailableShippingServiceOptions": services.surcharges(
                    service, market.code, market.currency
                ),
                "AvailableLabelFormats": [*service.formats, "ShippingServiceDefault"],
                "AvailableFormatOptionsForLabel": [
                    {"IncludePackingSlipWithLabel": False, "LabelFormat": f}
                    for f in (*service.formats, "ShippingServiceDefault")
                ],
                "RequiresAdditionalSellerInputs": False,
                "Benefits": {
                    "IncludedBenefits": [] if late else ["CLAIMS_PROTECTED"],
                    "ExcludedBenefits": [{"Benefit": "CLAIMS_PROTECTED", "ReasonCodes": late}]
                    if late
                    else [],
                },
            }
        )
    offered.sort(key=lambda s: s["Rate"]["Amount"])
    return offered, rejected, down
