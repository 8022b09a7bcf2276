"""Merchant Fulfillment v0: the services that can carry a package, buying and voiding its label.

A bought label comes inside the answer: FileContents.Contents is base64 of the gzip'd file, with
the MD5 of the file (base64) as Checksum. It is unpacked here within DOCUMENT_MAX_BYTES; what the
file is (ZPL, PNG, PDF) is for the caller to sniff (documents.formats.checked_label): a file type
Amazon names is a hint, never trusted. Buying a label does not confirm the order shipped (the Orders
API does that, package by package), unless Amazon's own settings make it so.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.utils.dateparse import parse_datetime

from ..errors import AmazonUnexpectedResponse

GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class ShippingService:
    service_id: str
    name: str
    carrier: str
    offer_id: str
    rate: Decimal
    currency: str
    ship_date: datetime | None
    earliest_delivery: datetime | None
    latest_delivery: datetime | None
    label_formats: tuple[str, ...]
    excluded_benefits: tuple[str, ...]  # reason codes: LATE_SHIP_DATE, LATE_DELIVERY_RISK, …
    raw: dict = field(repr=False, compare=False)

    def ships_by(self, deadline: datetime | None) -> bool:
        """Leaves by the order's ship-by (and Amazon does not say it ships late)."""
        if "LATE_SHIP_DATE" in self.excluded_benefits:
            return False
        return deadline is None or self.ship_date is None or self.ship_date <= deadline


@dataclass
class EligibleServices:
    services: list[ShippingService]  # cheapest first
    rejected: list[dict]  # {ShippingServiceId, RejectionReasonCode, RejectionReasonMessage, …}
    unavailable_carriers: list[str]

    def cheapest_by(self, deadline: datetime | None) -> ShippingService | None:
        """The cheapest service that leaves by `deadline` (the order's ship-by)."""
        fitting = [s for s in self.services if s.ships_by(deadline)]
        return min(fitting, key=lambda s: (s.rate, s.service_id), default=None)


@dataclass(frozen=True)
class LabelFile:
    content: bytes
    file_type: str  # what Amazon says it is (a hint only)
    label_format: str


@dataclass(frozen=True)
class MfnShipment:
    shipment_id: str
    order_id: str
    status: str  # Purchased, RefundPending, RefundRejected, RefundApplied
    tracking_id: str
    carrier: str
    service_id: str
    service_name: str
    rate: Decimal | None
    currency: str
    label: LabelFile | None
    raw: dict = field(repr=False, compare=False)  # the answer without the label's bytes


def _time(value: Any) -> datetime | None:
    return parse_datetime(value) if isinstance(value, str) else None


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal(0)


def _service(data: dict) -> ShippingService:
    rate = data.get("Rate") or {}
    excluded = tuple(code for benefit in (data.get("Benefits") or {}).get("ExcludedBenefits") or []
                     for code in benefit.get("ReasonCodes") or [])
    return ShippingService(
        service_id=str(data["ShippingServiceId"]),
        name=str(data.get("ShippingServiceName") or data["ShippingServiceId"]),
        carrier=str(data.get("CarrierName") or ""),
        offer_id=str(data.get("ShippingServiceOfferId") or ""),
        rate=_decimal(rate.get("Amount")),
        currency=str(rate.get("CurrencyCode") or ""),
        ship_date=_time(data.get("ShipDate")),
        earliest_delivery=_time(data.get("EarliestEstimatedDeliveryDate")),
        latest_delivery=_time(data.get("LatestEstimatedDeliveryDate")),
        label_formats=tuple(data.get("AvailableLabelFormats") or ()),
        excluded_benefits=excluded,
        raw=data,
    )


def unpack_label(operation: str, label: dict) -> LabelFile:
    """The label's file: base64, then gunzip when it is gzip'd (Amazon's usual), bounded, checksum checked."""
    contents = label.get("FileContents") or {}
    limit = int(settings.DOCUMENT_MAX_BYTES)
    text = contents.get("Contents") or ""
    if not isinstance(text, str) or len(text) > limit * 2:
        raise AmazonUnexpectedResponse(operation=operation, detail="the label is missing or far too large")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise AmazonUnexpectedResponse(operation=operation, detail="the label is not base64") from None
    if data.startswith(GZIP_MAGIC):
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            data = inflater.decompress(data, limit + 1)
        except zlib.error:
            raise AmazonUnexpectedResponse(operation=operation, detail="the label's gzip is damaged") from None
        if len(data) > limit or inflater.unconsumed_tail:
            raise AmazonUnexpectedResponse(operation=operation, detail="the label unpacks larger than any label")
    checksum = contents.get("Checksum")
    if checksum and base64.b64encode(hashlib.md5(data).digest()).decode() != checksum:
        raise AmazonUnexpectedResponse(operation=operation, detail="the label does not match its checksum")
    return LabelFile(data, str(contents.get("FileType") or ""), str(label.get("LabelFormat") or ""))


def _shipment(operation: str, data: Any) -> MfnShipment:
    payload = data.get("payload") if isinstance(data, dict) else None
    if not isinstance(payload, dict):
        raise AmazonUnexpectedResponse(operation=operation, detail="the answer has no payload object")
    try:
        service = payload.get("ShippingService") or {}
        rate = service.get("Rate") or {}
        label = unpack_label(operation, payload["Label"]) if payload.get("Label") else None
        raw = {key: value for key, value in payload.items() if key != "Label"}
        if payload.get("Label"):
            raw["Label"] = {key: value for key, value in payload["Label"].items() if key != "FileContents"}
        return MfnShipment(
            shipment_id=str(payload["ShipmentId"]),
            order_id=str(payload.get("AmazonOrderId") or ""),
            status=str(payload.get("Status") or ""),
            tracking_id=str(payload.get("TrackingId") or ""),
            carrier=str(service.get("CarrierName") or ""),
            service_id=str(service.get("ShippingServiceId") or ""),
            service_name=str(service.get("ShippingServiceName") or ""),
            rate=_decimal(rate["Amount"]) if "Amount" in rate else None,
            currency=str(rate.get("CurrencyCode") or ""),
            label=label,
            raw=raw,
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise AmazonUnexpectedResponse(operation=operation, detail=f"the shipment lacks {exc}") from None


class MerchantFulfillmentOperations:
    """getEligibleShipmentServices, createShipment, getShipment, cancelShipment."""

    def get_eligible_shipment_services(self, details: dict) -> EligibleServices:
        """The services that can carry the package `details` (ShipmentRequestDetails) describes."""
        data = self._call("getEligibleShipmentServices", body={"ShipmentRequestDetails": details},
                          context={"shipment_id": str(details.get("AmazonOrderId", ""))})
        payload = data.get("payload") if isinstance(data, dict) else None
        if not isinstance(payload, dict):
            raise AmazonUnexpectedResponse(operation="getEligibleShipmentServices", detail="no payload")
        try:
            services = sorted((_service(s) for s in payload.get("ShippingServiceList") or []), key=lambda s: s.rate)
        except (KeyError, TypeError, AttributeError) as exc:
            raise AmazonUnexpectedResponse(operation="getEligibleShipmentServices",
                                           detail=f"a service lacks {exc}") from None
        carriers = [str(c.get("CarrierName", "")) for c in payload.get("TemporarilyUnavailableCarrierList") or []]
        return EligibleServices(services, list(payload.get("RejectedShippingServiceList") or []), carriers)

    def create_shipment(self, details: dict, service_id: str, *, offer_id: str | None = None) -> MfnShipment:
        """Buy the label of `service_id` for the package `details` describes."""
        body: dict[str, Any] = {"ShipmentRequestDetails": details, "ShippingServiceId": service_id}
        if offer_id:
            body["ShippingServiceOfferId"] = offer_id
        data = self._call("createShipment", body=body, context={"shipment_id": str(details.get("AmazonOrderId", ""))})
        return _shipment("createShipment", data)

    def get_mfn_shipment(self, shipment_id: str) -> MfnShipment:
        data = self._call("merchantFulfillmentV0.getShipment", shipment_id=shipment_id)
        return _shipment("getShipment", data)

    def cancel_mfn_shipment(self, shipment_id: str) -> MfnShipment:
        """Void a label (its refund follows when the carrier never took the package)."""
        data = self._call("cancelShipment", shipment_id=shipment_id)
        return _shipment("cancelShipment", data)
