"""Requests and answers of the workflow steps (confirm or reject, packages, shipping options,
invoice, labels, package status)."""

from __future__ import annotations

from .base import AmazonModel, EpochDateTime, Error
from .shipment import Document, HandoverLocation

# --- Requests and responses of the workflow steps ------------------------------------------------


class PackageDeliveryStatus(AmazonModel):
    status: str | None = None
    sub_status: str | None = None
    reason: str | None = None


class TimeWindow(AmazonModel):
    start_time: EpochDateTime
    end_time: EpochDateTime
    handover_method: str | None = None


class ShippingOptions(AmazonModel):
    shipping_option_id: str
    ship_by: str
    carrier_name: str | None = None
    pickup_window: TimeWindow | None = None
    time_slot: TimeWindow | None = None
    handover_location: HandoverLocation | None = None


class ShippingOptionsResponse(AmazonModel):
    shipping_options: list[ShippingOptions] | None = None
    recommended_shipping_option: ShippingOptions | None = None


class CourierSupportedAttributes(AmazonModel):
    carrier_name: str
    tracking_id: str


class ShipLabelsInput(AmazonModel):
    package_ids: list[str]
    courier_supported_attributes: CourierSupportedAttributes | None = None


class InvoiceResponse(AmazonModel):
    document: Document


class ShipLabelMetadata(AmazonModel):
    shipping_option_id: str | None = None
    carrier_name: str
    tracking_id: str
    pickup_window: TimeWindow | None = None
    time_slot: TimeWindow | None = None
    handover_location: HandoverLocation | None = None


class DocumentV2(AmazonModel):
    url: str


class PackageShipLabel(AmazonModel):
    package_id: str | None = None
    ship_label_metadata: ShipLabelMetadata | None = None
    file_data: DocumentV2 | None = None
    status: str | None = None
    error_details: Error | None = None


PackageShipLabelList = list[PackageShipLabel]


class ShipLabelsResponse(AmazonModel):
    package_ship_label_list: list[PackageShipLabel]


class LineItem(AmazonModel):
    id: str
    quantity: int | None = None


class LineItemWithReason(AmazonModel):
    line_item: LineItem
    reason: str | None = None


class ShipmentAcknowledgementRequest(AmazonModel):
    reference_id: str | None = None
    line_items: list[LineItemWithReason]
