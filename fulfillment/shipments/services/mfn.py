"""Seller-fulfilled (MFN) Amazon orders at the station: their sync and their step handlers.

An MFN order is stored as a `Shipment` (channel MFN, amazon_id = AmazonOrderId) with one line per
order item, so it joins the same queue and is packed with the same package form. Its steps are in
the one registry (step_kinds: MFN_*). Per package: a label bought through Merchant Fulfillment
(the cheapest service that leaves by the order's ship-by, or the one the packer chose), printed
like any label, then the package confirmed shipped with confirmShipment under a packageReferenceId
STORED BEFORE the request goes (Amazon never says it back; a correction repeats it with the same
items and quantities). Store pickup orders go Ready for pickup, then Picked up or Refused.

Amazon's own settings may confirm a package when its label is bought: confirming it again with
another reference id is then refused, and the re-read that follows finds the package by its
tracking number and adopts Amazon's reference id.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from fulfillment.amazon.client import Order, OrderItem, get_client
from fulfillment.amazon.errors import AmazonBadRequest, AmazonError
from fulfillment.documents.models import Document

from .. import programmes
from ..models import (
    Channel,
    LineItem,
    Package,
    Programme,
    Requirement,
    Shipment,
    ShipmentEvent,
    ShipmentStep,
    ShippingOption,
    Status,
    SyncCursor,
)
from ..step_kinds import has_live_label
from ..workflow import ShipmentError, StepNotAllowed
from .events import record_event
from .progress import advance
from .sync import on_cancelled, seller_account_named

logger = logging.getLogger(__name__)

Kind = ShipmentStep.Kind
MFN_CURSOR = "MFN"
BUYING = "create_shipment_sent_at"  # in a buy step's result while createShipment may be in flight  # SyncCursor.status of an account's getOrders cursor
FIRST_SYNC_LOOKBACK = timedelta(days=30)
OPEN_ORDER_STATUSES = ("Unshipped", "PartiallyShipped")
KNOWN_ORDER_STATUSES = (*OPEN_ORDER_STATUSES, "Shipped", "Canceled")
_GRAMS = {"G": Decimal(1), "KG": Decimal(1000)}
_OUNCES = {"OZ": Decimal(1), "LB": Decimal(16)}
_CENTIMETRES = {"CM": Decimal(1), "M": Decimal(100)}


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
            return True
    return False


# --- What a label request says about a package ------------------------------------------------------


def _country(shipment: Shipment) -> str:
    return str(((shipment.raw or {}).get("order") or {}).get("ShippingAddress", {}).get("CountryCode") or "")


def ship_from(shipment: Shipment) -> dict:
    country = _country(shipment)
    address = (settings.MFN_SHIP_FROM or {}).get(country)
    if not address:
        raise ShipmentError(f"Packbench has no ship-from address for {country or 'this country'}: "
                            "ask your supervisor to set MFN_SHIP_FROM.")
    return {"Name": f"Packbench {shipment.location_id}"[:30], "Email": f"{shipment.location_id.lower()}@packbench.example",
            **address, "CountryCode": country}


def _signature_needed(shipment: Shipment, line_ids: set[str]) -> bool:
    return any((item.get("ShippingConstraints") or {}).get("SignatureConfirmation") == "MANDATORY"
               for item in (shipment.raw or {}).get("items") or [] if item.get("OrderItemId") in line_ids)


def package_items(package: Package) -> dict[str, int]:
    return {row.line_item.line_item_id: row.quantity for row in package.items.select_related("line_item")
            if row.quantity}


def label_request(shipment: Shipment, package: Package) -> dict:
    """Merchant Fulfillment's ShipmentRequestDetails for one packed package."""
    items = package_items(package)
    if not items:
        raise StepNotAllowed(f"Package {package.position} holds no item: pack it first.")
    if package.weight_unit in _GRAMS:
        weight = {"Value": float(package.weight * _GRAMS[package.weight_unit]), "Unit": "g"}
    else:
        weight = {"Value": float(package.weight * _OUNCES[package.weight_unit]), "Unit": "oz"}
    if package.dimension_unit in _CENTIMETRES:
        factor, unit = _CENTIMETRES[package.dimension_unit], "centimeters"
    else:
        factor, unit = Decimal(1), "inches"
    experience = ("DeliveryConfirmationWithSignature" if _signature_needed(shipment, set(items))
                  else "DeliveryConfirmationWithoutSignature")
    return {
        "AmazonOrderId": shipment.amazon_id,
        "ItemList": [{"OrderItemId": item, "Quantity": n} for item, n in items.items()],
        "ShipFromAddress": ship_from(shipment),
        "PackageDimensions": {side.capitalize(): float(getattr(package, side) * factor)
                              for side in ("length", "width", "height")}
        | {"Unit": unit},
        "Weight": weight,
        "ShippingServiceOptions": {"DeliveryExperience": experience, "CarrierWillPickUp": False},
    }


def _package_of(step: ShipmentStep) -> Package:
    wanted = str(step.payload.get("package") or "")
    package = step.shipment.packages.filter(pk=int(wanted)).first() if wanted.isdigit() else None
    if package is None:
        raise StepNotAllowed("That package is no longer part of this order.")
    return package


# --- Step handlers (named by step_kinds.STEP_KINDS) ---------------------------------------------------


def mfn_services(step, client) -> dict:
    """The services that can carry the package, with price and promised delivery, kept as its options."""
    shipment = step.shipment
    package = _package_of(step)
    offered = client.get_eligible_shipment_services(label_request(shipment, package))
    with transaction.atomic():
        package.shipping_options.all().delete()
        for service in offered.services:
            ShippingOption.objects.create(
                shipment=shipment, package=package, option_id=service.service_id[:255], ship_by="SELLER",
                carrier_name=service.carrier[:128], ship_method=service.name[:128],
                pickup_start=service.ship_date, time_slot_start=service.earliest_delivery,
                time_slot_end=service.latest_delivery,
                is_recommended=service is offered.cheapest_by(shipment.ship_by),
                raw={"rate": str(service.rate), "currency": service.currency,
                     "in_time": service.ships_by(shipment.ship_by), "excluded": list(service.excluded_benefits)},
            )
    return {"services": len(offered.services), "unavailable": offered.unavailable_carriers}


def mfn_buy_label(step, client) -> dict:
    """Buy the package's label: the service the packer chose, or the cheapest that leaves by ship-by."""
    shipment = step.shipment
    package = _package_of(step)
    if has_live_label(package):
        raise StepNotAllowed(f"Package {package.position} already has a label.")
    details = label_request(shipment, package)
    offered = client.get_eligible_shipment_services(details)
    wanted = step.payload.get("service_id")
    if wanted:
        service = next((s for s in offered.services if s.service_id == wanted), None)
        if service is None:
            raise ShipmentError("That service is no longer offered for this package. Show the prices again and "
                                "choose another.")
    else:
        service = offered.cheapest_by(shipment.ship_by)
        if service is None:
            raise ShipmentError("No service leaves by the order's ship-by date. Show the prices and choose one "
                                "yourself, or tell your supervisor.")
    # Noted before the purchase: a worker that dies after this point may have bought the label.
    ShipmentStep.objects.filter(pk=step.pk).update(result={BUYING: timezone.now().isoformat(),
                                                           "service": service.service_id})
    try:
        bought = client.create_shipment(details, service.service_id, offer_id=service.offer_id or None)
    except AmazonError as exc:
        if exc.outcome_unknown:  # buying again could buy two labels
            raise ShipmentError("Amazon did not say whether the label was bought. Do not buy again: ask your "
                                "supervisor to check the order's labels in Seller Central.") from exc
        raise
    Package.objects.filter(pk=package.pk).update(
        label_shipment_id=bought.shipment_id[:64], service_id=(bought.service_id or service.service_id)[:128],
        service_name=(bought.service_name or service.name)[:128], label_cost=bought.rate or service.rate,
        label_currency=(bought.currency or service.currency)[:3], carrier_name=(bought.carrier or service.carrier)[:128],
        tracking_id=bought.tracking_id[:128], label_voided_at=None, label_printed_at=None,
        label_status=Package.LabelStatus.GENERATED, label_error="")
    Shipment.objects.filter(pk=shipment.pk).update(
        tracking_ids=[t for t in shipment.packages.values_list("tracking_id", flat=True) if t])
    record_event(shipment, ShipmentEvent.Kind.OPTION_CHOSEN,
                 f"Label bought for package {package.position}: {service.name}, {bought.rate or service.rate} "
                 f"{bought.currency or service.currency}, tracking {bought.tracking_id}.", user=step.requested_by,
                 data={"package": package.package_id, "label_shipment_id": bought.shipment_id,
                       "service": service.service_id})
    result = {"label_shipment_id": bought.shipment_id, "service": service.service_id, "cost": str(service.rate)}
    return {**result, "documents": [_store_label(step, package, bought)]}


def _store_label(step, package: Package, bought) -> int:
    """Keep the label file once it is known to be a label (formats.checked_label). Otherwise the
    package says why, and MFN_FETCH_LABEL asks Amazon for the same label again."""
    from fulfillment.documents import formats
    from fulfillment.documents.errors import DocumentError

    from .documents import _store_once

    shipment = step.shipment
    try:
        if bought.label is None:
            raise DocumentError("Amazon sent no label file with the purchase.")
        checked = formats.checked_label(bought.label.content)
        document, _ = _store_once(shipment, package, Document.Kind.LABEL, bought.label.content,
                                  original_format=checked.kind, content_type=checked.media_type,
                                  tracking_id=bought.tracking_id, carrier_name=bought.carrier)
    except DocumentError as exc:
        Package.objects.filter(pk=package.pk).update(label_status=Package.LabelStatus.FAILED,
                                                     label_error=exc.packer_message)
        raise ShipmentError(f"The label is bought but its file could not be stored: {exc.packer_message} "
                            "Press “Get the label again”.") from exc
    Package.objects.filter(pk=package.pk).update(label_status=Package.LabelStatus.READY, label_error="")
    record_event(shipment, ShipmentEvent.Kind.DOCUMENT_STORED,
                 f"Label for package {package.position} stored ({document.original_format}, tracking "
                 f"{bought.tracking_id}).", user=step.requested_by, data={"document": document.pk})
    return document.pk


def mfn_fetch_label(step, client) -> dict:
    """The bought label again, from Merchant Fulfillment's getShipment (nothing is bought)."""
    package = _package_of(step)
    return {"documents": [_store_label(step, package, client.get_mfn_shipment(package.label_shipment_id))]}


def next_reference_id(shipment: Shipment, taken_at_amazon=()) -> str:
    used = [int(r) for r in [*shipment.packages.exclude(reference_id="").values_list("reference_id", flat=True),
                             *taken_at_amazon] if str(r).isdigit()]
    return str(max(used, default=0) + 1)


def mfn_confirm(step, client) -> dict:
    """confirmShipment for one package, under its packageReferenceId, stored (committed) first.

    Amazon's packages of the order are read first (one getOrder): where buying the label already
    confirmed the package (Amazon's setting), its reference id is adopted and nothing is sent; a new
    reference id is one neither we nor Amazon used, so it can never correct another package."""
    shipment = step.shipment
    held = client.confirmed_packages(shipment.amazon_id)
    package = _package_of(step)
    if package.tracking_id and any(c.tracking_number == package.tracking_id for c in held):
        _adopt_amazons_package(client, shipment, package, held)
        return {**_confirmed(step, package), "adopted": True}
    with transaction.atomic():
        Shipment.objects.select_for_update().filter(pk=shipment.pk).first()  # one reference id at a time
        package = _package_of(step)
        if not package.reference_id:
            package.reference_id = next_reference_id(shipment, [c.reference_id for c in held])
            package.save(update_fields=["reference_id", "updated_at"])
    items = package_items(package)
    try:
        client.confirm_shipment(
            shipment.amazon_id, marketplace_id=shipment.marketplace_id, package_reference_id=package.reference_id,
            carrier_code=package.carrier_name or "Other", carrier_name=package.carrier_name or None,
            tracking_number=package.tracking_id, ship_date=timezone.now(), items=items,
            shipping_method=package.service_name or None)
    except AmazonBadRequest:
        if _adopt_amazons_package(client, shipment, package) is None:
            raise
    return _confirmed(step, package)


def _adopt_amazons_package(client, shipment, package, held=None) -> str | None:
    for confirmed in held if held is not None else client.confirmed_packages(shipment.amazon_id):
        if confirmed.tracking_number and confirmed.tracking_number == package.tracking_id:
            Package.objects.filter(pk=package.pk).update(reference_id=confirmed.reference_id[:16])
            package.reference_id = confirmed.reference_id
            record_event(shipment, ShipmentEvent.Kind.NOTE,
                         f"Amazon had confirmed package {package.position} when its label was bought "
                         f"(reference {confirmed.reference_id}); Packbench keeps Amazon's reference.",
                         data={"package": package.package_id, "reference_id": confirmed.reference_id})
            return confirmed.reference_id
    return None


def _confirmed(step, package) -> dict:
    shipment = step.shipment
    Package.objects.filter(pk=package.pk).update(shipped_at=timezone.now(), state=Package.State.CONFIRMED)
    shipped_units: dict[str, int] = {}
    for row in shipment.packages.filter(shipped_at__isnull=False).prefetch_related("items__line_item"):
        for item in row.items.all():
            shipped_units[item.line_item.line_item_id] = shipped_units.get(item.line_item.line_item_id, 0) + item.quantity
    order_shipped = all(shipped_units.get(line.line_item_id, 0) >= line.number_of_units
                        for line in shipment.line_items.all())
    if order_shipped:
        from fulfillment.claims.services import release_finished

        release_finished(shipment)
    return {"reference_id": package.reference_id, "package": package.package_id, "order_shipped": order_shipped}


def already_done(step, client) -> bool:
    """After an unclear answer or a lost worker: did Amazon do the step? A confirmation: its reference
    id (or the label's tracking number) among the order's packages means yes, and the order moves on.
    A label purchase its worker did not live to answer: Merchant Fulfillment lists no labels by order,
    so it is not bought again blindly; the packer is told to check first."""
    if step.kind == Kind.MFN_BUY_LABEL:
        package = _package_of(step)
        if has_live_label(package):
            return True
        sent = ShipmentStep.objects.filter(pk=step.pk).values_list("result", flat=True).first() or {}
        if BUYING in sent:
            raise ShipmentError("Packbench stopped while Amazon was selling this label, so it may be bought. Do "
                                "not buy again before your supervisor has checked the order's labels in Seller "
                                "Central (a label bought twice can be voided there).")
        return False
    if step.kind != Kind.MFN_CONFIRM:
        return False
    package = _package_of(step)
    for confirmed in client.confirmed_packages(step.shipment.amazon_id):
        if (package.reference_id and confirmed.reference_id == package.reference_id) or (
                package.tracking_id and confirmed.tracking_number == package.tracking_id):
            if confirmed.reference_id != package.reference_id:
                _adopt_amazons_package(client, step.shipment, package)
            advance(step, _confirmed(step, package))
            return True
    return False


def mfn_correct(step, client) -> dict:
    """Correct a confirmed package: the same reference id, items and quantities; the carrier and
    tracking number the packer typed."""
    shipment = step.shipment
    package = _package_of(step)
    carrier = step.payload["carrier_code"].strip()[:128]
    tracking = step.payload["tracking_number"].strip()[:128]
    client.confirm_shipment(
        shipment.amazon_id, marketplace_id=shipment.marketplace_id, package_reference_id=package.reference_id,
        carrier_code=carrier, carrier_name=carrier, tracking_number=tracking, ship_date=package.shipped_at or timezone.now(),
        items=package_items(package))
    Package.objects.filter(pk=package.pk).update(carrier_name=carrier, tracking_id=tracking)
    return {"reference_id": package.reference_id, "carrier": carrier, "tracking_number": tracking}


def mfn_void_label(step, client) -> dict:
    """cancelShipment: the label is void (its refund follows); the package may get a new one."""
    package = _package_of(step)
    voided = client.cancel_mfn_shipment(package.label_shipment_id)
    with transaction.atomic():
        Package.objects.filter(pk=package.pk).update(
            label_voided_at=timezone.now(), label_status=Package.LabelStatus.NONE, tracking_id="",
            label_printed_at=None)
        package.documents.filter(kind=Document.Kind.LABEL, superseded=False).update(
            superseded=True, regenerate_reason="label voided")
    return {"label_shipment_id": package.label_shipment_id, "status": voided.status}


def _pickup(step, client, status: str) -> dict:
    shipment = step.shipment
    client.update_shipment_status(shipment.amazon_id, marketplace_id=shipment.marketplace_id, status=status)
    if status != "ReadyForPickup":
        from fulfillment.claims.services import release_finished

        release_finished(shipment)
    return {"status": status}


def mfn_ready_for_pickup(step, client) -> dict:
    return _pickup(step, client, "ReadyForPickup")


def mfn_picked_up(step, client) -> dict:
    return _pickup(step, client, "PickedUp")


def mfn_refused(step, client) -> dict:
    return _pickup(step, client, "RefusedPickup")
