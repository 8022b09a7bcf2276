"""Amazon's view of shipments stored in ours: getShipments pages (the sync, per seller account and
status) and getShipment (a refresh). A status change, a cancellation, a shipment packed outside
Packbench and a status of ours Amazon contradicts are recorded.

A step's success moves our status on without asking Amazon (services/progress). Amazon's view of
the shipment read before that moment (a sync page in flight, a refresh racing the step) is not
stored; a view read after it that still differs, past a grace period, means Amazon disagrees: its
status wins and the shipment says so."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from pydantic import TypeAdapter, ValidationError

from fulfillment.amazon import schemas
from fulfillment.amazon.client import ShipmentsPage, get_client
from fulfillment.amazon.client import UnreadableShipment as UnreadablePageShipment
from fulfillment.amazon.errors import AmazonError, AmazonUnexpectedResponse
from fulfillment.stations.selectors import locations_by_seller_account

from .. import programmes
from ..models import (
    LineItem,
    Package,
    PackageLineItem,
    SerialNumber,
    Shipment,
    ShipmentEvent,
    ShipmentStep,
    Status,
    SyncCursor,
    UnreadableShipment,
)
from .events import record_event

StepState = ShipmentStep.State
SYNC_STATUSES = programmes.SYNC_STATUSES
FIRST_SYNC_CLOSED_LOOKBACK = timedelta(days=3)  # first sync: only recent cancellations/shipments
# Statuses an outside event moves a shipment to (a cancellation, the carrier's scan, a delivery):
# Amazon's word on them is never an old view, and never a disagreement with a step of ours.
_OUTSIDE_ENDINGS = {Status.CANCELLED, Status.SHIPPED, Status.DELIVERED}

# The model's `DateTime`: how a shipment's lastUpdatedDateTime is read (`_not_to_read` reads it raw).
_AMAZON_TIME = TypeAdapter(schemas.DateTime)


def disagreement_grace() -> timedelta:
    """How long after a step moved our status a differing status from the sync is taken for a view
    Amazon gave before our write (or has not caught up with yet) rather than a disagreement."""
    return timedelta(seconds=getattr(settings, "SHIPMENT_DISAGREE_GRACE_SECONDS", 60))


# --- Our columns ---------------------------------------------------------------------------------
# Amazon's codes may grow longer than a column (a new priority, a unit spelled out): they are cut to
# fit rather than fail the insert. The values that name a shipment are never cut: one that does not
# fit makes the shipment unreadable, listed on the board (`storable_problems`).

_WIDTHS: dict[type, dict[str, int]] = {}


def fit_columns(model, values: dict) -> dict:
    """`values` for `model`, every string cut to its column (see above)."""
    widths = _WIDTHS.get(model)
    if widths is None:
        widths = _WIDTHS[model] = {f.name: f.max_length for f in model._meta.concrete_fields
                                   if getattr(f, "max_length", None) and f.get_internal_type() == "CharField"}
    return {name: value[:widths[name]] if isinstance(value, str) and name in widths else value
            for name, value in values.items()}


def storable_problems(data: schemas.Shipment) -> list[str]:
    """Why this shipment cannot be stored although it fits Amazon's model: a value that names it (or
    one of its lines) is longer than our column. Field names only, never the values."""
    problems = []
    named = (("id", Shipment, "amazon_id", data.id), ("locationId", Shipment, "location_id", data.location_id),
             ("marketplaceAttributes.marketplaceId", Shipment, "marketplace_id",
              data.marketplace_attributes.marketplace_id),
             ("shipmentInfo.buyerOrderId", Shipment, "buyer_order_id", data.shipment_info.buyer_order_id),
             ("status", Shipment, "status", data.status))
    lines = [(f"lineItems.{n}.{field}", LineItem, column, value)
             for n, line in enumerate(data.line_items or [])
             for field, column, value in (("shipmentLineItemId", "line_item_id", line.shipment_line_item_id),
                                          ("merchantSku", "merchant_sku", line.merchant_sku))]
    for where, model, column, value in (*named, *lines):
        width = model._meta.get_field(column).max_length
        if value is not None and len(value) > width:
            problems.append(f"{where}: longer than the {width} characters Packbench stores")
    return problems


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
    values = {
        "seller_account": seller_account or settings.AMAZON_SELLER_ACCOUNT,
        "location_id": data.location_id,
        "marketplace_id": data.marketplace_attributes.marketplace_id,
        "channel_name": data.marketplace_attributes.channel_name,
        "shipping_type": shipping.shipping_type or "",
        "programme": programmes.programme_for(data.marketplace_attributes.channel_name, shipping.shipping_type),
        "status": data.status,
        "sub_status": data.sub_status or "",
        "status_reason": data.reason or "",
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
        "recommended_weight_unit": (recommended.weight.weight_unit or "").upper() if recommended else "",
        "units_count": sum(line.number_of_units for line in lines),
        "requires_serials": any(line.compliance_attributes.serial_number_requirement == "REQUIRED" for line in lines),
        "has_hazmat": any(line.compliance_attributes.hazmat_labels_requirement == "REQUIRED" for line in lines),
        "gift_wrap": any(line.gift_attributes and line.gift_attributes.gift_wrap_requirement == "REQUIRED" for line in lines),
        "multi_piece": any(line.piece_type == "MULTIPLE" for line in lines) or len(shipping.recommended_packages or []) > 1,
        "cancellation_type": cancellations[0].cancellation_type if cancellations else "",
        "cancellation_reason": (cancellations[0].cancellation_reason or "") if cancellations else "",
        "raw": raw,
    }
    return fit_columns(Shipment, values)


def upsert_shipment(data: schemas.Shipment, *, user=None, source: str = "sync", force: bool = False,
                    seller_account: str | None = None, read_at=None) -> Shipment:
    """Write Amazon's view of a shipment (and its line items and packages) into our tables.

    `read_at`: when Amazon was asked (default: now). A page older than what we hold is ignored unless
    `force` (getShipment is always the truth); so is a view asked before a step of ours moved the
    status on (for a page, before that plus the grace period: the sync has no other way to tell an old
    view). A status change, a cancellation and Amazon contradicting a step's status are recorded; a
    cancellation releases the shipment's serial numbers and ends its waiting steps."""
    values = _shipment_values(data, seller_account)
    read_at = read_at or timezone.now()
    disagreed = None
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
            if _predates_our_step(shipment, data.status, read_at, timedelta(0) if force else disagreement_grace()):
                return shipment
            old_status = shipment.status
            if shipment.local_status_at is not None and data.status != old_status \
                    and data.status not in _OUTSIDE_ENDINGS:
                disagreed = old_status
                shipment.disagreed_at, shipment.disagreed_status = timezone.now(), old_status
            shipment.local_status_at = None  # Amazon's view is stored: it agrees, or it wins
            for name, value in values.items():
                setattr(shipment, name, value)
            shipment.save()
        _store_line_items(shipment, data.line_items or [])
        if disagreed:
            record_event(shipment, ShipmentEvent.Kind.AMAZON_DISAGREES,
                         f"Amazon disagrees: Packbench had {disagreed}, Amazon says {shipment.status}. "
                         f"Amazon's status is kept.", user=user,
                         data={"ours": disagreed, "amazon": shipment.status, "source": source})
        _after_store(shipment, data, old_status, user=user, source=source)
    return shipment


def _predates_our_step(shipment: Shipment, amazon_status: str, read_at, grace: timedelta) -> bool:
    """Whether Amazon's differing status was read before a step of ours moved the status (plus
    `grace`): that view does not know our write yet. Outside endings always count."""
    if shipment.local_status_at is None or amazon_status == shipment.status or amazon_status in _OUTSIDE_ENDINGS:
        return False
    return read_at < shipment.local_status_at + grace


def _new_shipment_message(data: schemas.Shipment) -> str:
    return f"New shipment, status {data.status}."


def _after_store(shipment: Shipment, data: schemas.Shipment, old_status: str | None, *, user, source: str) -> None:
    """What follows from Amazon's view once the shipment and its lines are stored."""
    _merge_amazon_packages(shipment, data.packages or [])
    if old_status is not None and old_status != shipment.status:
        record_event(shipment, ShipmentEvent.Kind.STATUS_CHANGED, f"Amazon status {old_status} → {shipment.status}.",
                     user=user, data={"from": old_status, "to": shipment.status, "source": source})
    if shipment.status == Status.CANCELLED and old_status != Status.CANCELLED:
        on_cancelled(shipment, user)
    if shipment.status in {Status.SHIPPED, Status.DELIVERED}:
        shipment.packages.filter(shipped_at__isnull=True).update(shipped_at=timezone.now())


def _store_line_items(shipment: Shipment, lines: list[schemas.ShipmentLineItem]) -> None:
    """Amazon's lines of a shipment we hold: new ones created, the columns that changed updated. Most
    reads of a shipment change none of them (a status moved on), so they cost one query, no writes."""
    held = {row.line_item_id: row for row in shipment.line_items.all()}
    for line in lines:
        values = _line_item_values(line)
        row = held.get(line.shipment_line_item_id)
        if row is None:
            LineItem.objects.create(shipment=shipment, line_item_id=line.shipment_line_item_id, **values)
            continue
        changed = [name for name, value in values.items() if getattr(row, name) != value]
        for name in changed:
            setattr(row, name, values[name])
        if changed:
            row.save(update_fields=changed)


def _line_item_values(line: schemas.ShipmentLineItem) -> dict:
    """Our LineItem columns (but its shipment and id) from Amazon's line item."""
    compliance, gift = line.compliance_attributes, line.gift_attributes
    return fit_columns(LineItem, {
        "merchant_sku": line.merchant_sku,
        "number_of_units": line.number_of_units,
        "piece_type": line.piece_type or "",
        "serial_number_requirement": compliance.serial_number_requirement or "",
        "hazmat_labels_requirement": compliance.hazmat_labels_requirement or "",
        "country_of_origin_requirement": compliance.country_of_origin_requirement or "",
        "item_value_requirement": compliance.item_value_requirement or "",
        "hazmat_labels": line.hazmat_labels or [],
        "recommended_country_of_origin": line.recommended_country_of_origin or "",
        "recommended_currency_code": line.recommended_currency_code or "",
        "hsn_code": line.hsn_code or "",
        "gift_wrap_requirement": gift.gift_wrap_requirement if gift else "",
        "gift_wrap_label": (gift.gift_wrap_label or "") if gift else "",
        "gift_message": _gift_message(gift),
        "cancelled_quantity": sum(c.cancelled_quantity for c in line.cancellations or []),
    })


def store_shipment_page(page: list[schemas.Shipment], *, user=None, source: str = "sync",
                        seller_account: str | None = None, read_at=None) -> dict[str, str | None]:
    """Store one getShipments page in one transaction. Returns each shipment's status before, None
    for a new one. Shipments we do not hold yet (all of them on a location's first sync) are
    written in bulk; the ones we hold go through `upsert_shipment`, which records what changed."""
    page = list({data.id: data for data in page}.values())  # the last word on a shipment listed twice
    try:
        with transaction.atomic():
            held = {amazon_id: rest for amazon_id, *rest in Shipment.objects.filter(amazon_id__in=[d.id for d in page])
                    .values_list("amazon_id", "status", "amazon_last_updated", "local_status_at")}
            before = {amazon_id: status for amazon_id, (status, _, _) in held.items()}
            _create_shipments([d for d in page if d.id not in before], user=user, source=source,
                              seller_account=seller_account)
            # The sync's overlap lists shipments again that have not changed since we stored them: they
            # are only marked as seen now (one UPDATE), not written again with their lines and packages.
            unchanged = [d.id for d in page if d.id in held and _unchanged(held[d.id], d.status, d.last_updated_date_time)]
            if unchanged:
                Shipment.objects.filter(amazon_id__in=unchanged).update(synced_at=timezone.now())
            for data in page:
                if data.id in before and data.id not in unchanged:
                    upsert_shipment(data, user=user, source=source, seller_account=seller_account, read_at=read_at)
    except IntegrityError:  # a refresh stored one of the new shipments meanwhile: one by one then
        before = {}
        with transaction.atomic():
            for data in page:
                before[data.id] = Shipment.objects.filter(amazon_id=data.id).values_list("status", flat=True).first()
                upsert_shipment(data, user=user, source=source, seller_account=seller_account, read_at=read_at)
    return {data.id: before.get(data.id) for data in page}


def _unchanged(held: list, status, last_updated) -> bool:
    """Amazon lists the shipment (`status`, `last_updated`) as we stored it (`held`: status, last
    update, local status time): same status, same last update, no step of ours waiting for Amazon
    to agree."""
    held_status, held_last_updated, local_status_at = held
    return (local_status_at is None and held_status == status and held_last_updated is not None
            and last_updated == held_last_updated)


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
        for shipment, data in zip(created, new, strict=True) for line in data.line_items or []
    ])
    acting = user if getattr(user, "is_authenticated", False) else None
    ShipmentEvent.objects.bulk_create([
        ShipmentEvent(shipment=shipment, user=acting, kind=ShipmentEvent.Kind.SYNCED,
                      message=_new_shipment_message(data), data={"source": source})
        for shipment, data in zip(created, new, strict=True)
    ])
    for shipment, data in zip(created, new, strict=True):
        if data.packages or shipment.status in {Status.CANCELLED, Status.SHIPPED, Status.DELIVERED}:
            _after_store(shipment, data, None, user=user, source=source)


def _merge_amazon_packages(shipment: Shipment, amazon_packages: list[schemas.Package]) -> None:
    """Amazon listing a package id confirms our package (also after an unclear createPackages)."""
    if not amazon_packages:
        return
    ours = {p.package_id: p for p in shipment.packages.all()}
    lines = None
    for position, remote in enumerate(amazon_packages, start=1):
        package = ours.get(remote.id)
        changed = []
        if package is None:  # packed outside Packbench: show it as Amazon has it
            if lines is None:
                lines = {li.line_item_id: li for li in shipment.line_items.all()}
            package = _package_from_amazon(shipment, remote, position, lines)
        elif package.state == Package.State.SENT or not package.known_to_amazon:
            payload = remote.to_amazon()
            payload.pop("status", None)
            package.state = Package.State.CONFIRMED
            package.known_to_amazon = True
            package.sent_payload = payload
            changed += ["state", "known_to_amazon", "sent_payload"]
        amazon_status = fit_columns(Package, {"amazon_status": remote.status or ""})["amazon_status"]
        if package.amazon_status != amazon_status:
            package.amazon_status = amazon_status
            changed.append("amazon_status")
        # Only what changed: a whole-row save would write back the label and print columns as read
        # here, over what a step stored since (those updates do not all lock the shipment first).
        if changed:
            package.save(update_fields=[*changed, "updated_at"])


def _package_from_amazon(shipment, remote: schemas.Package, position: int, lines) -> Package:
    dims = remote.dimensions
    payload = remote.to_amazon()
    payload.pop("status", None)
    package = Package.objects.create(**fit_columns(Package, {
        "shipment": shipment, "package_id": remote.id, "position": position,
        "length": _q2(dims.length.value), "width": _q2(dims.width.value), "height": _q2(dims.height.value),
        "dimension_unit": dims.length.dimension_unit, "weight": _q3(remote.weight.value),
        "weight_unit": remote.weight.weight_unit.upper(), "hazmat_labels": remote.hazmat_labels or [],
        "handling": remote.package_handling_requirements or Package.Handling.NORMAL,
        "state": Package.State.CONFIRMED, "known_to_amazon": True, "sent_payload": payload,
    }))
    for item in remote.package_line_items:
        line = lines.get(item.package_line_item_id)
        if line is not None:
            PackageLineItem.objects.create(**fit_columns(PackageLineItem, {
                "package": package, "line_item": line, "quantity": item.quantity, "pieces": item.pieces,
                "serial_numbers": item.serial_numbers or [], "country_of_origin": item.country_of_origin or "",
                "item_value": item.item_value.value if item.item_value else None,
                "item_value_currency": item.item_value.currency_code if item.item_value else "",
            }))
    return package


def on_cancelled(shipment: Shipment, user) -> None:
    """What a cancellation means here: serials back, waiting steps stopped, the packer told."""
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
    asked = timezone.now()
    data = client.get_shipment(shipment_id)
    problems = storable_problems(data)
    if problems:
        raise AmazonUnexpectedResponse(operation="getShipment", detail="; ".join(problems))
    return upsert_shipment(data, user=user, source="refresh", force=True, read_at=asked,
                           seller_account=client.credentials.seller_account)


def seller_account_named(name: str | None):
    """The SellerAccount a shipment was read with, or None when that was the settings' account."""
    from fulfillment.accounts.models import SellerAccount

    if not name or name == settings.AMAZON_SELLER_ACCOUNT:
        return None
    return SellerAccount.objects.filter(name=name).first()


# --- The sync: getShipments per seller account and status ------------------------------------------


@dataclass
class SyncResult:
    seller_account: str
    locations: frozenset[str] = frozenset()
    seen: int = 0
    created: int = 0
    status_changes: int = 0
    cancelled: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)


def sync_stations(*, user=None) -> list[SyncResult]:
    """One sync of every seller account a station packs for (`sync_account` each)."""
    return [sync_account(account, locations=locations, user=user)
            for account, locations in sorted(locations_by_seller_account().items())]


def sync_account(seller_account: str, *, locations=None, user=None, statuses=SYNC_STATUSES,
                 page_size: int = 100) -> SyncResult:
    """Incremental sync of one seller account: every page of every status of interest updated since
    that status was last read completely (minus an overlap for clock skew and late writes), whatever
    the location, keeping the shipments of `locations` (default: the locations its stations pack
    for). The calls depend on the account's shipments, not on how many locations it has. A status's
    cursor moves only once all its pages were read, so a failure never skips shipments; the sync
    stops at the first Amazon error (the next cycle takes it up), keeping what it read."""
    if locations is None:
        locations = locations_by_seller_account().get(seller_account, set())
    result = SyncResult(seller_account=seller_account, locations=frozenset(locations))
    if not locations:
        return result
    overlap = timedelta(seconds=getattr(settings, "SHIPMENT_SYNC_OVERLAP_SECONDS", 120))
    listed_unreadable = set(UnreadableShipment.objects.filter(seller_account=seller_account)
                            .values_list("shipment_id", flat=True))
    unchanged: set[str] = set()  # listed again as we hold them: left unread by the client
    with get_client(seller_account_named(seller_account), background=True) as client:
        for status in statuses:
            cursor, _ = SyncCursor.objects.get_or_create(seller_account=seller_account, status=status)
            started = timezone.now()
            since = cursor.last_synced_at - overlap if cursor.last_synced_at else None
            if since is None and status in programmes.CLOSED_STATUSES:
                since = started - FIRST_SYNC_CLOSED_LOOKBACK
            pages = client.iter_shipment_pages(status=status, last_updated_after=since, max_results=page_size,
                                               skip=lambda listed: _not_to_read(listed, result.locations, unchanged))
            try:
                while True:
                    asked = timezone.now()
                    page = next(pages, None)
                    if page is None:
                        break
                    _store_page(page, result, listed_unreadable, unchanged, user=user, read_at=asked)
            except AmazonError as exc:
                SyncCursor.objects.filter(pk=cursor.pk).update(last_attempt_at=started, last_error=exc.packer_message)
                raise
            SyncCursor.objects.filter(pk=cursor.pk).update(last_synced_at=started, last_attempt_at=started,
                                                           last_error="")
    return result


def _not_to_read(listed: list[dict], locations, unchanged: set[str]) -> set[str]:
    """Of a page's shipments as Amazon sent them, the ids of those the sync has no use for reading
    into the model: of another location (`_store_page` would drop them), or held as listed (the
    test of `_unchanged`, on the raw answer; added to `unchanged`). The others are read, and their
    problems named."""
    skip, raw = set(), {}
    for item in listed:
        amazon_id, location, when = item.get("id"), item.get("locationId"), item.get("lastUpdatedDateTime")
        if not isinstance(amazon_id, str) or not isinstance(location, str):
            continue
        if location not in locations:
            skip.add(amazon_id)
        elif when is not None:
            try:  # read as the model reads it
                raw[amazon_id] = (item.get("status"), _AMAZON_TIME.validate_python(when))
            except ValidationError:
                continue
    if raw:
        held = Shipment.objects.filter(amazon_id__in=list(raw)).values_list(
            "amazon_id", "status", "amazon_last_updated", "local_status_at")
        same = {amazon_id for amazon_id, *row in held if _unchanged(row, *raw[amazon_id])}
        unchanged.update(same)
        skip.update(same)
    return skip


def _store_page(page: ShipmentsPage, result: SyncResult, listed_unreadable: set[str], unchanged: set[str], *,
                user, read_at) -> None:
    """Store the page's shipments of the account's locations; list the ones we cannot read. Those
    left unread as `unchanged` are only marked seen, as store_shipment_page marks its own."""
    held = [amazon_id for amazon_id in page.skipped if amazon_id in unchanged]
    if held:
        Shipment.objects.filter(amazon_id__in=held).update(synced_at=timezone.now())
        result.seen += len(set(held))
        _off_the_board(result, listed_unreadable, held)
    ours = [data for data in page.shipments if data.location_id in result.locations]
    unreadable = [bad for bad in page.unreadable if not bad.location_id or bad.location_id in result.locations]
    storable = []
    for data in ours:
        problems = storable_problems(data)
        if problems:
            unreadable.append(UnreadablePageShipment(data.id[:64], data.location_id[:64], tuple(problems)))
        else:
            storable.append(data)
    if unreadable:
        _list_unreadable(result.seller_account, unreadable)
        result.unreadable.extend(bad.shipment_id for bad in unreadable)
    if not storable:
        return
    before = store_shipment_page(storable, user=user, seller_account=result.seller_account, read_at=read_at)
    now = dict(Shipment.objects.filter(amazon_id__in=before).values_list("amazon_id", "status"))
    for amazon_id, old in before.items():
        result.seen += 1
        if old is None:
            result.created += 1
        elif old != now.get(amazon_id):
            result.status_changes += 1
            if now.get(amazon_id) == Status.CANCELLED:
                result.cancelled.append(amazon_id)
    _off_the_board(result, listed_unreadable, before)


def _off_the_board(result: SyncResult, listed_unreadable: set[str], stored) -> None:
    readable_again = listed_unreadable.intersection(stored)
    if readable_again:  # Amazon sends them readable now: off the board
        UnreadableShipment.objects.filter(seller_account=result.seller_account,
                                          shipment_id__in=readable_again).delete()
        listed_unreadable.difference_update(readable_again)


def _list_unreadable(seller_account: str, unreadable: list[UnreadablePageShipment]) -> None:
    now = timezone.now()
    for bad in unreadable:
        row, created = UnreadableShipment.objects.get_or_create(
            seller_account=seller_account, shipment_id=bad.shipment_id,
            defaults={"location_id": bad.location_id, "problems": list(bad.problems), "first_seen_at": now,
                      "last_seen_at": now},
        )
        if not created:
            UnreadableShipment.objects.filter(pk=row.pk).update(
                location_id=bad.location_id, problems=list(bad.problems), last_seen_at=now,
                times_seen=F("times_seen") + 1)
