"""MFN orders read from Amazon: getOrders per seller account since its cursor, getOrderItems only
for an order new to us; stored as shipments of channel MFN (one line per order item)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from fulfillment.amazon.client import Order, OrderItem, get_client
from fulfillment.amazon.errors import AmazonError

from ... import programmes
from ...models import (
    Channel,
    LineItem,
    Package,
    Programme,
    Requirement,
    Shipment,
    ShipmentEvent,
    Status,
    SyncCursor,
)
from ..events import record_event
from ..sync import on_cancelled, seller_account_named

logger = logging.getLogger(__name__)

MFN_CURSOR = "MFN"  # SyncCursor.status of an account's getOrders cursor
FIRST_SYNC_LOOKBACK = timedelta(days=30)
OPEN_ORDER_STATUSES = ("Unshipped", "PartiallyShipped")
KNOWN_ORDER_STATUSES = (*OPEN_ORDER_STATUSES, "Shipped", "Canceled")


# --- The sync: getOrders per seller account, what changed since its cursor ------------------------------


@dataclass
class MfnSyncResult:
    seller_account: str
    seen: int = 0
    created: int = 0
    status_changes: int = 0
    cancelled: list[str] = field(default_factory=list)
    skipped: bool = False


def _marketplaces(seller_account: str) -> list[str]:
    account = seller_account_named(seller_account)
    listed = account.marketplace_ids if account is not None else ",".join(settings.AMAZON_MARKETPLACE_IDS)
    return [m.strip() for m in (listed or "").split(",") if m.strip()]


def sync_mfn_account(seller_account: str, *, locations=None, user=None, force: bool = False) -> MfnSyncResult:
    """Read the account's MFN orders changed since its cursor (getOrders, a page of 100 at a time;
    getOrderItems only for an order new to us) and store those of `locations`. getOrders' plan is
    about one request a minute: a sync sooner than MFN_SYNC_INTERVAL_SECONDS after the last one
    does nothing unless `force`. The cursor moves to the bound Amazon used once every page is read."""
    from fulfillment.stations.selectors import locations_by_seller_account

    result = MfnSyncResult(seller_account)
    if locations is None:
        locations = locations_by_seller_account().get(seller_account, set())
    marketplaces = _marketplaces(seller_account)
    if not locations or not marketplaces:
        result.skipped = True
        return result
    cursor, _ = SyncCursor.objects.get_or_create(seller_account=seller_account, status=MFN_CURSOR)
    started = timezone.now()
    interval = timedelta(seconds=float(getattr(settings, "MFN_SYNC_INTERVAL_SECONDS", 60)))
    if not force and cursor.last_attempt_at and started - cursor.last_attempt_at < interval:
        result.skipped = True
        return result
    overlap = timedelta(seconds=getattr(settings, "SHIPMENT_SYNC_OVERLAP_SECONDS", 120))
    first = cursor.last_synced_at is None
    since = started - FIRST_SYNC_LOOKBACK if first else cursor.last_synced_at - overlap
    statuses = OPEN_ORDER_STATUSES if first else KNOWN_ORDER_STATUSES
    bound = None
    try:
        with get_client(seller_account_named(seller_account), background=True) as client:
            for page in client.iter_order_pages(marketplace_ids=marketplaces, last_updated_after=since,
                                                order_statuses=list(statuses)):
                bound = bound or page.listed_before
                _store_orders(client, [o for o in page.orders if o.location_id in locations], result,
                              seller_account=seller_account, user=user)
    except AmazonError as exc:
        SyncCursor.objects.filter(pk=cursor.pk).update(last_attempt_at=started, last_error=exc.packer_message)
        raise
    SyncCursor.objects.filter(pk=cursor.pk).update(last_synced_at=bound or started, last_attempt_at=started,
                                                   last_error="")
    return result


def _store_orders(client, orders: list[Order], result: MfnSyncResult, *, seller_account: str, user) -> None:
    known = {s.amazon_id: s for s in Shipment.objects.filter(amazon_id__in=[o.order_id for o in orders])}
    for order in orders:
        result.seen += 1
        shipment = known.get(order.order_id)
        if shipment is None:
            if order.status not in OPEN_ORDER_STATUSES:
                continue  # shipped or cancelled before we ever saw it: nothing to pack
            items = client.get_order_items(order.order_id)
            create_order_shipment(order, items, seller_account=seller_account, user=user)
            result.created += 1
        elif update_order_shipment(shipment, order, user=user):
            result.status_changes += 1
            if order.status == "Canceled":
                result.cancelled.append(order.order_id)


def _order_values(order: Order, seller_account: str) -> dict:
    return {
        "seller_account": seller_account[:80],
        "location_id": order.location_id[:64],
        "marketplace_id": order.marketplace_id[:32],
        "channel_name": "MFN",
        "channel": Channel.MFN,
        "programme": Programme.MFN,
        "buyer_order_id": order.order_id[:64],
        "ship_by": order.latest_ship_date,
        "recommended_ship_method": order.ship_service_level[:64],
        "amazon_created_at": order.purchased_at,
        "amazon_last_updated": order.last_updated_at,
        "is_store_pickup": order.is_store_pickup,
        "priority": "HIGH" if order.service_level_category in {"NextDay", "SameDay"} else "",
        "synced_at": timezone.now(),
    }


def create_order_shipment(order: Order, items: list[OrderItem], *, seller_account: str, user=None) -> Shipment:
    """A new MFN order in our tables: one line per item, with the units still to ship."""
    status = programmes.MFN_ORDER_STATUSES[order.status]
    with transaction.atomic():
        shipment, created = Shipment.objects.get_or_create(amazon_id=order.order_id, defaults={
            **_order_values(order, seller_account), "status": status,
            "raw": {"order": order.raw, "items": [i.raw for i in items]},
            "units_count": sum(max(0, i.quantity_ordered - i.quantity_shipped) for i in items),
            "requires_serials": any(i.serial_required for i in items),
            "gift_wrap": any(i.gift_message for i in items),
        })
        if not created:
            return shipment
        for item in items:
            LineItem.objects.create(
                shipment=shipment, line_item_id=item.order_item_id[:64], merchant_sku=item.sku[:128],
                number_of_units=max(0, item.quantity_ordered - item.quantity_shipped),
                serial_number_requirement=Requirement.REQUIRED if item.serial_required else "",
                gift_message=item.gift_message,
            )
        channel = "store pickup" if order.is_store_pickup else "seller-fulfilled"
        record_event(shipment, ShipmentEvent.Kind.SYNCED, f"New Amazon order ({channel}), status {order.status}.",
                     user=user, data={"source": "sync", "channel": "MFN"})
    return shipment


def update_order_shipment(shipment: Shipment, order: Order, *, user=None) -> bool:
    """Amazon's view of an order we hold. Its status only moves forward (a listing may lag behind a
    confirmation of ours, and Amazon knows nothing of Ready for pickup); a cancellation always wins.
    Returns whether the status changed."""
    amazon = programmes.MFN_ORDER_STATUSES.get(order.status)
    with transaction.atomic():
        locked = Shipment.objects.select_for_update().get(pk=shipment.pk)
        old = locked.status
        if amazon is not None and amazon != old and (
            amazon == Status.CANCELLED or programmes.mfn_status_rank(amazon) > programmes.mfn_status_rank(old)
        ) and old not in programmes.CLOSED_STATUSES:
            locked.status = amazon
        locked.ship_by = order.latest_ship_date or locked.ship_by
        locked.amazon_last_updated = order.last_updated_at
        locked.synced_at = timezone.now()
        locked.raw = {**(locked.raw or {}), "order": order.raw}
        locked.save()
        if locked.status != old:
            record_event(locked, ShipmentEvent.Kind.STATUS_CHANGED, f"Amazon status {old} → {locked.status}.",
                         user=user, data={"from": old, "to": locked.status, "source": "sync"})
            if locked.status == Status.CANCELLED:
                on_cancelled(locked, user)
            elif locked.status == Status.SHIPPED:
                # Every unit is out at Amazon (its settings may confirm a package when its label is bought).
                locked.packages.filter(shipped_at__isnull=True).update(shipped_at=timezone.now(),
                                                                       state=Package.State.CONFIRMED)
                from fulfillment.claims.services import release_finished

                release_finished(locked)
            return True
    return False
