"""Amazon's shipment statuses in workflow order and what differs between the programmes.

Plain functions of a shipment's own columns (no query, no Amazon call). The step registry
(`step_kinds`) and `workflow` both read them, so they sit below both.

Programme differences (guide 003 §2 and §3.2; the model wins where they differ):
- Seller Flex: no shipping options (pickup is at a pre-agreed slot), straight to invoice/labels.
- Easy Ship outside India: Amazon does not generate invoices, so that step is skipped.
- generateInvoice runs wherever Amazon supports it: it returns the tax invoice when the shipment
  requires one, else the packing slip. Where it is not supported and a packing slip is required,
  Packbench renders the slip itself.
- Self-Ship labels carry the seller's own carrier and tracking id.
"""

from __future__ import annotations

from .models import Programme, Shipment, Status

INDIA_MARKETPLACE_ID = "A21TJRUUN4KGV"

# The workflow's statuses in the order Amazon moves a shipment through them (guide 003 §3.4).
STATUS_ORDER = (
    Status.ACCEPTED,
    Status.CONFIRMED,
    Status.PACKAGE_CREATED,
    Status.PICKUP_SLOT_RETRIEVED,
    Status.INVOICE_GENERATED,
    Status.SHIPLABEL_GENERATED,
    Status.SHIPPED,
    Status.DELIVERED,
)
# Statuses in which packages exist at Amazon and may still change (before a label is bought).
PACKAGE_EDIT_STATUSES = {Status.PACKAGE_CREATED, Status.PICKUP_SLOT_RETRIEVED, Status.INVOICE_GENERATED}
IN_PROGRESS_STATUSES = (
    Status.CONFIRMED,
    Status.PACKAGE_CREATED,
    Status.PICKUP_SLOT_RETRIEVED,
    Status.INVOICE_GENERATED,
    Status.SHIPLABEL_GENERATED,
)
SMARTCONNECT_OPEN_STATUSES = (Status.ACCEPTED, *IN_PROGRESS_STATUSES)
# Seller-fulfilled (MFN) orders: Amazon's order statuses in order, and the store pickup step between.
MFN_STATUS_ORDER = (Status.UNSHIPPED, Status.READY_FOR_PICKUP, Status.PARTIALLY_SHIPPED, Status.SHIPPED)
MFN_OPEN_STATUSES = (Status.UNSHIPPED, Status.READY_FOR_PICKUP, Status.PARTIALLY_SHIPPED)
# Amazon's OrderStatus -> ours. Pending orders (payment not cleared) are not packed; they are not stored.
MFN_ORDER_STATUSES = {"Unshipped": Status.UNSHIPPED, "PartiallyShipped": Status.PARTIALLY_SHIPPED,
                      "Shipped": Status.SHIPPED, "Canceled": Status.CANCELLED}
OPEN_STATUSES = (*SMARTCONNECT_OPEN_STATUSES, *MFN_OPEN_STATUSES)
CLOSED_STATUSES = (Status.SHIPPED, Status.DELIVERED, Status.CANCELLED)
# What the SmartConnect sync reads (getShipments' statuses): open work plus the endings a station
# must notice (cancelled, shipped by a scan). MFN orders are read by their own sync (getOrders).
SYNC_STATUSES = (*SMARTCONNECT_OPEN_STATUSES, Status.CANCELLED, Status.SHIPPED)
# Rejection is allowed in these statuses unless Amazon lists its own (orderStatesEligibleForRejection).
DEFAULT_REJECTABLE_STATUSES = (Status.ACCEPTED, Status.CONFIRMED)
REJECTION_REASONS = ("OUT_OF_STOCK", "CUSTOMER_REQUESTED")


def mfn_status_rank(status: str) -> int:
    """How far along an MFN order is (-1 for CANCELLED): the sync never moves one back."""
    try:
        return MFN_STATUS_ORDER.index(status)
    except ValueError:
        return -1


def status_rank(status: str) -> int:
    """How far along the workflow `status` is: 0 for ACCEPTED … 7 for DELIVERED, -1 off the path
    (CREATED, UNFULFILLABLE, CANCELLED or a status Amazon adds tomorrow)."""
    try:
        return STATUS_ORDER.index(status)
    except ValueError:
        return -1


def programme_for(channel_name: str | None, shipping_type: str | None) -> str:
    """Guide section 2: MFN+Marketplace = Easy Ship, MFN+Self = Self-Ship, FBA+Marketplace = Seller Flex."""
    channel = (channel_name or "").strip().upper()
    shipping = (shipping_type or "").strip().upper()
    if channel == "MFN" and shipping == "MARKETPLACE":
        return Programme.EASY_SHIP
    if channel == "MFN" and shipping == "SELF":
        return Programme.SELF_SHIP
    if channel == "FBA" and shipping == "MARKETPLACE":
        return Programme.SELLER_FLEX
    return Programme.OTHER


def uses_shipping_options(shipment: Shipment) -> bool:
    """Seller Flex pickups happen at a pre-agreed slot: Amazon offers no options to choose from."""
    return shipment.programme != Programme.SELLER_FLEX


def invoice_supported(shipment: Shipment) -> bool:
    """generateInvoice is not supported for Easy Ship outside India (guide 3.2 step 5)."""
    return not (shipment.programme == Programme.EASY_SHIP and shipment.marketplace_id != INDIA_MARKETPLACE_ID)


def invoice_needed(shipment: Shipment) -> bool:
    """Whether generateInvoice is a step of this shipment: wherever Amazon supports it. It returns
    the tax invoice when one is required, else the packing slip (guide 3.2 step 5)."""
    return invoice_supported(shipment)


def tax_invoice_required(shipment: Shipment) -> bool:
    return shipment.invoice_requirement == "REQUIRED"


def packing_slip_needed(shipment: Shipment) -> bool:
    return shipment.pslip_requirement == "REQUIRED"


def needs_courier_details(shipment: Shipment) -> bool:
    """Self-Ship labels carry the seller's own carrier and tracking id (courierSupportedAttributes)."""
    return shipment.programme == Programme.SELF_SHIP


def rejectable_statuses(shipment: Shipment) -> tuple[str, ...]:
    listed = ((shipment.raw or {}).get("shipmentInfo") or {}).get("orderStatesEligibleForRejection")
    return tuple(listed) if listed else DEFAULT_REJECTABLE_STATUSES
