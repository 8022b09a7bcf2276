"""Typed mirror of Amazon's External Fulfillment Shipments model (2024-09-11).

One class per definition of `contract/externalFulfillmentShipments_2024-09-11.json`, snake_case
attributes with Amazon's camelCase names as aliases. Reads are tolerant: unknown fields are kept
(`model_extra`) and enum-typed fields are plain `str`, so a value Amazon adds tomorrow is kept
instead of failing the whole shipment; the known values are `StrEnum` constants below.
Decimal amounts stay `decimal.Decimal` (Amazon sends them as strings, some samples as numbers).
`TimeWindow` times are aware UTC datetimes (Amazon sends epoch seconds); `DateTime` strings are
parsed into aware datetimes as well.

Requests are serialised with `to_amazon()` (by alias, without None) and checked against the
contract before they leave (`fulfillment.amazon.contract_schema`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel

# --- Constants (Amazon's enums). Fields stay `str` so unknown values are kept. ------------------


class ShipmentStatus(StrEnum):
    CREATED = "CREATED"
    ACCEPTED = "ACCEPTED"
    CONFIRMED = "CONFIRMED"
    PACKAGE_CREATED = "PACKAGE_CREATED"
    PICKUP_SLOT_RETRIEVED = "PICKUP_SLOT_RETRIEVED"
    INVOICE_GENERATED = "INVOICE_GENERATED"
    SHIPLABEL_GENERATED = "SHIPLABEL_GENERATED"
    CANCELLED = "CANCELLED"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"


class ShipmentSubStatus(StrEnum):
    PENDING_SCHEDULE = "PENDING_SCHEDULE"
    PENDING_PICKUP = "PENDING_PICKUP"
    PENDING_DROP_OFF = "PENDING_DROP_OFF"
    LABEL_CANCELED = "LABEL_CANCELED"
    PICKED_UP = "PICKED_UP"
    DROPPED_OFF = "DROPPED_OFF"
    AT_ORIGIN_FC = "AT_ORIGIN_FC"
    AT_DESTINATION_FC = "AT_DESTINATION_FC"
    DELIVERED = "DELIVERED"
    NOT_DELIVERED = "NOT_DELIVERED"
    UNDELIVERABLE = "UNDELIVERABLE"
    LOST = "LOST"
    OUT_FOR_DELIVERY = "OUT_FOR_DELIVERY"
    DAMAGED = "DAMAGED"


class PackageStatus(StrEnum):
    """`PackageStatus` definition (the body of updatePackageStatus); `Package.status` may also be CANCELLED."""

    CREATED = "CREATED"
    PICKUP_SLOT_RETRIEVED = "PICKUP_SLOT_RETRIEVED"
    INVOICE_GENERATED = "INVOICE_GENERATED"
    SHIPLABEL_GENERATED = "SHIPLABEL_GENERATED"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"


class PackageSubStatus(StrEnum):
    OUT_FOR_DELIVERY = "OUT_FOR_DELIVERY"
    DELIVERED = "DELIVERED"
    NOT_DELIVERED = "NOT_DELIVERED"
    UNDELIVERABLE = "UNDELIVERABLE"


class ProcessShipmentOperation(StrEnum):
    CONFIRM = "CONFIRM"
    REJECT = "REJECT"


class ShipLabelOperation(StrEnum):
    GENERATE = "GENERATE"
    REGENERATE = "REGENERATE"


class RejectionReason(StrEnum):
    OUT_OF_STOCK = "OUT_OF_STOCK"
    CUSTOMER_REQUESTED = "CUSTOMER_REQUESTED"


class ChannelName(StrEnum):
    """Values of `MarketplaceAttributes.channelName` that name a programme (guide section 2)."""

    FBA = "FBA"
    MFN = "MFN"


class ShippingType(StrEnum):
    MARKETPLACE = "MARKETPLACE"
    SELF = "SELF"


class RequirementLevel(StrEnum):
    REQUIRED = "REQUIRED"
    DISALLOWED = "DISALLOWED"


class PieceType(StrEnum):
    SINGLE = "SINGLE"
    MULTIPLE = "MULTIPLE"


class PresenceStatus(StrEnum):
    ABSENT = "ABSENT"
    PRESENT = "PRESENT"


class Priority(StrEnum):
    HIGH = "HIGH"
    LOW = "LOW"


class CustomChannelAttribute(StrEnum):
    PRIME = "PRIME"
    FASTTRACK = "FASTTRACK"


class CustomAttributeType(StrEnum):
    STRING = "STRING"
    BOOLEAN = "BOOLEAN"
    INTEGER = "INTEGER"
    DOUBLE = "DOUBLE"
    JSON_STRING = "JSON_STRING"


class Status(StrEnum):
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"


class DocumentFormat(StrEnum):
    ZPL = "ZPL"
    PDF = "PDF"
    PNG = "PNG"
    PLAIN_TEXT = "PLAIN_TEXT"


class ShipBy(StrEnum):
    MARKETPLACE = "MARKETPLACE"
    SELLER = "SELLER"
    THIRD_PARTY_CARRIER = "THIRD_PARTY_CARRIER"
    OTHER = "OTHER"


class HandoverMethod(StrEnum):
    PICKUP = "PICKUP"
    DROPOFF = "DROPOFF"


class ChargeType(StrEnum):
    PRODUCT = "PRODUCT"
    SHIPPING = "SHIPPING"
    GIFT_WRAP = "GIFT_WRAP"
    TOTAL = "TOTAL"
    OTHER = "OTHER"


class TaxType(StrEnum):
    VAT = "VAT"
    CST = "CST"
    IGST = "IGST"
    SGST = "SGST"
    CGST = "CGST"
    UTGST = "UTGST"
    CESS = "CESS"
    OTHER = "OTHER"
    TOTAL = "TOTAL"


class DimensionUnit(StrEnum):
    CM = "CM"
    M = "M"
    IN = "IN"


class WeightUnit(StrEnum):
    G = "G"
    KG = "KG"
    LB = "LB"
    OZ = "OZ"


class DistanceUnit(StrEnum):
    MI = "MI"
    KM = "KM"


class PackageHandlingRequirements(StrEnum):
    NORMAL = "NORMAL"
    FRAGILE = "FRAGILE"


class CancellationType(StrEnum):
    SELLER_REJECTED = "SELLER_REJECTED"
    MARKETPLACE_CANCELLED = "MARKETPLACE_CANCELLED"
    SYSTEM_CANCELLED = "SYSTEM_CANCELLED"


class ShipmentType(StrEnum):
    NEW = "NEW"
    EXCHANGE = "EXCHANGE"
    REPLACEMENT = "REPLACEMENT"


class ProcessingSource(StrEnum):
    EXTERNAL_PLATFORM = "EXTERNAL_PLATFORM"
    INTERNAL_PLATFORM = "INTERNAL_PLATFORM"


class PaymentMethod(StrEnum):
    CASH_ON_DELIVERY = "CASH_ON_DELIVERY"
    PREPAID = "PREPAID"


class PackingSlipRequirementLevel(StrEnum):
    REQUIRED = "REQUIRED"
    NOT_REQUIRED = "NOT_REQUIRED"


class PackingSlipStatus(StrEnum):
    GENERATED = "GENERATED"
    NOT_GENERATED = "NOT_GENERATED"


class InvoiceStatus(StrEnum):
    PENDING = "PENDING"
    AVAILABLE = "AVAILABLE"
    NOT_AVAILABLE = "NOT_AVAILABLE"


class PartyType(StrEnum):
    BILL_TO_PARTY = "BILL_TO_PARTY"
    SHIP_TO_PARTY = "SHIP_TO_PARTY"
    SHIP_FROM_PARTY = "SHIP_FROM_PARTY"
    SELLING_PARTY = "SELLING_PARTY"


class TaxRegistrationType(StrEnum):
    VAT = "VAT"
    GST = "GST"


# --- Scalar definitions -------------------------------------------------------------------


def _to_utc_datetime(value: Any) -> Any:
    """Epoch seconds (int, or digits in a string as some guide samples show) -> aware UTC."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return datetime.fromtimestamp(int(value), tz=UTC)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return datetime.fromtimestamp(int(value.strip()), tz=UTC)
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _iso_to_utc(value: Any) -> Any:
    """ISO 8601 string -> aware datetime; a naive value is taken as UTC (Amazon's zone)."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
        except ValueError:
            return value  # let pydantic report it
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _epoch_seconds(value: datetime) -> int:
    return int(value.timestamp())


def _iso_z(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


#: `TimeWindow.startTime/endTime`: aware UTC datetime in Python, epoch seconds on the wire.
EpochDateTime = Annotated[
    datetime,
    BeforeValidator(_to_utc_datetime),
    PlainSerializer(_epoch_seconds, return_type=int, when_used="json-unless-none"),
    WithJsonSchema({"type": "integer", "format": "int64"}),
]
#: The model's `DateTime` (ISO 8601 string on the wire).
DateTime = Annotated[
    datetime,
    BeforeValidator(_iso_to_utc),
    PlainSerializer(_iso_z, return_type=str, when_used="json-unless-none"),
]
SKU = str
CountryCode = str
SerialNumber = str


class AmazonModel(BaseModel):
    """Base of every model: camelCase aliases, unknown fields kept."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="allow",
    )

    def to_amazon(self) -> dict[str, Any]:
        """The JSON-ready dict Amazon expects: camelCase names, no None values, Decimals as strings."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


# --- Errors -------------------------------------------------------------------------------


class Error(AmazonModel):
    code: str
    message: str
    details: str | None = None


class ErrorList(AmazonModel):
    errors: list[Error]


# --- Money, measures, places ----------------------------------------------------------------


class Amount(AmazonModel):
    value: Decimal
    currency_code: str


class Distance(AmazonModel):
    value: Decimal
    distance_unit: str


class Geocodes(AmazonModel):
    latitude: Decimal
    longitude: Decimal
    elevation: Decimal | None = None


class Address(AmazonModel):
    name: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    address_line3: str | None = None
    district: str | None = None
    municipality: str | None = None
    state: str | None = None
    city: str | None = None
    country_code: str | None = None
    postal_code: str
    email: str | None = None
    copy_emails: list[str] | None = None
    phone_number: str | None = None
    address_type: str | None = None
    geocodes: Geocodes | None = None


class HandoverLocation(AmazonModel):
    address: Address | None = None
    distance: Distance | None = None
    map_url: str | None = None


class Dimension(AmazonModel):
    value: Decimal
    dimension_unit: str


class Weight(AmazonModel):
    value: Decimal
    weight_unit: str


class ChargeBreakup(AmazonModel):
    base_amount: Amount
    discount_amount: Amount
    net_amount: Amount


class Tax(AmazonModel):
    type: str | None = None
    rate: Decimal | None = None
    charge: ChargeBreakup


class Charge(AmazonModel):
    base_charge: ChargeBreakup
    tax_breakup: list[Tax] | None = None
    charge_type: str
    total_charge: ChargeBreakup
    total_tax: Tax


Charges = list[Charge]


class MarketplaceAttributes(AmazonModel):
    marketplace_id: str
    channel_name: str
    merchant_id: str | None = None
    custom_attributes: list[str] | None = None


# --- Packages ----------------------------------------------------------------------------------


class PackageDimensions(AmazonModel):
    length: Dimension
    width: Dimension
    height: Dimension


class PackageLineItem(AmazonModel):
    package_line_item_id: str
    quantity: int
    serial_numbers: list[SerialNumber] | None = None
    pieces: int | None = None
    country_of_origin: CountryCode | None = None
    item_value: Amount | None = None


PackageLineItems = list[PackageLineItem]


class Package(AmazonModel):
    id: str
    dimensions: PackageDimensions
    weight: Weight
    hazmat_labels: list[str] | None = None
    package_line_items: list[PackageLineItem]
    status: str | None = None
    package_handling_requirements: str | None = None


class Packages(AmazonModel):
    packages: list[Package]


class RecommendedPackageLineItem(AmazonModel):
    line_item_id: str


RecommendedPackageLineItems = list[RecommendedPackageLineItem]


class RecommendedPackage(AmazonModel):
    dimensions: PackageDimensions
    weight: Weight
    line_items: list[RecommendedPackageLineItem]


RecommendedPackages = list[RecommendedPackage]


# --- Shipment ----------------------------------------------------------------------------------


class ComplianceAttributes(AmazonModel):
    hazmat_labels_requirement: str
    serial_number_requirement: str
    country_of_origin_requirement: str
    item_value_requirement: str


class Document(AmazonModel):
    format: str | None = None
    content: str | None = None


class GiftAttributes(AmazonModel):
    gift_wrap_requirement: str
    gift_wrap_label: str | None = None
    gift_message_presence: str
    gift_message: Document | None = None


class Cancellation(AmazonModel):
    cancelled_quantity: int
    cancelled_timestamp: DateTime
    cancellation_type: str
    cancellation_reason: str | None = None


Cancellations = list[Cancellation]


class CustomAttribute(AmazonModel):
    key: str | None = None
    type: str | None = None
    value: str | None = None


class ShipmentLineItem(AmazonModel):
    shipment_line_item_id: str
    merchant_sku: SKU
    number_of_units: int
    serial_numbers: list[SerialNumber] | None = None
    piece_type: str | None = None
    hazmat_labels: list[str] | None = None
    gift_attributes: GiftAttributes | None = None
    charges: list[Charge]
    cancellations: list[Cancellation] | None = None
    hsn_code: str | None = None
    recommended_country_of_origin: CountryCode | None = None
    country_of_origin: CountryCode | None = None
    recommended_currency_code: str | None = None
    item_value: Amount | None = None
    compliance_attributes: ComplianceAttributes
    custom_attributes: list[CustomAttribute] | None = None


class OriginalLineItem(AmazonModel):
    replacing_sku: str
    original_sku: str
    charges: list[Charge]


OriginalLineItems = list[OriginalLineItem]


class ReplacedShipmentInfo(AmazonModel):
    id: str
    location_id: str
    marketplace_attributes: MarketplaceAttributes
    original_line_items: list[OriginalLineItem] | None = None


class ShipmentInfo(AmazonModel):
    shipment_type: str
    original_shipment_info: ReplacedShipmentInfo | None = None
    number_of_units: int
    priority: str
    buyer_order_id: str
    order_states_eligible_for_rejection: list[str] | None = None
    order_placed_timestamp: str | None = None
    processing_source: str | None = None
    payment_method: str | None = None


class PackingSlipRequirement(AmazonModel):
    requirement: str | None = None
    status: str | None = None


class InvoiceRequirement(AmazonModel):
    requirement: str | None = None
    status: str | None = None


class ShipmentRequirements(AmazonModel):
    p_slip: PackingSlipRequirement
    invoice: InvoiceRequirement


class TaxRegistrationInfo(AmazonModel):
    type: str | None = None
    number: str | None = None
    address: Address | None = None
    messages: str | None = None


class PartyIdentificationInfo(AmazonModel):
    party_id: str
    party_type: str
    address: Address | None = None
    tax_info: TaxRegistrationInfo | None = None


PartyIdentificationInfoList = list[PartyIdentificationInfo]


class InvoiceInfo(AmazonModel):
    invoice_id: str
    creation_date_time: DateTime


class ShippingInfo(AmazonModel):
    recommended_ship_method: str | None = None
    expected_shipping_date_time_in_utc: DateTime = Field(
        alias="expectedShippingDateTimeInUTC",
        validation_alias=AliasChoices("expectedShippingDateTimeInUTC", "expected_shipping_date_time_in_utc"),
    )
    ship_to_address: Address | None = None
    shipping_type: str | None = None
    recommended_packages: list[RecommendedPackage] | None = None


class Shipment(AmazonModel):
    id: str
    location_id: str
    marketplace_attributes: MarketplaceAttributes
    shipment_info: ShipmentInfo
    invoice_info: InvoiceInfo | None = None
    party_info_list: list[PartyIdentificationInfo] | None = None
    shipment_requirements: ShipmentRequirements
    charges: list[Charge]
    status: str
    sub_status: str | None = None
    reason: str | None = None
    line_items: list[ShipmentLineItem]
    shipping_info: ShippingInfo
    packages: list[Package] | None = None
    creation_date_time: DateTime
    last_updated_date_time: DateTime
    earliest_pack_date_time: DateTime | None = None

    @property
    def programme(self) -> str:
        """Easy Ship, Self-Ship or Seller Flex, named as in Amazon's guide (section 2)."""
        channel = (self.marketplace_attributes.channel_name or "").upper()
        shipping = (self.shipping_info.shipping_type or "").upper()
        if channel == ChannelName.FBA:
            return "Seller Flex"
        if channel == ChannelName.MFN and shipping == ShippingType.SELF:
            return "Self-Ship"
        if channel == ChannelName.MFN:
            return "Easy Ship"
        return channel or "Unknown"


class Pagination(AmazonModel):
    next_token: str | None = None


class ShipmentsResponse(AmazonModel):
    shipments: list[Shipment] | None = None
    pagination: Pagination | None = None


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


#: Definition name -> the Python name that mirrors it (used by the coverage test).
DEFINITIONS: dict[str, Any] = {
    "ErrorList": ErrorList,
    "Error": Error,
    "Decimal": Decimal,
    "HandoverLocation": HandoverLocation,
    "Distance": Distance,
    "Geocodes": Geocodes,
    "Amount": Amount,
    "DateTime": DateTime,
    "SKU": SKU,
    "Address": Address,
    "Dimension": Dimension,
    "Weight": Weight,
    "Charge": Charge,
    "Charges": Charges,
    "Tax": Tax,
    "ChargeBreakup": ChargeBreakup,
    "MarketplaceAttributes": MarketplaceAttributes,
    "PackageDimensions": PackageDimensions,
    "Package": Package,
    "PackageLineItems": PackageLineItems,
    "PackageLineItem": PackageLineItem,
    "RecommendedPackageLineItem": RecommendedPackageLineItem,
    "RecommendedPackageLineItems": RecommendedPackageLineItems,
    "RecommendedPackage": RecommendedPackage,
    "RecommendedPackages": RecommendedPackages,
    "ShipmentLineItem": ShipmentLineItem,
    "ComplianceAttributes": ComplianceAttributes,
    "GiftAttributes": GiftAttributes,
    "Cancellations": Cancellations,
    "Cancellation": Cancellation,
    "Shipment": Shipment,
    "ShippingInfo": ShippingInfo,
    "ShipmentInfo": ShipmentInfo,
    "ShipmentRequirements": ShipmentRequirements,
    "PackingSlipRequirement": PackingSlipRequirement,
    "InvoiceRequirement": InvoiceRequirement,
    "PartyIdentificationInfoList": PartyIdentificationInfoList,
    "PartyIdentificationInfo": PartyIdentificationInfo,
    "TaxRegistrationInfo": TaxRegistrationInfo,
    "ReplacedShipmentInfo": ReplacedShipmentInfo,
    "OriginalLineItems": OriginalLineItems,
    "OriginalLineItem": OriginalLineItem,
    "InvoiceInfo": InvoiceInfo,
    "RequirementLevel": RequirementLevel,
    "PieceType": PieceType,
    "PresenceStatus": PresenceStatus,
    "Priority": Priority,
    "Pagination": Pagination,
    "ShipmentsResponse": ShipmentsResponse,
    "CountryCode": CountryCode,
    "SerialNumber": SerialNumber,
    "PackageDeliveryStatus": PackageDeliveryStatus,
    "ShippingOptionsResponse": ShippingOptionsResponse,
    "ShipLabelsInput": ShipLabelsInput,
    "InvoiceResponse": InvoiceResponse,
    "ShipLabelsResponse": ShipLabelsResponse,
    "PackageShipLabelList": PackageShipLabelList,
    "ShipLabelMetadata": ShipLabelMetadata,
    "Document": Document,
    "ShippingOptions": ShippingOptions,
    "TimeWindow": TimeWindow,
    "PackageStatus": PackageStatus,
    "PackageSubStatus": PackageSubStatus,
    "ShipmentAcknowledgementRequest": ShipmentAcknowledgementRequest,
    "DocumentV2": DocumentV2,
    "Packages": Packages,
    "CustomChannelAttribute": CustomChannelAttribute,
    "CustomAttribute": CustomAttribute,
    "CustomAttributeType": CustomAttributeType,
    "PackageShipLabel": PackageShipLabel,
    "CourierSupportedAttributes": CourierSupportedAttributes,
    "LineItem": LineItem,
    "LineItemWithReason": LineItemWithReason,
    "Status": Status,
}
