"""The Merchant Fulfillment operations: offers, label purchase, the shipment, its cancellation."""

from __future__ import annotations

import base64
import copy
import gzip
import hashlib
import re
import secrets
import uuid
from datetime import timedelta
from typing import Any, ClassVar

from .. import documents
from ..core.api import Api, Call
from ..core.errors import bad_request, check_body, not_found
from ..core.model import Model
from ..core.timefmt import iso, parse_time
from ..orders.records import OrderRecord
from . import offers, services

MODEL = Model("merchantFulfillmentV0")
SHIPMENT_ID = re.compile(MODEL.operations()["getShipment"]["parameters"][0]["pattern"])
FILE_TYPES = {
    "PDF": "application/pdf",
    "PNG": "image/png",
    "ZPL203": "application/zpl",
    "ZPL300": "application/zpl",
}
PURCHASED, REFUND_PENDING = "Purchased", "RefundPending"
REFUND_APPLIED, REFUND_REJECTED = "RefundApplied", "RefundRejected"


class MerchantFulfillmentApi(Api):
    """Labels bought through Merchant Fulfillment (`shipments`, by ShipmentId)."""

    name = "merchant_fulfillment"
    config_defaults: ClassVar = {
        "mfn_refund_after_seconds": 60,  # a cancelled label's refund settles after this long
        "mfn_label_confirms_shipment": False,  # buying a label also confirms its items shipped
        "mfn_unavailable_carriers": [],  # carriers answering TemporarilyUnavailable
    }

    def __init__(self, sandbox):
        super().__init__(sandbox)
        self.secret = secrets.token_bytes(16)  # signs offer ids: another sandbox's are invalid
        self.shipments: dict[str, dict] = {}

    def check_config(self, key: str, value: Any) -> Any:
        if key == "mfn_refund_after_seconds":
            if int(value) < 0:
                raise ValueError(f"{key} must not be negative")
            return int(value)
        if key == "mfn_label_confirms_shipment":
            return bool(value)
        if not isinstance(value, list):
            raise TypeError(f"{key} must be a list of carrier names")
        return [str(v) for v in value]

    def reset(self) -> int:
        self.shipments = {}
        return 0

    def call_ids(self, operation_id: str, call: Call) -> dict:
        shipment_id = call.path.get("shipmentId")
        if shipment_id:
            kept = self.shipments.get(shipment_id)
            return {"shipment_id": shipment_id, "order_id": kept and kept["order_id"]}
        return {"order_id": call.body["ShipmentRequestDetails"]["AmazonOrderId"]}

    def _order(self, details: dict) -> OrderRecord:
        return self.sandbox.orders.record(details["AmazonOrderId"])

    # --- operations ----------------------------------------------------------------------------

    def get_eligible_shipment_services(self, call: Call):
        body = call.require_body()
        check_body(MODEL, "getEligibleShipmentServices", body)
        details = body["ShipmentRequestDetails"]
        with self.lock:
            order = self._order(details)
            offers.check_details(order, details, self.now())
            offered, rejected, down = offers.evaluate(
                order, details, self.now(), self.secret, self.config["mfn_unavailable_carriers"]
            )
        payload = {
            "ShippingServiceList": offered,
            "RejectedShippingServiceList": rejected,
            "TemporarilyUnavailableCarrierList": down,
            "TermsAndConditionsNotAcceptedCarrierList": [],
        }
        return 200, {"payload": payload}

    def create_shipment(self, call: Call):
        body = call.require_body()
        check_body(MODEL, "createShipment", body)
        details = body["ShipmentRequestDetails"]
        with self.lock:
            now = self.now()
            order = self._order(details)
            quantities = offers.check_details(order, details, now)
            offered, rejected, _ = offers.evaluate(
                order, details, now, self.secret, self.config["mfn_unavailable_carriers"]
            )
            wanted = body["ShippingServiceId"]
            service = next((s for s in offered if s["ShippingServiceId"] == wanted), None)
            if service is None:
                why = next(
                    (
                        r["RejectionReasonMessage"]
                        for r in rejected
                        if r["ShippingServiceId"] == wanted
                    ),
                    None,
                )
                raise bad_request(
                    f"ShippingServiceId '{wanted}' is not available for this shipment."
                    + (f" {why}" if why else ""),
                    "Available: " + (", ".join(s["ShippingServiceId"] for s in offered) or "none"),
                )
            offer = body.get("ShippingServiceOfferId")
            if offer and offer != service["ShippingServiceOfferId"]:
                raise bad_request(
                    "ShippingServiceOfferId is not valid for this request: the details changed "
                    "or the offer expired. Get eligible shipping services again."
                )
            label_format = self._label_format(details, wanted)
            shipment_id = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
            tracking = _tracking_id(self.rng, service["CarrierName"])
            shipment = {
                "ShipmentId": shipment_id,
                "AmazonOrderId": order.order_id,
                "ItemList": copy.deepcopy(details["ItemList"]),
                "ShipFromAddress": copy.deepcopy(details["ShipFromAddress"]),
                "ShipToAddress": dict(order.ship_to),
                "PackageDimensions": copy.deepcopy(details["PackageDimensions"]),
                "Weight": copy.deepcopy(details["Weight"]),
                "Insurance": details["ShippingServiceOptions"].get("DeclaredValue")
                or {"CurrencyCode": order.marketplace.currency, "Amount": 0},
                "ShippingService": service,
                "Label": _label(order, details, service, tracking, label_format),
                "Status": PURCHASED,
                "TrackingId": tracking,
                "CreatedDate": iso(now),
                "LastUpdatedDate": iso(now),
            }
            if order.seller_order_id:
                shipment["SellerOrderId"] = order.seller_order_id
            self.shipments[shipment_id] = {
                "shipment": shipment,
                "order_id": order.order_id,
                "cancelled_at": None,
                "carrier_scanned": False,
            }
            if self.config["mfn_label_confirms_shipment"]:
                self.sandbox.orders.confirm_package(
                    order, quantities, service["CarrierName"], tracking
                )
            return 200, {"payload": copy.deepcopy(shipment)}

    def get_shipment(self, call: Call):
        with self.lock:
            kept = self._kept(call.path["shipmentId"])
            return 200, {"payload": copy.deepcopy(kept["shipment"])}

    def cancel_shipment(self, call: Call):
        with self.lock:
            kept = self._kept(call.path["shipmentId"])
            shipment = kept["shipment"]
            if shipment["Status"] != PURCHASED:
                raise bad_request(
                    f"Shipment {shipment['ShipmentId']} is cancelled already "
                    f"(Status {shipment['Status']}): a label can be cancelled once."
                )
            kept["cancelled_at"] = self.now()
            shipment["Status"] = REFUND_PENDING
            shipment["LastUpdatedDate"] = iso(self.now())
            return 200, {"payload": copy.deepcopy(shipment)}

    handlers: ClassVar = {
        (MODEL, "getEligibleShipmentServices"): get_eligible_shipment_services,
        (MODEL, "createShipment"): create_shipment,
        (MODEL, "getShipment"): get_shipment,
        (MODEL, "cancelShipment"): cancel_shipment,
    }

    # --- internals and sandbox-only actions ------------------------------------------------------

    def _label_format(self, details: dict, service_id: str) -> str:
        service = services.BY_ID[service_id]
        wanted = details["ShippingServiceOptions"].get("LabelFormat", "ShippingServiceDefault")
        if wanted == "ShippingServiceDefault":
            return service.formats[0]
        if wanted not in service.formats:
            raise bad_request(
                f"LabelFormat {wanted} is not available for {service.name}.",
                "AvailableLabelFormats: " + ", ".join([*service.formats, "ShippingServiceDefault"]),
            )
        return wanted

    def _kept(self, shipment_id: str) -> dict:
        """The kept shipment, its refund settled if its time has come (caller holds the lock)."""
        if not SHIPMENT_ID.fullmatch(shipment_id):
            raise bad_request(f"Invalid shipmentId '{shipment_id}': expected a UUID.")
        kept = self.shipments.get(shipment_id)
        if kept is None:
            raise not_found(f"No shipment with ShipmentId '{shipment_id}' was found.")
        shipment, cancelled = kept["shipment"], kept["cancelled_at"]
        settle_after = timedelta(seconds=self.config["mfn_refund_after_seconds"])
        if shipment["Status"] == REFUND_PENDING and self.now() - cancelled >= settle_after:
            shipment["Status"] = REFUND_REJECTED if kept["carrier_scanned"] else REFUND_APPLIED
            shipment["LastUpdatedDate"] = iso(cancelled + settle_after)
        return kept

    def state(self, shipment_id: str) -> dict:
        with self.lock:
            kept = self._kept(shipment_id)
            return {
                "shipment": copy.deepcopy(kept["shipment"]),
                "orderId": kept["order_id"],
                "carrierScanned": kept["carrier_scanned"],
                "cancelledAt": iso(kept["cancelled_at"]) if kept["cancelled_at"] else None,
            }

    def summaries(self, order_id: str | None = None) -> list[dict]:
        with self.lock:
            return [
                {
                    "ShipmentId": shipment_id,
                    "AmazonOrderId": kept["order_id"],
                    "Status": self._kept(shipment_id)["shipment"]["Status"],
                    "TrackingId": kept["shipment"]["TrackingId"],
                    "CarrierName": kept["shipment"]["ShippingService"]["CarrierName"],
                }
                for shipment_id, kept in self.shipments.items()
                if order_id is None or kept["order_id"] == order_id
            ]

    def carrier_scan(self, shipment_id: str) -> dict:
        """The carrier accepts the package: a refund asked for it will be rejected."""
        with self.lock:
            self._kept(shipment_id)["carrier_scanned"] = True
            return self.state(shipment_id)


def _tracking_id(rng, carrier: str) -> str:
    digits = "".join(str(rng.randrange(10)) for _ in range(20))
    if carrier == "UPS":
        return (
            "1Z"
            + "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ0123456789") for _ in range(6))
            + "03"
            + digits[:8]
        )
    if carrier == "USPS":
        return "9400" + digits[:18]
    if carrier == "Amazon Shipping":
        return "TBA" + digits[:12]
    if carrier == "DHL":
        return "00340434" + digits[:12]
    return digits[:12]


def _label(order: OrderRecord, details: dict, service: dict, tracking: str, fmt: str) -> dict:
    """The Label: the file gzip'd then base64'd (as Amazon sends it), MD5 of the file in base64."""
    ship_to, ship_from = order.ship_to, details["ShipFromAddress"]
    custom = details.get("LabelCustomization", {}).get("CustomTextForLabel")
    weight = details["Weight"]
    card = documents.LabelCard(
        carrier=service["ShippingServiceName"],
        ship_to=[
            *(
                ship_to[k]
                for k in ("Name", "AddressLine1", "AddressLine2", "AddressLine3")
                if ship_to.get(k)
            ),
            " ".join(
                ship_to[k]
                for k in ("City", "StateOrProvinceCode", "PostalCode", "CountryCode")
                if ship_to.get(k)
            ),
        ],
        references=[
            f"Order {order.order_id}" + (f"  {custom}" if custom else ""),
            f"From {ship_from['Name']}, {ship_from['City']}",
            f"Weight {weight['Value']:g} {weight['Unit']}  Ship {parse_time(service['ShipDate'], 'ShipDate'):%Y-%m-%d}",
        ],
        tracking=tracking,
    )
    if fmt == "PDF":
        raw = documents.card_pdf(card)
    elif fmt == "PNG":
        raw = documents.card_png(card)
    else:
        raw = documents.card_zpl(card, dpi=300 if fmt == "ZPL300" else 203)
    label = {
        "Dimensions": {"Length": 6.0, "Width": 4.0, "Unit": "inches"},
        "FileContents": {
            "Contents": base64.b64encode(gzip.compress(raw, mtime=0)).decode(),
            "FileType": FILE_TYPES[fmt],
            "Checksum": base64.b64encode(hashlib.md5(raw).digest()).decode(),
        },
        "LabelFormat": fmt,
    }
    if custom:
        label["CustomTextForLabel"] = custom
    if details.get("LabelCustomization", {}).get("StandardIdForLabel"):
        label["StandardIdForLabel"] = details["LabelCustomization"]["StandardIdForLabel"]
    return label
