"""Amazon's enums in the External Fulfillment Shipments model, as constants. Model fields stay `str`
so a value Amazon adds tomorrow is kept instead of failing the whole shipment."""

from enum import StrEnum

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
