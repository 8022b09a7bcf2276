"""Everything that changes a shipment: syncing from Amazon, the packer's steps, scans, prints.

Amazon steps go through `request_step` (writes a ShipmentStep, queues it after commit) and
`run_step` (the Celery task's body). Each service records ShipmentEvents with the acting user.
Errors the packer must act on are `workflow.ShipmentError`s (`.packer_message`); Amazon's own
failures end the step FAILED with the error's `packer_message`, the typed payload kept on it.
"""

from __future__ import annotations

import base64
import binascii
import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from fulfillment.amazon import schemas
from fulfillment.amazon.client import get_client
from fulfillment.amazon.errors import AmazonConflict, AmazonError, AmazonThrottled, LabelUrlExpired
from fulfillment.documents.models import Document
from fulfillment.stations.models import SkuBarcode
from fulfillment.stations.selectors import seller_account_for_location

from . import workflow
from .models import (
    LineItem,
    LocationSync,
    Package,
    PackageLineItem,
    SerialNumber,
    Shipment,
    ShipmentEvent,
    ShipmentStep,
    ShippingOption,
    Status,
)
from .workflow import PackageInput, PackageItemInput, PackageValidationError, ShipmentError, StepNotAllowed

logger = logging.getLogger(__name__)

Kind = ShipmentStep.Kind
StepState = ShipmentStep.State
# Statuses fetched by sync: open work plus the endings a station must notice (cancel, shipped by a scan).
SYNC_STATUSES = (*workflow.OPEN_STATUSES, Status.CANCELLED, Status.SHIPPED)
FIRST_SYNC_CLOSED_LOOKBACK = timedelta(days=3)  # first sync: only recent cancellations/shipments

__all__ = [
    "PackageInput",
    "PackageItemInput",
    "PackageValidationError",
    "ShipmentError",
    "StepNotAllowed",
    "ScanResult",
    "SyncResult",
    "refresh_shipment",
    "sync_location",
    "upsert_shipment",
    "save_packages",
    "submit_packages",
    "choose_shipping_option",
    "request_step",
    "request_label_regeneration",
    "run_step",
    "reconcile_steps",
    "stalled_step_ids",
    "ensure_packing_slip",
    "store_ship_labels",
    "print_label",
    "record_label_printed",
    "verify_scan",
    "reset_verification",
    "skip_verification",
    "start_pack_and_label",
    "PACK_AND_LABEL",
    "record_event",
]


# --- Events ----------------------------------------------------------------------------------


def record_event(shipment: Shipment, kind: str, message: str, *, user=None, data: dict | None = None) -> ShipmentEvent:
    """Append one line to the shipment's history."""
    return ShipmentEvent.objects.create(
        shipment=shipment, user=user if getattr(user, "is_authenticated", False) else None,
        kind=kind, message=message, data=data or {},
    )


# --- Reading from Amazon -----------------------------------------------------------------------


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
        with get_client(seller_account_named(known)) as own:
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
        with get_client(seller_account_for_location(location_id)) as client:
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


# --- Packages ------------------------------------------------------------------------------------


def new_package_id(position: int) -> str:
    """Ours, unique per shipment; Amazon has no way to tell it back to us, so it is stored first."""
    return f"PKG{position}-{secrets.token_hex(4).upper()}"


def package_payload(package: Package) -> schemas.Package:
    """The package as Amazon's model wants it; fields the line items do not require are left out."""
    items = []
    for item in package.items.all():
        line = item.line_item
        entry = {"package_line_item_id": line.line_item_id, "quantity": item.quantity}
        if line.serial_number_requirement == "REQUIRED":
            entry["serial_numbers"] = list(item.serial_numbers)
        if line.piece_type == "MULTIPLE" and item.pieces:
            entry["pieces"] = item.pieces
        if line.country_of_origin_requirement == "REQUIRED":
            entry["country_of_origin"] = item.country_of_origin
        if line.item_value_requirement == "REQUIRED" and item.item_value is not None:
            entry["item_value"] = {"value": item.item_value, "currency_code": item.item_value_currency}
        items.append(entry)

    def dimension(value):
        return {"value": value, "dimension_unit": package.dimension_unit}

    return schemas.Package(
        id=package.package_id,
        dimensions={"length": dimension(package.length), "width": dimension(package.width), "height": dimension(package.height)},
        weight={"value": package.weight, "weight_unit": package.weight_unit},
        hazmat_labels=list(package.hazmat_labels) or None,
        package_line_items=items,
        package_handling_requirements=package.handling,
    )


def _payload_dict(package: Package) -> dict:
    return package_payload(package).to_amazon()


def save_packages(shipment: Shipment, packages: list[PackageInput], user) -> list[Package]:
    """Validate and store the packages (ids generated and SAVED here, before any Amazon call).

    Before Amazon has packages, the set may be replaced freely (existing ids are reused by
    position, so a retry after a failed createPackages sends the same ids). Once Amazon has
    them, only their contents can change (same package ids); a change marks the package for
    updatePackage. Raises PackageValidationError listing every problem; nothing is stored then."""
    if shipment.status in workflow.CLOSED_STATUSES or shipment.status == Status.SHIPLABEL_GENERATED:
        raise StepNotAllowed("Packages can no longer change: the label is generated or the shipment is closed.")
    if shipment.status == Status.ACCEPTED:
        raise StepNotAllowed("Confirm the shipment before packing it.")
    line_items = list(shipment.line_items.all())
    all_serials = {s.strip() for p in packages for i in p.items for s in i.serial_numbers if s.strip()}
    elsewhere = dict(
        SerialNumber.objects.filter(serial__in=all_serials, released=False)
        .exclude(shipment=shipment)
        .values_list("serial", "shipment__amazon_id")
    )
    problems = workflow.validate_packages(shipment, packages, line_items=line_items, serials_used_elsewhere=elsewhere)
    existing = list(shipment.packages.order_by("position", "id"))
    known = [p for p in existing if p.known_to_amazon]
    if known:
        known_ids = {p.package_id for p in known}
        typed_ids = [p.package_id or (existing[n].package_id if n < len(existing) else None)
                     for n, p in enumerate(packages)]
        if len(packages) != len(known) or set(typed_ids) != known_ids:
            problems.append(
                f"Amazon already has {len(known)} package(s); after that only their contents can change, "
                "not how many there are."
            )
    if problems:
        raise PackageValidationError(problems)
    lines = {li.line_item_id: li for li in line_items}
    by_id = {p.package_id: p for p in existing}
    saved: list[Package] = []
    try:
        with transaction.atomic():
            for position, typed in enumerate(packages, start=1):
                package = by_id.get(typed.package_id) if typed.package_id else None
                if package is None and position <= len(existing):
                    package = existing[position - 1]  # reuse the id already stored for this box
                if package is None:
                    package = Package(shipment=shipment, package_id=new_package_id(position))
                package.position = position
                package.length, package.width, package.height = (Decimal(str(typed.length)),
                                                                 Decimal(str(typed.width)), Decimal(str(typed.height)))
                package.dimension_unit = typed.dimension_unit
                package.weight, package.weight_unit = Decimal(str(typed.weight)), typed.weight_unit
                package.hazmat_labels = [label.strip() for label in typed.hazmat_labels if label.strip()]
                package.handling = typed.handling
                package.save()
                package.items.all().delete()
                for item in typed.items:
                    line = lines[item.line_item_id]
                    row = PackageLineItem.objects.create(
                        package=package, line_item=line, quantity=item.quantity, pieces=item.pieces,
                        serial_numbers=[s.strip() for s in item.serial_numbers if s.strip()],
                        country_of_origin=(item.country_of_origin or "").strip().upper(),
                        item_value=Decimal(str(item.item_value)) if item.item_value not in (None, "") else None,
                        item_value_currency=(item.item_value_currency or "").strip().upper(),
                    )
                    SerialNumber.objects.bulk_create(
                        SerialNumber(serial=serial, package_line_item=row, shipment=shipment)
                        for serial in row.serial_numbers
                    )
                if package.known_to_amazon:
                    changed = _payload_dict(package) != package.sent_payload
                    package.state = Package.State.DRAFT if changed else Package.State.CONFIRMED
                else:
                    package.state = Package.State.DRAFT
                package.save(update_fields=["state"])
                saved.append(package)
            for leftover in existing[len(packages):]:
                leftover.delete()  # only possible before Amazon has any package
            record_event(shipment, ShipmentEvent.Kind.PACKAGES_SAVED,
                         f"{len(saved)} package(s) saved: {', '.join(p.package_id for p in saved)}.", user=user,
                         data={"packages": [_payload_dict(p) for p in saved]})
    except IntegrityError:
        raise PackageValidationError(
            ["A serial number you entered was just used on another shipment. Check the serial numbers and save again."]
        ) from None
    return saved


def submit_packages(shipment: Shipment, packages: list[PackageInput], user) -> ShipmentStep:
    """save_packages, then ask Amazon for createPackages (first time) or updatePackage (later)."""
    save_packages(shipment, packages, user)
    shipment.refresh_from_db()
    kind = Kind.CREATE_PACKAGES if shipment.status == Status.CONFIRMED else Kind.UPDATE_PACKAGE
    if kind == Kind.UPDATE_PACKAGE and not shipment.packages.exclude(state=Package.State.CONFIRMED).exists():
        raise StepNotAllowed("Nothing changed: Amazon already has these packages as they are.")
    return request_step(shipment, kind, user)


def choose_shipping_option(shipment: Shipment, option: ShippingOption | int, user) -> Shipment:
    """Pick the shipping option the labels are bought with (`option`: row or its pk)."""
    if not isinstance(option, ShippingOption):
        option = shipment.shipping_options.filter(pk=option).first()
    if option is None or option.shipment_id != shipment.pk:
        raise ShipmentError("That shipping option is not offered for this shipment; get the options again.")
    if shipment.status not in {Status.PICKUP_SLOT_RETRIEVED, Status.INVOICE_GENERATED, Status.PACKAGE_CREATED}:
        raise StepNotAllowed("A shipping option can be chosen only before the label is generated.")
    shipment.selected_shipping_option = option
    shipment.save(update_fields=["selected_shipping_option", "updated_at"])
    record_event(shipment, ShipmentEvent.Kind.OPTION_CHOSEN,
                 f"Shipping option chosen: {option.carrier_name or option.ship_by} ({option.option_id}).", user=user,
                 data={"option_id": option.option_id})
    return shipment


# --- Steps -------------------------------------------------------------------------------------------


def request_step(shipment: Shipment, kind: str, user, payload: dict | None = None) -> ShipmentStep:
    """Ask for an Amazon step. Idempotent: while a step of this kind is open for the shipment,
    that step is returned and nothing new is queued (a double click sends one call). Refuses
    (StepNotAllowed) when the workflow does not allow it now or another step is still running.
    The Celery task is queued only after the transaction commits."""
    payload = dict(payload or {})
    with transaction.atomic():
        locked = Shipment.objects.select_for_update().get(pk=shipment.pk)
        open_steps = list(locked.steps.filter(status__in=ShipmentStep.OPEN_STATES))
        for step in open_steps:
            if step.kind == kind:
                return step
        busy = [s for s in open_steps if s.kind != Kind.REFRESH]
        if busy and kind != Kind.REFRESH:
            raise StepNotAllowed(f"Wait: “{busy[0].get_kind_display()}” is still running for this shipment.")
        workflow.check_step_allowed(locked, kind, payload)
        try:
            with transaction.atomic():
                step = ShipmentStep.objects.create(
                    shipment=locked, kind=kind, payload=payload,
                    requested_by=user if getattr(user, "is_authenticated", False) else None,
                )
        except IntegrityError:  # a concurrent request won the race: use its step
            return locked.steps.get(kind=kind, status__in=ShipmentStep.OPEN_STATES)
        record_event(locked, ShipmentEvent.Kind.STEP_REQUESTED, f"{step.get_kind_display()} requested.", user=user,
                     data={"step": step.pk, "payload": payload})
        transaction.on_commit(lambda: _enqueue(step.pk))
    return step


def request_label_regeneration(shipment: Shipment, user, reason: str) -> ShipmentStep:
    """REGENERATE the labels (the old ones become invalid): only on explicit request, with a reason."""
    return request_step(shipment, Kind.LABELS, user, {"operation": "REGENERATE", "reason": (reason or "").strip()})


def _enqueue(step_id: int) -> None:
    from .tasks import run_step_task

    try:
        run_step_task.delay(step_id)
    except Exception:  # broker down: the step stays PENDING and the reconciler queues it again
        logger.exception("Could not queue step %s; the reconciler will retry it", step_id)


def _lease() -> timedelta:
    return timedelta(seconds=getattr(settings, "SHIPMENT_STEP_LEASE_SECONDS", 300))


# On PostgreSQL the worker running a step holds a session advisory lock on it. The lock ends with
# the worker's database connection, so a RUNNING step nobody holds a lock on belongs to a dead
# worker, and a live step that outlasts its lease is never run a second time beside itself.
STEP_LOCK_NAMESPACE = 0x5042
# Runs of a step's handler in one task while Amazon keeps throttling (429: it certainly did not act).
STEP_RUNS = 3


def _step_lock_key(step_id: int) -> int:
    return step_id % 2**31


def _step_locks_available() -> bool:
    return connection.vendor == "postgresql"


def _try_lock_step(step_id: int) -> bool:
    if not _step_locks_available():
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [STEP_LOCK_NAMESPACE, _step_lock_key(step_id)])
        return bool(cursor.fetchone()[0])


def _unlock_step(step_id: int) -> None:
    if not _step_locks_available():
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [STEP_LOCK_NAMESPACE, _step_lock_key(step_id)])
    except DatabaseError:  # the connection is gone, and its locks with it
        logger.warning("Could not release the lock of step %s", step_id, exc_info=True)


def _locked_step_keys() -> set[int]:
    """Lock keys of the steps some live worker is running now."""
    if not _step_locks_available():
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid::bigint = %s AND objsubid = 2",
            [STEP_LOCK_NAMESPACE],
        )
        return {row[0] for row in cursor.fetchall()}


def run_step(step_id: int) -> ShipmentStep:
    """Execute one step against Amazon. Safe to call twice: a finished step is returned as is,
    a step another worker holds (its lock, or RUNNING within its lease) is left alone. A step that
    ran before without finishing (worker lost, unclear answer) first re-reads the shipment to see
    whether Amazon already did it."""
    if not _try_lock_step(step_id):  # a duplicate message while a live worker runs the step
        return ShipmentStep.objects.select_related("shipment").get(pk=step_id)
    try:
        return _run_held_step(step_id)
    finally:
        _unlock_step(step_id)


def _run_held_step(step_id: int) -> ShipmentStep:
    now = timezone.now()
    with transaction.atomic():
        step = ShipmentStep.objects.select_for_update().select_related("shipment").get(pk=step_id)
        if step.status in {StepState.SUCCEEDED, StepState.FAILED}:
            return step
        if step.status == StepState.RUNNING and step.started_at and now - step.started_at < _lease():
            return step
        resumed = step.attempts > 0
        step.status, step.started_at, step.attempts = StepState.RUNNING, now, step.attempts + 1
        step.save(update_fields=["status", "started_at", "attempts", "updated_at"])
    user = step.requested_by
    try:
        with get_client(seller_account_named(step.shipment.seller_account)) as client:
            if resumed and _already_done(step, client):
                return _finish(step, {"recovered": True}, user)
            return _finish(step, _run_handler(step, client), user)
    except _AlreadyDone:
        return _finish(step, {"recovered": True}, user)
    except AmazonError as exc:
        return _fail(step, exc.error_code or type(exc).__name__, exc.packer_message, user)
    except ShipmentError as exc:
        return _fail(step, type(exc).__name__, exc.packer_message, user)
    except Exception as exc:  # printed to the log; the packer gets words, not a trace
        from fulfillment.documents.errors import DocumentError
        from fulfillment.printers.zebra import PrinterError

        if isinstance(exc, DocumentError | PrinterError):
            return _fail(step, type(exc).__name__, exc.packer_message, user)
        logger.exception("Step %s (%s) failed unexpectedly", step.pk, step.kind)
        return _fail(step, "INTERNAL", "Packbench hit an unexpected problem with this step. Try again; if it "
                     "keeps failing, tell your supervisor.", user)


class _AlreadyDone(Exception):
    """A re-read after an unclear answer or a 409 showed that Amazon did the step."""


def _run_handler(step: ShipmentStep, client) -> dict:
    """The step's handler. A write whose outcome is unknown, or that Amazon refused as out of order
    (409: a lost answer to an earlier attempt looks like this), is re-read: done means done, and
    not done (a 5xx or timeout before Amazon acted) means it is safe to send again. A throttle storm
    that outlasts the client's retries is waited out here too. Either way the handler runs at most
    STEP_RUNS times before the step goes back to the packer. A throttle may also hit the re-read
    after a write that went through, so after one the handler only runs again once the shipment
    says it is not done."""
    run, recheck = 1, False
    while True:
        try:
            if recheck and _already_done(step, client):
                raise _AlreadyDone
            recheck = False
            return HANDLERS[step.kind](step, client) or {}
        except AmazonError as exc:
            not_done = False
            if (exc.outcome_unknown or isinstance(exc, AmazonConflict)) and not recheck:
                try:
                    done = _already_done(step, client)
                except AmazonError:
                    logger.warning("Could not re-read shipment after unclear %s", step.kind, exc_info=True)
                    raise exc from None
                if done:
                    raise _AlreadyDone from exc
                not_done = exc.outcome_unknown
            throttled = isinstance(exc, AmazonThrottled)
            if run >= STEP_RUNS or not (throttled or not_done):
                raise
            recheck = throttled
            logger.info("Step %s (%s) %s; running it again", step.pk, step.kind,
                        "throttled by Amazon" if throttled else f"not done by Amazon ({type(exc).__name__})")
        run += 1
        time.sleep(float(getattr(settings, "AMAZON_RETRY_MAX_WAIT_SECONDS", 8.0)))
        step.started_at = timezone.now()  # still working on it: renew the lease
        ShipmentStep.objects.filter(pk=step.pk).update(started_at=step.started_at)


def _finish(step: ShipmentStep, result: dict, user) -> ShipmentStep:
    step.status, step.result, step.finished_at = StepState.SUCCEEDED, result, timezone.now()
    step.error_code = step.error_message = ""
    step.save(update_fields=["status", "result", "finished_at", "error_code", "error_message", "updated_at"])
    message = f"{step.get_kind_display()} done."
    if result.get("warning"):
        message += f" {result['warning']}"
    record_event(step.shipment, ShipmentEvent.Kind.STEP_SUCCEEDED, message, user=user,
                 data={"step": step.pk, "result": result})
    if result.get("stale"):
        _queue_refresh(step)
    else:
        _continue_chain(step)
    return step


def _queue_refresh(step: ShipmentStep) -> None:
    """Catch up with Amazon's status after a write whose re-read failed. The Refresh step carries a
    Pack & label chain on, which goes on from the status it reads."""
    payload = {key: step.payload[key] for key in _CHAIN_KEYS if key in step.payload}
    try:
        request_step(step.shipment, Kind.REFRESH, step.requested_by, payload)
    except Exception:  # the page offers "Refresh from Amazon" and the location sync catches up anyway
        logger.exception("Could not queue a refresh of %s after step %s", step.shipment.amazon_id, step.pk)


def _fail(step: ShipmentStep, code: str, message: str, user) -> ShipmentStep:
    step.status, step.finished_at = StepState.FAILED, timezone.now()
    step.error_code, step.error_message = code[:100], message
    step.save(update_fields=["status", "finished_at", "error_code", "error_message", "updated_at"])
    record_event(step.shipment, ShipmentEvent.Kind.STEP_FAILED, f"{step.get_kind_display()} failed: {message}",
                 user=user, data={"step": step.pk, "code": code})
    return step


def _refresh(step: ShipmentStep, client) -> Shipment:
    shipment = refresh_shipment(step.shipment.amazon_id, user=step.requested_by, client=client)
    step.shipment = shipment
    return shipment


STALE_WARNING = "Amazon took it, but its new status could not be read yet: Packbench reads it again."


def _reread_after_write(step: ShipmentStep, client) -> dict:
    """Re-read the shipment after a write Amazon accepted. The write is done whatever this read
    says, so a read that fails (throttled or 5xx beyond the client's retries) does not fail the
    step: the result says `stale` and a Refresh step is queued once the step is finished."""
    try:
        return {"status": _refresh(step, client).status}
    except AmazonError:
        logger.warning("Step %s (%s) went through; re-reading shipment %s failed", step.pk, step.kind,
                       step.shipment.amazon_id, exc_info=True)
        return {"status": step.shipment.status, "stale": True, "warning": STALE_WARNING}


PAST = {
    Status.CONFIRMED: 1, Status.PACKAGE_CREATED: 2, Status.PICKUP_SLOT_RETRIEVED: 3, Status.INVOICE_GENERATED: 4,
    Status.SHIPLABEL_GENERATED: 5, Status.SHIPPED: 6, Status.DELIVERED: 7,
}


def _already_done(step: ShipmentStep, client) -> bool:
    """After an unclear answer: did Amazon do the step? Re-reads the shipment to decide; when it
    did, whatever the step should have brought back (invoice, labels) is fetched now."""
    shipment = _refresh(step, client)
    rank = PAST.get(shipment.status, 0)
    if step.kind == Kind.CONFIRM:
        return rank >= PAST[Status.CONFIRMED]
    if step.kind == Kind.REJECT:
        return shipment.status == Status.CANCELLED
    if step.kind == Kind.CREATE_PACKAGES:
        return not shipment.packages.exclude(state=Package.State.CONFIRMED).exists() and rank >= PAST[Status.PACKAGE_CREATED]
    if step.kind == Kind.INVOICE and shipment.status == Status.INVOICE_GENERATED:
        _store_invoice(step, client.retrieve_invoice(shipment.amazon_id))
        return True
    if step.kind == Kind.LABELS and shipment.status == Status.SHIPLABEL_GENERATED and step.payload.get("operation") != "REGENERATE":
        _generate_and_store_labels(step, client, operation="GENERATE")
        return True
    if step.kind == Kind.SHIP:
        return rank >= PAST[Status.SHIPPED]
    return False  # reads and updatePackage are safe to repeat


# --- Step handlers (each returns the step's result dict) ---------------------------------------------


def _confirm(step, client):
    client.process_shipment(step.shipment.amazon_id, "CONFIRM")
    return _reread_after_write(step, client)


def _reject(step, client):
    shipment = step.shipment
    reason = step.payload.get("reason", "OUT_OF_STOCK")
    reasons = step.payload.get("reasons") or {}  # the packer's reason per line; `reason` for lines without one
    quantities = step.payload.get("quantities") or {}
    items = [
        {"line_item": {"id": line.line_item_id, "quantity": int(quantities.get(line.line_item_id, line.number_of_units))},
         "reason": reasons.get(line.line_item_id, reason)}
        for line in shipment.line_items.all()
    ]
    # A stable reference per step: Amazon sees the same id if this rejection is ever resent.
    reference = step.payload.get("reference_id") or f"PB-REJ-{step.pk}"
    client.process_shipment(shipment.amazon_id, "REJECT", reference_id=reference, line_items=items)
    return {**_reread_after_write(step, client), "reference_id": reference}


def _create_packages(step, client):
    shipment = step.shipment
    packages = list(shipment.packages.prefetch_related("items__line_item"))
    if not packages:
        raise StepNotAllowed("Pack the shipment first: add at least one package.")
    # Marked SENT before the call: if the answer is lost, these ids may exist at Amazon.
    Package.objects.filter(pk__in=[p.pk for p in packages]).update(state=Package.State.SENT)
    client.create_packages(shipment.amazon_id, [package_payload(p) for p in packages])
    for package in packages:
        Package.objects.filter(pk=package.pk).update(
            state=Package.State.CONFIRMED, known_to_amazon=True, sent_payload=_payload_dict(package)
        )
    return {"packages": [p.package_id for p in packages], **_reread_after_write(step, client)}


def _update_package(step, client):
    shipment = step.shipment
    changed = list(shipment.packages.filter(known_to_amazon=True).exclude(state=Package.State.CONFIRMED)
                   .prefetch_related("items__line_item"))
    for package in changed:
        client.update_package(shipment.amazon_id, package.package_id, package_payload(package))
        Package.objects.filter(pk=package.pk).update(state=Package.State.CONFIRMED, sent_payload=_payload_dict(package))
    # Amazon walks the shipment back to PACKAGE_CREATED: options, invoice and labels are made again.
    Shipment.objects.filter(pk=shipment.pk).update(selected_shipping_option=None)
    shipment.packages.update(label_status=Package.LabelStatus.NONE, label_error="", label_printed_at=None)
    shipment.documents.filter(superseded=False).update(superseded=True, regenerate_reason="packages changed")
    return {"packages": [p.package_id for p in changed], **_reread_after_write(step, client)}


def _shipping_options(step, client):
    shipment = step.shipment
    preselect = None
    count = 0
    for package in shipment.packages.all():
        response = client.retrieve_shipping_options(shipment.amazon_id, package.package_id)
        with transaction.atomic():
            package.shipping_options.all().delete()
            offered = list(response.shipping_options or [])
            recommended = response.recommended_shipping_option
            if recommended and all(o.shipping_option_id != recommended.shipping_option_id for o in offered):
                offered.append(recommended)
            for option in offered:
                row = _store_option(shipment, package, option, recommended)
                count += 1
                if preselect is None and (row.is_recommended or len(offered) == 1):
                    preselect = row
    Shipment.objects.filter(pk=shipment.pk).update(selected_shipping_option=preselect)
    return {"options": count, "preselected": preselect.option_id if preselect else None,
            **_reread_after_write(step, client)}


def _store_option(shipment, package, option: schemas.ShippingOptions, recommended) -> ShippingOption:
    pickup, slot = option.pickup_window, option.time_slot
    handover = (slot.handover_method if slot else None) or (pickup.handover_method if pickup else None) or ""
    return ShippingOption.objects.create(
        shipment=shipment, package=package, option_id=option.shipping_option_id, ship_by=option.ship_by or "",
        carrier_name=option.carrier_name or "",
        ship_method=(option.model_extra or {}).get("shipMethod", "") if option.model_extra else "",
        pickup_start=pickup.start_time if pickup else None, pickup_end=pickup.end_time if pickup else None,
        time_slot_start=slot.start_time if slot else None, time_slot_end=slot.end_time if slot else None,
        handover_method=handover,
        handover_address=option.handover_location.to_amazon() if option.handover_location else {},
        is_recommended=bool(recommended and recommended.shipping_option_id == option.shipping_option_id),
        raw=option.to_amazon(),
    )


def _invoice(step, client):
    shipment = step.shipment
    if shipment.status in {Status.INVOICE_GENERATED, Status.SHIPLABEL_GENERATED}:
        response = client.retrieve_invoice(shipment.amazon_id)  # already generated: fetch it, do not regenerate
    else:
        response = client.generate_invoice(shipment.amazon_id)
    return {**_store_invoice(step, response), **_reread_after_write(step, client)}


def _store_invoice(step, response: schemas.InvoiceResponse) -> dict:
    """Keep generateInvoice's document exactly as received, with its printable PDF. It is the tax
    invoice when the shipment requires one, otherwise Amazon's packing slip."""
    from fulfillment.documents import rendering
    from fulfillment.documents.errors import DocumentError

    shipment = step.shipment
    kind = Document.Kind.INVOICE if workflow.tax_invoice_required(shipment) else Document.Kind.PACKING_SLIP
    document = response.document
    content = (document.content or "").encode()
    result: dict = {"format": document.format, "kind": kind}
    try:
        pdf = rendering.invoice_to_pdf(document.content or "", document.format).pdf
    except DocumentError as exc:
        pdf = None
        result["warning"] = f"The {kind.label.lower()} was stored but cannot be shown as PDF: {exc.packer_message}"
    with transaction.atomic():
        shipment.documents.filter(kind=kind, superseded=False).update(superseded=True)
        stored = Document.objects.create(
            shipment=shipment, kind=kind, content=content, original_format=document.format or "",
            content_type="text/plain", printable_pdf=pdf,
        )
        record_event(shipment, ShipmentEvent.Kind.DOCUMENT_STORED, f"{kind.label} stored.", user=step.requested_by,
                     data={"document": stored.pk, "sha256": stored.sha256})
    result["document"] = stored.pk
    return result


def ensure_packing_slip(shipment: Shipment, user=None) -> Document | None:
    """Render and store our packing slip when the shipment requires one and Amazon gave none.
    Raises DocumentError (with `.packer_message`) when it cannot be drawn."""
    if not workflow.packing_slip_needed(shipment):
        return None
    existing = shipment.documents.filter(kind=Document.Kind.PACKING_SLIP, superseded=False).first()
    if existing:
        return existing
    from fulfillment.documents import rendering

    pdf = rendering.packing_slip_pdf(shipment)
    document = Document.objects.create(
        shipment=shipment, kind=Document.Kind.PACKING_SLIP, content=pdf, original_format="PDF",
        content_type="application/pdf", printable_pdf=pdf,
    )
    record_event(shipment, ShipmentEvent.Kind.DOCUMENT_STORED, "Packing slip stored.", user=user,
                 data={"document": document.pk})
    return document


def _labels(step, client):
    from fulfillment.documents.errors import DocumentError

    operation = step.payload.get("operation", "GENERATE")
    result = _generate_and_store_labels(step, client, operation=operation)
    try:  # the slip goes in the box with the label; a drawing problem must not cost the labels
        ensure_packing_slip(step.shipment, step.requested_by)
    except DocumentError as exc:
        result["warning"] = f"The packing slip could not be made: {exc.packer_message}"
    return result


def _fetch_labels(step, client):
    # Presigned URLs expire: generating again (not REGENERATE) gives fresh links to the same labels.
    return _generate_and_store_labels(step, client, operation="GENERATE")


def _generate_and_store_labels(step, client, *, operation: str) -> dict:
    shipment = step.shipment
    packages = {p.package_id: p for p in shipment.packages.all()}
    wanted = [p for p in packages.values() if not p.is_shipped]
    if operation == "GENERATE":  # labels already stored stay; GENERATE is for the missing ones
        wanted = [p for p in wanted if p.label_status != Package.LabelStatus.READY] or wanted
    if not wanted:
        raise StepNotAllowed("Every package is already shipped; there is no label to get.")
    kwargs = {}
    if shipment.selected_shipping_option_id:
        kwargs["shipping_option_id"] = _label_option_id(shipment, wanted)
    if workflow.needs_courier_details(shipment):
        # Amazon wants them on every Self-Ship call, also when fetching labels again after a failed
        # download (no label stored, so no package knows them): then the packer's Generate step has them.
        asked = step.payload if step.payload.get("carrier_name") else (
            shipment.steps.filter(kind=Kind.LABELS, payload__has_key="carrier_name")
            .order_by("-created_at", "-id").values_list("payload", flat=True).first() or {})
        carrier = asked.get("carrier_name") or next((p.carrier_name for p in wanted if p.carrier_name), "")
        tracking = asked.get("tracking_id") or next((p.tracking_id for p in wanted if p.tracking_id), "")
        if carrier and tracking:
            kwargs["courier_supported_attributes"] = {"carrier_name": carrier, "tracking_id": tracking}
    response = client.generate_ship_labels(
        shipment.amazon_id, package_ids=[p.package_id for p in wanted], operation=operation, **kwargs
    )
    reason = step.payload.get("reason", "") if operation == "REGENERATE" else ""
    stored, failures = store_ship_labels(shipment, response.package_ship_label_list, client=client,
                                         user=step.requested_by, reason=reason, label_options=kwargs)
    reread = _reread_after_write(step, client)
    tracking_ids = [p.tracking_id for p in shipment.packages.all() if p.tracking_id]
    Shipment.objects.filter(pk=shipment.pk).update(tracking_ids=tracking_ids)
    if failures:
        raise ShipmentError("Some labels could not be stored. " + " ".join(failures))
    return {"documents": stored, "operation": operation, **reread}


def _label_option_id(shipment: Shipment, packages: list[Package]) -> str | None:
    """The chosen shipping option as Amazon offered it for these packages. Options are offered per
    package: a label call for packages other than the one whose option the packer chose (getting
    one label again) names their own option of the same carrier, which Amazon accepts for them."""
    chosen = shipment.selected_shipping_option
    if chosen is None:
        return None
    if chosen.package_id is None or chosen.package_id in {p.pk for p in packages}:
        return chosen.option_id
    same = shipment.shipping_options.filter(
        package__in=packages, carrier_name=chosen.carrier_name, ship_by=chosen.ship_by, ship_method=chosen.ship_method
    ).first()
    return same.option_id if same else chosen.option_id


def store_ship_labels(shipment: Shipment, answers: list[schemas.PackageShipLabel], *, client, user=None,
                      reason: str = "", label_options: dict | None = None) -> tuple[list[int], list[str]]:
    """Fetch every label of a generateShipLabels answer from its presigned URL at once and store it.
    A link that expired is renewed by generating again (GENERATE hands back the same label with a
    fresh link), once. Failures stay on their package with Amazon's words. Returns (document ids,
    failure messages)."""
    packages = {p.package_id: p for p in shipment.packages.all()}
    failures, stored = [], []
    for label in answers:
        package = packages.get(label.package_id or "")
        if package is None:
            continue
        error = _label_error(label)
        if error is None:
            try:
                stored.append(_fetch_and_store_label(shipment, client, package, label, reason, user))
                continue
            except LabelUrlExpired:
                options = dict(label_options or {})
                if options.get("shipping_option_id"):
                    options["shipping_option_id"] = _label_option_id(shipment, [package]) or options["shipping_option_id"]
                again = client.generate_ship_labels(shipment.amazon_id, package_ids=[package.package_id],
                                                    operation="GENERATE", **options)
                retry = next((x for x in again.package_ship_label_list if x.package_id == package.package_id), None)
                error = _label_error(retry) if retry else "Amazon sent no label for this package."
                if error is None:
                    try:
                        stored.append(_fetch_and_store_label(shipment, client, package, retry, reason, user))
                        continue
                    except AmazonError as exc:
                        error = exc.packer_message
            except AmazonError as exc:
                error = exc.packer_message
        package.label_status, package.label_error = Package.LabelStatus.FAILED, error
        package.save(update_fields=["label_status", "label_error", "updated_at"])
        failures.append(f"{package.package_id}: {error}")
    return stored, failures


def _label_error(label: schemas.PackageShipLabel) -> str | None:
    errored = (label.model_extra or {}).get("isErrored") if label.model_extra else None
    if label.status == "FAILURE" or errored or label.file_data is None:
        details = label.error_details
        said = f"{details.message} ({details.code})" if details else "no label was returned"
        return f"Amazon could not make this label: {said}."
    return None


def _fetch_and_store_label(shipment, client, package: Package, label: schemas.PackageShipLabel, reason: str,
                           user) -> int:
    fetched = client.fetch_label(label.file_data.url)
    metadata = label.ship_label_metadata
    with transaction.atomic():
        package.documents.filter(kind=Document.Kind.LABEL, superseded=False).update(
            superseded=True, regenerate_reason=reason
        )
        document = Document.objects.create(
            shipment=package.shipment, package=package, kind=Document.Kind.LABEL, content=fetched.content,
            original_format=_label_format(fetched.content_type), content_type=fetched.content_type,
            tracking_id=metadata.tracking_id if metadata else "", carrier_name=metadata.carrier_name if metadata else "",
            source_url=label.file_data.url.split("?", 1)[0], regenerate_reason=reason,
        )
        package.label_status, package.label_error = Package.LabelStatus.READY, ""
        package.label_printed_at = None
        if metadata:
            package.tracking_id, package.carrier_name = metadata.tracking_id, metadata.carrier_name
        package.save()
        record_event(package.shipment, ShipmentEvent.Kind.DOCUMENT_STORED,
                     f"Label for {package.package_id} stored ({document.original_format}"
                     f"{', tracking ' + document.tracking_id if document.tracking_id else ''}).",
                     user=user, data={"document": document.pk, "package": package.package_id})
    return document.pk


def _label_format(content_type: str) -> str:
    content_type = content_type.lower()
    for needle, name in (("zpl", "ZPL"), ("pdf", "PDF"), ("png", "PNG"), ("text", "PLAIN_TEXT")):
        if needle in content_type:
            return name
    return ""


def _ship(step, client):
    shipment = step.shipment
    shipped = []
    for package in shipment.packages.filter(shipped_at__isnull=True):
        try:
            client.update_package_status(shipment.amazon_id, package.package_id, "SHIPPED")
        except AmazonConflict:
            # Amazon may have marked it shipped on the carrier's pickup scan: re-read and count that.
            shipment = _refresh(step, client)
            remote = {p.get("id"): p.get("status") for p in shipment.raw.get("packages", [])}
            if shipment.status not in {Status.SHIPPED, Status.DELIVERED} and remote.get(package.package_id) not in {
                "SHIPPED", "DELIVERED"
            }:
                raise
        Package.objects.filter(pk=package.pk).update(shipped_at=timezone.now())
        shipped.append(package.package_id)
    return {"packages": shipped, **_reread_after_write(step, client)}


def _refresh_step(step, client):
    shipment = _refresh(step, client)
    return {"status": shipment.status}


HANDLERS = {
    Kind.CONFIRM: _confirm,
    Kind.REJECT: _reject,
    Kind.CREATE_PACKAGES: _create_packages,
    Kind.UPDATE_PACKAGE: _update_package,
    Kind.SHIPPING_OPTIONS: _shipping_options,
    Kind.INVOICE: _invoice,
    Kind.LABELS: _labels,
    Kind.FETCH_LABELS: _fetch_labels,
    Kind.SHIP: _ship,
    Kind.REFRESH: _refresh_step,
}


def stalled_step_ids() -> list[int]:
    """Steps nobody is working on: PENDING ones whose task was lost (older than a grace period)
    and RUNNING ones past their lease that no live worker holds (their worker died)."""
    now = timezone.now()
    grace = timedelta(seconds=getattr(settings, "SHIPMENT_STEP_PENDING_GRACE_SECONDS", 60))
    lost = set(ShipmentStep.objects.filter(status=StepState.PENDING, created_at__lt=now - grace)
               .values_list("pk", flat=True))
    held = _locked_step_keys()
    stalled = {pk for pk in ShipmentStep.objects.filter(status=StepState.RUNNING, started_at__lt=now - _lease())
               .values_list("pk", flat=True) if _step_lock_key(pk) not in held}
    return sorted(lost | stalled)


def reconcile_steps() -> list[int]:
    """Queue the stalled steps again (run_step re-reads the shipment before resending). Returns their ids."""
    queued = stalled_step_ids()
    for step_id in queued:
        _enqueue(step_id)
    return queued


# --- Pack & label (the fast path) ------------------------------------------------------------------
# The packer confirms box and weight once; the worker then runs confirm, packages, options, invoice
# and labels one after the other and prints ZPL labels at the packer's station. The chain lives on
# the steps (payload "chain"), so it carries on with the browser closed. Every stop short of a
# requested next step is written to the history as an event with data "chain_ended".

PACK_AND_LABEL = "pack_and_label"
_CHAIN_KEYS = ("chain", "package", "station")
_CHAIN_STEPS = {Kind.CREATE_PACKAGES, Kind.SHIPPING_OPTIONS, Kind.INVOICE, Kind.LABELS, Kind.FETCH_LABELS}


def _fast_path_package(shipment: Shipment, package: dict) -> PackageInput:
    """One box with every unit of the shipment in it."""
    items = [PackageItemInput(line_item_id=line.line_item_id, quantity=line.number_of_units - line.cancelled_quantity)
             for line in shipment.line_items.all() if line.number_of_units > line.cancelled_quantity]
    return PackageInput(items=items, **package)


def start_pack_and_label(shipment: Shipment, package: dict, user, *, station=None) -> ShipmentStep:
    """Ask for the confirm step of a Pack & label chain. `package`: length, width, height,
    dimension_unit, weight, weight_unit (as strings). The box is checked before anything goes to
    Amazon (PackageValidationError); labels are printed at `station`."""
    problems = workflow.validate_packages(shipment, [_fast_path_package(shipment, package)])
    if problems:
        raise PackageValidationError(problems)
    payload = {"chain": PACK_AND_LABEL, "package": package, "station": station.pk if station else None}
    return request_step(shipment, Kind.CONFIRM, user, payload)


def _continue_chain(step: ShipmentStep) -> None:
    """After a step of a Pack & label chain succeeded: ask for the next Amazon step with the same
    chain, or print the labels once they are stored. Never fails the step that just succeeded."""
    if step.payload.get("chain") != PACK_AND_LABEL:
        return
    payload = {key: step.payload[key] for key in _CHAIN_KEYS if key in step.payload}
    user = step.requested_by
    shipment = Shipment.objects.get(pk=step.shipment_id)
    try:
        after = workflow.next_action(shipment)
        if after is None:
            _end_chain(shipment, user, f"Pack & label stopped: the shipment is {shipment.status.lower()}.")
        elif after.kind in {workflow.VERIFY, workflow.PACK}:
            save_packages(shipment, [_fast_path_package(shipment, payload.get("package") or {})], user)
            request_step(shipment, Kind.CREATE_PACKAGES, user, payload)
        elif after.kind in _CHAIN_STEPS and after.kind != step.kind:
            request_step(shipment, after.kind, user, payload)
        elif after.kind == workflow.PRINT_LABELS:
            _print_chain_labels(shipment, payload.get("station"), user)
        else:  # a choice only the packer can make (no recommended shipping option), or nothing left
            _end_chain(shipment, user, f"Pack & label stopped here: {after.label.lower()} is up to you.")
    except (ShipmentError, TypeError) as exc:  # TypeError: a package payload that does not fit PackageInput
        message = exc.packer_message if isinstance(exc, ShipmentError) else "the box details were incomplete."
        _end_chain(shipment, user, f"Pack & label stopped: {message} Carry on step by step.")
    except Exception:
        logger.exception("Pack & label of %s stopped after step %s", shipment.amazon_id, step.pk)
        _end_chain(shipment, user, "Pack & label stopped unexpectedly. Carry on step by step.")


def _print_chain_labels(shipment: Shipment, station_id, user) -> None:
    """ZPL labels go to the station's printer; PDF/PNG labels are left for the page to print."""
    from fulfillment.printers.zebra import PrinterError
    from fulfillment.stations.models import Station

    station = Station.objects.filter(pk=station_id).first() if station_id else None
    labels = list(Document.objects.filter(shipment=shipment, kind=Document.Kind.LABEL, superseded=False)
                  .select_related("package", "shipment"))
    problems, browser = [], [d.pk for d in labels if not d.is_zpl]
    for document in (d for d in labels if d.is_zpl):
        try:
            print_label(document, station=station, user=user)
        except (PrinterError, ShipmentError) as exc:
            problems.append(exc.packer_message)
    if problems:
        message = "Pack & label: labels stored but not printed. " + " ".join(dict.fromkeys(problems))
    elif browser:
        message = "Pack & label done: labels stored; they print from the shipment page."
    else:
        where = f" on {station.name}'s printer" if station else ""
        message = f"Pack & label done: {len(labels)} label{'s' if len(labels) != 1 else ''} printed{where}."
    _end_chain(shipment, user, message, done=not problems, browser_labels=browser)


def _end_chain(shipment: Shipment, user, message: str, *, done: bool = False, browser_labels=()) -> None:
    record_event(shipment, ShipmentEvent.Kind.NOTE, message, user=user,
                 data={"chain": PACK_AND_LABEL, "chain_ended": True, "done": done,
                       "browser_labels": list(browser_labels)})


# --- Printing ---------------------------------------------------------------------------------------


def print_label(document: Document, *, station, user) -> None:
    """Send a ZPL label to the station's Zebra printer and record it. Raises ShipmentError for a
    label that is not ZPL (print it from the browser) and the printer's PrinterError (with its
    `.packer_message`) when printing fails; the failure is recorded too."""
    from fulfillment.printers.zebra import PrinterError, send_zpl

    shipment = document.shipment
    if document.kind != Document.Kind.LABEL or not document.is_zpl:
        raise ShipmentError("This label is not ZPL; open it and print it from the browser.")
    if not station or not station.printer_host:
        raise ShipmentError("This station has no label printer set up. Ask your admin to add its address.")
    try:
        send_zpl(station.printer_host, station.printer_port, bytes(document.content),
                 timeout=getattr(settings, "PRINTER_TIMEOUT_SECONDS", None))
    except PrinterError as exc:
        record_event(shipment, ShipmentEvent.Kind.PRINT_FAILED, f"Label {document.package} not printed: "
                     f"{exc.packer_message}", user=user, data={"document": document.pk, "station": station.name})
        raise
    record_label_printed(document, user, via=f"printer {station.name}")


def record_label_printed(document: Document, user, via: str = "browser") -> None:
    """Note that a label was printed (the queue's next step moves on to Mark shipped)."""
    if document.package_id:
        Package.objects.filter(pk=document.package_id).update(label_printed_at=timezone.now())
    record_event(document.shipment, ShipmentEvent.Kind.LABEL_PRINTED,
                 f"Label {document.package or ''} printed ({via}).".replace("  ", " "), user=user,
                 data={"document": document.pk, "via": via})


# --- Scan to verify -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScanResult:
    """What a scan did. `ok` False = refused (wrong item, one too many): show it loudly."""

    ok: bool
    message: str
    line_item: LineItem | None = None
    complete: bool = False  # every unit of the shipment is now scanned

    @property
    def level(self) -> str:
        return "success" if self.ok else "error"


def verify_scan(shipment: Shipment, code: str, user) -> ScanResult:
    """Count one scanned unit: `code` is the merchant SKU or a barcode from stations.SkuBarcode."""
    code = (code or "").strip()
    if not code:
        return ScanResult(False, "Nothing was scanned. Scan the item's barcode.")
    skus = {code.casefold()}
    skus.update(s.casefold() for s in SkuBarcode.objects.filter(barcode=code).values_list("merchant_sku", flat=True))
    with transaction.atomic():
        lines = [li for li in LineItem.objects.select_for_update().filter(shipment=shipment).order_by("id")
                 if li.merchant_sku.casefold() in skus]
        if not lines:
            record_event(shipment, ShipmentEvent.Kind.SCAN_REFUSED, f"Wrong item scanned: {code}.", user=user,
                         data={"code": code})
            return ScanResult(False, f"WRONG ITEM: {code} is not in this shipment. Put it back.")
        line = next((li for li in lines if li.scanned_units < li.number_of_units - li.cancelled_quantity), None)
        if line is None:
            record_event(shipment, ShipmentEvent.Kind.SCAN_REFUSED, f"One too many: {code}.", user=user,
                         data={"code": code})
            return ScanResult(False, f"TOO MANY: every unit of {lines[0].merchant_sku} is already scanned. "
                              "Put this one back.", lines[0])
        line.scanned_units += 1
        line.save(update_fields=["scanned_units"])
        remaining = sum(
            max(li.number_of_units - li.cancelled_quantity - li.scanned_units, 0)
            for li in LineItem.objects.filter(shipment=shipment)
        )
        complete = remaining == 0
        if complete:
            Shipment.objects.filter(pk=shipment.pk).update(verified_at=timezone.now())
            shipment.verified_at = timezone.now()
        record_event(shipment, ShipmentEvent.Kind.SCANNED,
                     f"Scanned {line.merchant_sku} ({line.scanned_units}/{line.number_of_units}).", user=user,
                     data={"code": code, "line_item": line.line_item_id})
    message = f"{line.merchant_sku}: {line.scanned_units} of {line.number_of_units}."
    if complete:
        message += " All items scanned."
    return ScanResult(True, message, line, complete)


def reset_verification(shipment: Shipment, user) -> None:
    """Start the scan over (e.g. after the packer mixed up items)."""
    shipment.line_items.update(scanned_units=0)
    Shipment.objects.filter(pk=shipment.pk).update(verified_at=None, scan_skipped_at=None)
    shipment.verified_at = shipment.scan_skipped_at = None
    record_event(shipment, ShipmentEvent.Kind.NOTE, "Scan verification started over.", user=user)


def skip_verification(shipment: Shipment, user) -> None:
    """The packer packs without scanning every unit: kept in the history (who, and how far they got)."""
    lines = list(shipment.line_items.all())
    units = sum(max(li.number_of_units - li.cancelled_quantity, 0) for li in lines)
    scanned = sum(min(li.scanned_units, li.number_of_units) for li in lines)
    shipment.scan_skipped_at = timezone.now()  # kept, so the page does not ask for the scan again
    Shipment.objects.filter(pk=shipment.pk).update(scan_skipped_at=shipment.scan_skipped_at)
    record_event(shipment, ShipmentEvent.Kind.NOTE,
                 f"Scanning skipped: packed with {scanned} of {units} unit{'s' if units != 1 else ''} scanned.",
                 user=user, data={"verification": "skipped", "scanned": scanned, "units": units})
