"""The shipment as Amazon lists it (getShipment, getShipments): money, measures and places, its
packages, line items, requirements and parties, and the page around it."""

from __future__ import annotations

from decimal import Decimal

from pydantic import AliasChoices, Field

from .base import SKU, AmazonModel, CountryCode, DateTime, SerialNumber
from .enums import ChannelName, ShippingType

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
