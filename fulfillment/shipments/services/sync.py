"""Amazon's view of shipments stored in ours: getShipments pages (the location sync) and getShipment
(a refresh). A status change, a cancellation and a shipment packed outside Packbench are recorded."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from fulfillment.amazon import schemas
from fulfillment.amazon.client import get_client
from fulfillment.amazon.errors import AmazonError
from fulfillment.stations.selectors import seller_account_for_location

from .. import workflow
from ..models import LineItem, LocationSync, Package, PackageLineItem, SerialNumber, Shipment, ShipmentEvent, ShipmentStep, Status
from .events import record_event

StepState = ShipmentStep.State
# Statuses fetched by sync: open work plus the endings a station must notice (cancel, shipped by a scan).
SYNC_STATUSES = (*workflow.OPEN_STATUSES, Status.CANCELLED, Status.SHIPPED)
FIRST_SYNC_CLOSED_LOOKBACK = timedelta(days=3)  # first sync: only recent cancellations/shipments


def _q2(value) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _q3(value) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


def _gift_message(gift: schemas.GiftAttributes | None) -> str:
    if gift is None or gift.gift_message is None or not gift.gift_message.content:
        return ""
    content = gift.gift_message.content
    try:  # the model says Document content is base64; samples send plain text: keep that as is
        decoded = base64.b64decode(content, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return content
    return decoded if decoded.replace("\n", " ").isprintable() else content


def _shipment_values(data: schemas.Shipment, seller_account: str | None) -> dict:
    """Our Shipment columns from Amazon's shipment, read with `seller_account` (None: the settings')."""
    raw = data.model_dump(mode="json", by_alias=True, exclude_none=True)
    info, shipping, requirements = data.shipment_info, data.shipping_info, data.shipment_requirements
    recommended = (shipping.recommended_packages or [None])[0]
    lines = data.line_items or []
    cancellations = [c for line in lines for c in (line.cancellations or [])]
    return {
        "seller_account": seller_account or settings.AMAZON_SELLER_ACCOUNT,
        "location_id": data.location_id,
        "marketplace_id": data.marketplace_attributes.marketplace_id,
        "channel_name": data.marketplace_attributes.channel_name,
        "shipping_type": shipping.shipping_type or "",
        "programme": workflow.programme_for(data.marketplace_attributes.channel_name, shipping.shipping_type),
        "status": data.status,
        "sub_status": data.sub_status or "",
        "status_reason": (data.reason or "")[:255],
        "priority": info.priority or "",
        "buyer_order_id": info.buyer_order_id,
        "shipment_type": info.shipment_type or Shipment.ShipmentType.NEW,
        "ship_by": shipping.expected_shipping_date_time_in_utc,
        "recommended_ship_method": shipping.recommended_ship_method or "",
        "amazon_created_at": data.creation_date_time,
        "amazon_last_updated": data.last_updated_date_time,
        "synced_at": timezone.now(),
        "invoice_requirement": requirements.invoice.requirement or "",
        "invoice_status": requirements.invoice.status or "",
        "pslip_requirement": requirements.p_slip.requirement or "",
        "pslip_status": requirements.p_slip.status or "",
        "recommended_length": _q2(recommended.dimensions.length.value) if recommended else None,
        "recommended_width": _q2(recommended.dimensions.width.value) if recommended else None,
        "recommended_height": _q2(recommended.dimensions.height.value) if recommended else None,
        "recommended_dimension_unit": recommended.dimensions.length.dimension_unit if recommended else "",
        "recommended_weight": _q3(recommended.weight.value) if recommended else None,
        "recommended_weight_unit": (recommended.weight.weight_unit or "").upper()[:2] if recommended else "",
        "units_count": sum(line.number_of_units for line in lines),
        "requires_serials": any(line.compliance_attributes.serial_number_requirement == "REQUIRED" for line in lines),
        "has_hazmat": any(line.compliance_attributes.hazmat_labels_requirement == "REQUIRED" for line in lines),
        "gift_wrap": any(line.gift_attributes and line.gift_attributes.gift_wrap_requirement == "REQUIRED" for line in lines),
        "multi_piece": any(line.piece_type == "MULTIPLE" for line in lines) or len(shipping.recommended_packages or []) > 1,
        "cancellation_type": cancellations[0].cancellation_type if cancellations else "",
        "cancellation_reason": (cancellations[0].cancellation_reason or "")[:255] if cancellations else "",
        "raw": raw,
    }


def upsert_shipment(data: schemas.Shipment, *, user=None, source: str = "sync", force: bool = False,
                    seller_account: str | None = None) -> Shipment:
    """Write Amazon's view of a shipment (and its line items and packages) into our tables.

    A page older than what we hold is ignored unless `force` (getShipment is always the truth).
    Status changes and cancellations are recorded as events; a cancellation releases the
    shipment's serial numbers and ends its waiting steps."""
    values = _shipment_values(data, seller_account)
    with transaction.atomic():
        shipment = Shipment.objects.select_for_update().filter(amazon_id=data.id).first()
        if shipment is None:
            shipment = Shipment.objects.create(amazon_id=data.id, **values)
            old_status = None
            record_event(shipment, ShipmentEvent.Kind.SYNCED, _new_shipment_message(data), user=user,
                         data={"source": source})
        else:
            if (
                not force
                and shipment.amazon_last_updated
                and data.last_updated_date_time
                and data.last_updated_date_time < shipment.amazon_last_updated
            ):
                return shipment  # an older page than what we hold
            old_status = shipment.status
            for name, value in values.items():
                setattr(shipment, name, value)
            shipment.save()
        for line in data.line_items or []:
            LineItem.objects.update_or_create(shipment=shipment, line_item_id=line.shipment_line_item_id,
                                              defaults=_line_item_values(line))
        _after_store(shipment, data, old_status, user=user, source=source)
    return shipment


def _new_shipment_message(data: schemas.Shipment) -> str:
    return f"New shipment, status {data.status}."


def _after_store(shipment: Shipment, data: schemas.Shipment, old_status: str | None, *, user, source: str) -> None:
    """What follows from Amazon's view once the shipment and its lines are stored."""
    _merge_amazon_packages(shipment, data.packages or [])
    if old_status is not None and old_status != shipment.status:
        record_event(shipment, ShipmentEvent.Kind.STATUS_CHANGED, f"Amazon status {old_status} → {shipment.status}.",
                     user=user, data={"from": old_status, "to": shipment.status, "source": source})
    if shipment.status == Status.CANCELLED and old_status != Status.CANCELLED:
        _on_cancelled(shipment, user)
    if shipment.status in {Status.SHIPPED, Status.DELIVERED}:
        shipment.packages.filter(shipped_at__isnull=True).update(shipped_at=timezone.now())


def _line_item_values(line: schemas.ShipmentLineItem) -> dict:
    """Our LineItem columns (but its shipment and id) from Amazon's line item."""
    compliance, gift = line.compliance_attributes, line.gift_attributes
    return {
        "merchant_sku": line.merchant_sku,
        "number_of_units": line.number_of_units,
        "piece_type": line.piece_type or "",
        "serial_number_requirement": compliance.serial_number_requirement or "",
        "hazmat_labels_requirement": compliance.hazmat_labels_requirement or "",
        "country_of_origin_requirement": compliance.country_of_origin_requirement or "",
        "item_value_requirement": compliance.item_value_requirement or "",
        "hazmat_labels": line.hazmat_labels or [],
        "recommended_country_of_origin": (line.recommended_country_of_origin or "")[:2],
        "recommended_currency_code": (line.recommended_currency_code or "")[:3],
        "hsn_code": line.hsn_code or "",
        "gift_wrap_requirement": gift.gift_wrap_requirement if gift else "",
        "gift_wrap_label": (gift.gift_wrap_label or "")[:255] if gift else "",
        "gift_message": _gift_message(gift),
        "cancelled_quantity": sum(c.cancelled_quantity for c in line.cancellations or []),
    }


def store_shipment_page(page: list[schemas.Shipment], *, user=None, source: str = "sync",
                        seller_account: str | None = None) -> dict[str, str | None]:
    """Store one getShipments page in one transaction. Returns each shipment's status before, None
    for a new one. Shipments we do not hold yet (all of them on a location's first sync) are
    written in bulk; the ones we hold go through `upsert_shipment`, which records what changed."""
    page = list({data.id: data for data in page}.values())  # the last word on a shipment listed twice
    try:
        with transaction.atomic():
            before = dict(Shipment.objects.filter(amazon_id__in=[d.id for d in page]).values_list("amazon_id", "status"))
            _create_shipments([d for d in page if d.id not in before], user=user, source=source,
                              seller_account=seller_account)
            for data in page:
                if data.id in before:
                    upsert_shipment(data, user=user, source=source, seller_account=seller_account)
    except IntegrityError:  # a refresh stored one of the new shipments meanwhile: one by one then
        before = {}
        with transaction.atomic():
            for data in page:
                before[data.id] = Shipment.objects.filter(amazon_id=data.id).values_list("status", flat=True).first()
                upsert_shipment(data, user=user, source=source, seller_account=seller_account)
    return {data.id: before.get(data.id) for data in page}


def _create_shipments(new: list[schemas.Shipment], *, user, source: str, seller_account: str | None) -> None:
    """Insert shipments we have never seen, with their line items and history, in a few queries."""
    if not new:
        return
    created = Shipment.objects.bulk_create([Shipment(amazon_id=d.id, **_shipment_values(d, seller_account))
                                            for d in new])
    if any(shipment.pk is None for shipment in created):  # a database that returns no ids from bulk inserts
        ids = dict(Shipment.objects.filter(amazon_id__in=[d.id for d in new]).values_list("amazon_id", "pk"))
        for shipment in created:
            shipment.pk = ids[shipment.amazon_id]
    LineItem.objects.bulk_create([
        LineItem(shipment=shipment, line_item_id=line.shipment_line_item_id, **_line_item_values(line))
        for shipment, data in zip(created, new) for line in data.line_items or []
    ])
    acting = user if getattr(user, "is_authenticated", False) else None
    ShipmentEvent.objects.bulk_create([
        ShipmentEvent(shipment=shipment, user=acting, kind=ShipmentEvent.Kind.SYNCED,
                      message=_new_shipment_message(data), data={"source": source})
        for shipment, data in zip(created, new)
    ])
    for shipment, data in zip(created, new):
        if data.packages or shipment.status in {Status.CANCELLED, Status.SHIPPED, Status.DELIVERED}:
            _after_store(shipment, data, None, user=user, source=source)


def _merge_amazon_packages(shipment: Shipment, amazon_packages: list[schemas.Package]) -> None:
    """Amazon listing a package id confirms our package (also after an unclear createPackages)."""
    ours = {p.package_id: p for p in shipment.packages.all()}
    lines = {li.line_item_id: li for li in shipment.line_items.all()}
    for position, remote in enumerate(amazon_packages, start=1):
        package = ours.get(remote.id)
        payload = remote.to_amazon()
        payload.pop("status", None)
        if package is None:  # packed outside Packbench: show it as Amazon has it
            package = _package_from_amazon(shipment, remote, position, lines)
        elif package.state == Package.State.SENT or not package.known_to_amazon:
            package.state = Package.State.CONFIRMED
            package.known_to_amazon = True
            package.sent_payload = payload
        package.amazon_status = remote.status or ""
        package.save()


def _package_from_amazon(shipment, remote: schemas.Package, position: int, lines) -> Package:
    dims = remote.dimensions
    payload = remote.to_amazon()
    payload.pop("status", None)
    package = Package.objects.create(
        shipment=shipment, package_id=remote.id, position=position,
        length=_q2(dims.length.value), width=_q2(dims.width.value), height=_q2(dims.height.value),
        dimension_unit=dims.length.dimension_unit, weight=_q3(remote.weight.value),
        weight_unit=remote.weight.weight_unit.upper()[:2], hazmat_labels=remote.hazmat_labels or [],
        handling=remote.package_handling_requirements or Package.Handling.NORMAL,
        state=Package.State.CONFIRMED, known_to_amazon=True, sent_payload=payload,
    )
    for item in remote.package_line_items:
        line = lines.get(item.package_line_item_id)
        if line is not None:
            PackageLineItem.objects.create(
                package=package, line_item=line, quantity=item.quantity, pieces=item.pieces,
                serial_numbers=item.serial_numbers or [], country_of_origin=item.country_of_origin or "",
                item_value=item.item_value.value if item.item_value else None,
                item_value_currency=item.item_value.currency_code if item.item_value else "",
            )
    return package


def _on_cancelled(shipment: Shipment, user) -> None:
    SerialNumber.objects.filter(shipment=shipment).update(released=True)
    reason = shipment.cancellation_reason or shipment.cancellation_type or "no reason given"
    stopped = shipment.steps.filter(status=StepState.PENDING).update(
        status=StepState.FAILED, error_code="CANCELLED", finished_at=timezone.now(),
        error_message="The shipment was cancelled, so this step was not sent. Put the items back.",
    )
    record_event(shipment, ShipmentEvent.Kind.CANCELLED, f"Shipment cancelled ({reason}). Do not ship it.",
                 user=user, data={"type": shipment.cancellation_type, "steps_stopped": stopped})


def refresh_shipment(shipment_id: str, *, user=None, client=None) -> Shipment:
    """Re-read one shipment from Amazon (getShipment) and store it. `shipment_id` is Amazon's id.

    Raises AmazonError (with `.packer_message`) when Amazon cannot be read."""
    if client is None:
        known = Shipment.objects.filter(amazon_id=shipment_id).values_list("seller_account", flat=True).first()
        with get_client(seller_account_named(known), background=True) as own:
            return refresh_shipment(shipment_id, user=user, client=own)
    data = client.get_shipment(shipment_id)
    return upsert_shipment(data, user=user, source="refresh", force=True, seller_account=client.credentials.seller_account)


def seller_account_named(name: str | None):
    """The SellerAccount a shipment was read with, or None when that was the settings' account."""
    from fulfillment.accounts.models import SellerAccount

    if not name or name == settings.AMAZON_SELLER_ACCOUNT:
        return None
    return SellerAccount.objects.filter(name=name).first()


@dataclass
class SyncResult:
    location_id: str
    seen: int = 0
    created: int = 0
    status_changes: int = 0
    cancelled: list[str] = field(default_factory=list)


def sync_location(location_id: str, *, user=None, statuses=SYNC_STATUSES, page_size: int = 100) -> SyncResult:
    """Incremental sync of one location: every page of every status of interest updated since the
    last complete sync (minus an overlap for clock skew and late writes). The cursor moves only
    when every status was read, so a failure never skips shipments."""
    overlap = timedelta(seconds=getattr(settings, "SHIPMENT_SYNC_OVERLAP_SECONDS", 120))
    state, _ = LocationSync.objects.get_or_create(location_id=location_id)
    started = timezone.now()
    state.last_attempt_at = started
    state.save(update_fields=["last_attempt_at"])
    since = state.last_synced_at - overlap if state.last_synced_at else None
    result = SyncResult(location_id=location_id)
    try:
        with get_client(seller_account_for_location(location_id), background=True) as client:
            for status in statuses:
                after = since
                if after is None and status in workflow.CLOSED_STATUSES:
                    after = started - FIRST_SYNC_CLOSED_LOOKBACK
                pages = client.iter_shipment_pages(status=status, location_id=location_id,
                                                   last_updated_after=after, max_results=page_size)
                for page in pages:
                    before = store_shipment_page(page, user=user, seller_account=client.credentials.seller_account)
                    now = dict(Shipment.objects.filter(amazon_id__in=before).values_list("amazon_id", "status"))
                    for amazon_id, old in before.items():
                        result.seen += 1
                        if old is None:
                            result.created += 1
                        elif old != now.get(amazon_id):
                            result.status_changes += 1
                            if now.get(amazon_id) == Status.CANCELLED:
                                result.cancelled.append(amazon_id)
    except AmazonError as exc:
        state.last_error = exc.packer_message
        state.save(update_fields=["last_error"])
        raise
    state.last_synced_at = started
    state.last_error = ""
    state.save(update_fields=["last_synced_at", "last_error"])
    return result
