"""An MFN order as the sandbox keeps it: one neutral record that both Orders APIs render.

The record holds what Amazon knows (buyer address included); the views in v0.py and v2026.py
show what each API returns of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from ..core.catalogue import Marketplace
from ..core.errors import not_found
from ..core.model import Model
from ..core.timefmt import iso

MODEL_V0 = Model("ordersV0")
MODEL_2026 = Model("orders_2026-01-01")

PENDING, UNSHIPPED, PARTIALLY_SHIPPED = "Pending", "Unshipped", "PartiallyShipped"
SHIPPED, CANCELED = "Shipped", "Canceled"
SHIPPABLE = {UNSHIPPED, PARTIALLY_SHIPPED}
# Store pickup (updateShipmentStatus): the pickup steps and the units each one moves.
READY_FOR_PICKUP, PICKED_UP, REFUSED_PICKUP = "ReadyForPickup", "PickedUp", "RefusedPickup"


@dataclass
class OrderItem:
    order_item_id: str
    sku: str
    asin: str
    title: str
    quantity: int
    unit_price: Decimal
    shipping_price: Decimal = Decimal(0)
    promotion_discount: Decimal = Decimal(0)
    serial_required: bool = False
    signature_required: bool = False
    gift_message: str | None = None
    grams: int = 0
    shipped: int = 0  # units confirmed shipped (confirmShipment) or picked up (store pickup)
    ready: int = 0  # store pickup: units ready and waiting for the buyer
    refused: int = 0  # store pickup: units the buyer refused
    cancel_requested: str | None = None  # the buyer's reason, when they asked to cancel

    @property
    def left(self) -> int:
        """Units still to ship (or to make ready, for store pickup)."""
        return self.quantity - self.shipped - self.ready - self.refused


@dataclass
class OrderRecord:
    order_id: str
    marketplace: Marketplace
    location_id: str
    purchased_at: datetime
    updated_at: datetime
    earliest_ship: datetime
    latest_ship: datetime
    earliest_delivery: datetime
    latest_delivery: datetime
    items: list[OrderItem]
    ship_to: dict  # the buyer's full address (Merchant Fulfillment's Address shape)
    buyer_email: str
    status: str = UNSHIPPED
    service_level: str = "Standard"  # ShipmentServiceLevelCategory
    is_prime: bool = False
    is_business: bool = False
    store_pickup: bool = False  # IsISPU: the buyer collects it at a store
    store_id: str | None = None
    payment_method: str = "Other"  # COD or Other
    seller_order_id: str | None = None
    # packageReferenceId -> the confirmation as first sent, with its corrections after it
    packages: dict[str, dict] = field(default_factory=dict)
    cancel_reason: str | None = None
    history: list[dict] = field(default_factory=list)

    def item(self, order_item_id: str) -> OrderItem | None:
        return next((i for i in self.items if i.order_item_id == order_item_id), None)

    @property
    def units(self) -> int:
        return sum(i.quantity for i in self.items)

    @property
    def units_shipped(self) -> int:
        return sum(i.shipped for i in self.items)

    @property
    def units_unshipped(self) -> int:
        if self.status == CANCELED:
            return 0
        return sum(i.quantity - i.shipped - i.refused for i in self.items)

    def move(self, status: str, cause: str, now: datetime) -> None:
        if status != self.status:
            self.history.append({"at": iso(now), "from": self.status, "to": status, "by": cause})
            self.status = status
        self.touch(now)

    def touch(self, now: datetime) -> None:
        self.updated_at = max(now, self.updated_at)

    def settle(self, cause: str, now: datetime) -> None:
        """The status the units say: every unit shipped (or refused at pickup) -> Shipped,
        some shipped -> PartiallyShipped; all refused at pickup -> Canceled."""
        shipped, refused = self.units_shipped, sum(i.refused for i in self.items)
        if shipped + refused == self.units:
            self.move(SHIPPED if shipped else CANCELED, cause, now)
        elif shipped:
            self.move(PARTIALLY_SHIPPED, cause, now)
        else:
            self.touch(now)

    def summary(self) -> dict:
        return {
            "AmazonOrderId": self.order_id,
            "OrderStatus": self.status,
            "MarketplaceId": self.marketplace.marketplace_id,
            "locationId": self.location_id,
            "IsISPU": self.store_pickup,
            "units": self.units,
            "unitsShipped": self.units_shipped,
            "LastUpdateDate": iso(self.updated_at),
        }


def find(records: dict[str, OrderRecord], order_id: str) -> OrderRecord:
    record = records.get(order_id)
    if record is None:
        raise not_found(f"No order with AmazonOrderId '{order_id}' was found.")
    return record
