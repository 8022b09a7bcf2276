"""What each Amazon step does: one handler per step kind, named by the step registry
(`step_kinds.STEP_KINDS[kind].handler`), each returning the step's result dict. A handler only
talks to Amazon and stores what comes back; the status its success leads to is the registry's
(services/progress), so no handler re-reads the shipment after a write that went through.

`already_done` is the one re-read: after an unclear answer it asks Amazon whether the step happened
(the registry's `done_when`) and fetches what it would have brought back (`recover`)."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from fulfillment.amazon import schemas
from fulfillment.amazon.errors import AmazonConflict

from .. import workflow
from ..models import Channel, Package, Shipment, ShipmentStep, ShippingOption, Status
from ..step_kinds import STEP_KINDS
from ..workflow import ShipmentError, StepNotAllowed
from .documents import (
    _label_error,
    ensure_packing_slip,
    label_option_id,
    store_invoice,
    store_ship_labels,
)
from .packages import package_payload, payload_dict
from .progress import advance
from .sync import fit_columns, refresh_shipment

logger = logging.getLogger(__name__)

Kind = ShipmentStep.Kind


def refresh_step_shipment(step: ShipmentStep, client) -> Shipment:
    shipment = refresh_shipment(step.shipment.amazon_id, user=step.requested_by, client=client)
    step.shipment = shipment
    return shipment


def already_done(step: ShipmentStep, client) -> bool:
    """After an unclear answer: did Amazon do the step? Re-reads the shipment to decide; when it
    did, whatever the step should have brought back (invoice, labels) is fetched now."""
    spec = STEP_KINDS[step.kind]
    if step.shipment.channel == Channel.MFN:  # an order: its own re-read (getOrder with its packages)
        from . import mfn

        return mfn.already_done(step, client)
    shipment = refresh_step_shipment(step, client)
    if spec.done_when is None or not spec.done_when(shipment, step):
        return False  # reads and updatePackage are safe to repeat
    if spec.recover:
        globals()[spec.recover](step, client)
    return True


def recover_invoice(step, client) -> None:
    store_invoice(step, client.retrieve_invoice(step.shipment.amazon_id))


def recover_labels(step, client) -> None:
    _generate_and_store_labels(step, client, operation="GENERATE")


# --- Step handlers ---------------------------------------------------------------------------------


def confirm(step, client):
    client.process_shipment(step.shipment.amazon_id, "CONFIRM")
    return {}


def reject(step, client):
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
    Shipment.objects.filter(pk=shipment.pk).update(cancellation_type=Shipment.CancellationType.SELLER_REJECTED,
                                                   cancellation_reason=reason[:255])
    return {"reference_id": reference}


def create_packages(step, client):
    shipment = step.shipment
    packages = list(shipment.packages.prefetch_related("items__line_item"))
    if not packages:
        raise StepNotAllowed("Pack the shipment first: add at least one package.")
    # Marked SENT before the call: if the answer is lost, these ids may exist at Amazon.
    Package.objects.filter(pk__in=[p.pk for p in packages]).update(state=Package.State.SENT)
    client.create_packages(shipment.amazon_id, [package_payload(p) for p in packages])
    for package in packages:
        Package.objects.filter(pk=package.pk).update(
            state=Package.State.CONFIRMED, known_to_amazon=True, sent_payload=payload_dict(package)
        )
    return {"packages": [p.package_id for p in packages]}


def update_package(step, client):
    shipment = step.shipment
    changed = list(shipment.packages.filter(known_to_amazon=True).exclude(state=Package.State.CONFIRMED)
                   .prefetch_related("items__line_item"))
    sent = []
    for package in changed:
        client.update_package(shipment.amazon_id, package.package_id, package_payload(package))
        Package.objects.filter(pk=package.pk).update(state=Package.State.CONFIRMED, sent_payload=payload_dict(package))
        if not sent:  # from the first one Amazon took, even if a later one fails
            _walked_back(shipment)
            advance(step, {"packages": [package.package_id]})
        sent.append(package.package_id)
    return {"packages": sent}


def _walked_back(shipment) -> None:
    """Amazon walks the shipment back to PACKAGE_CREATED: options, invoice and labels are made again."""
    Shipment.objects.filter(pk=shipment.pk).update(selected_shipping_option=None)
    shipment.packages.update(label_status=Package.LabelStatus.NONE, label_error="", label_printed_at=None)
    shipment.documents.filter(superseded=False).update(superseded=True, regenerate_reason="packages changed")


def shipping_options(step, client):
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
    return {"options": count, "preselected": preselect.option_id if preselect else None}


def _store_option(shipment, package, option: schemas.ShippingOptions, recommended) -> ShippingOption:
    pickup, slot = option.pickup_window, option.time_slot
    handover = (slot.handover_method if slot else None) or (pickup.handover_method if pickup else None) or ""
    return ShippingOption.objects.create(**fit_columns(ShippingOption, {
        "shipment": shipment, "package": package, "option_id": option.shipping_option_id, "ship_by": option.ship_by or "",
        "carrier_name": option.carrier_name or "",
        "ship_method": (option.model_extra or {}).get("shipMethod", "") if option.model_extra else "",
        "pickup_start": pickup.start_time if pickup else None, "pickup_end": pickup.end_time if pickup else None,
        "time_slot_start": slot.start_time if slot else None, "time_slot_end": slot.end_time if slot else None,
        "handover_method": handover,
        "handover_address": option.handover_location.to_amazon() if option.handover_location else {},
        "is_recommended": bool(recommended and recommended.shipping_option_id == option.shipping_option_id),
        "raw": option.to_amazon(),
    }))


def invoice(step, client):
    shipment = step.shipment
    if shipment.status in {Status.INVOICE_GENERATED, Status.SHIPLABEL_GENERATED}:
        response = client.retrieve_invoice(shipment.amazon_id)  # already generated: fetch it, do not regenerate
    else:
        response = client.generate_invoice(shipment.amazon_id)
        advance(step, {})  # Amazon made it: the shipment moved on, even if its document is refused below
    return store_invoice(step, response)


def labels(step, client):
    from fulfillment.documents.errors import DocumentError

    operation = step.payload.get("operation", "GENERATE")
    result = _generate_and_store_labels(step, client, operation=operation)
    try:  # the slip goes in the box with the label; a drawing problem must not cost the labels
        ensure_packing_slip(step.shipment, step.requested_by)
    except DocumentError as exc:
        result["warning"] = f"The packing slip could not be made: {exc.packer_message}"
    return result


def fetch_labels(step, client):
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
        kwargs["shipping_option_id"] = label_option_id(shipment, wanted)
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
    had_label = {p.package_id for p in packages.values() if p.label_status == Package.LabelStatus.READY}
    response = client.generate_ship_labels(
        shipment.amazon_id, package_ids=[p.package_id for p in wanted], operation=operation, **kwargs
    )
    # Amazon moves the shipment on once every package has a label there, stored here or not.
    labelled = had_label | {label.package_id for label in response.package_ship_label_list if _label_error(label) is None}
    result = {"operation": operation, "every_package_labelled": set(packages) <= labelled}
    reason = step.payload.get("reason", "") if operation == "REGENERATE" else ""
    stored, failures = store_ship_labels(shipment, response.package_ship_label_list, client=client,
                                         user=step.requested_by, reason=reason, label_options=kwargs,
                                         packages=packages)
    tracking_ids = [p.tracking_id for p in packages.values() if p.tracking_id]  # as stored just now
    Shipment.objects.filter(pk=shipment.pk).update(tracking_ids=tracking_ids)
    if failures:
        advance(step, result)  # the step fails, but Amazon made the labels it made
        raise ShipmentError("Some labels could not be stored. " + " ".join(failures))
    return {"documents": stored, **result}


def ship(step, client):
    shipment = step.shipment
    shipped = []
    for package in shipment.packages.filter(shipped_at__isnull=True):
        try:
            client.update_package_status(shipment.amazon_id, package.package_id, "SHIPPED")
        except AmazonConflict:
            # Amazon may have marked it shipped on the carrier's pickup scan: re-read and count that.
            shipment = refresh_step_shipment(step, client)
            remote = {p.get("id"): p.get("status") for p in shipment.raw.get("packages", [])}
            if shipment.status not in {Status.SHIPPED, Status.DELIVERED} and remote.get(package.package_id) not in {
                "SHIPPED", "DELIVERED"
            }:
                raise
        Package.objects.filter(pk=package.pk).update(shipped_at=timezone.now())
        shipped.append(package.package_id)
    if not shipment.packages.filter(shipped_at__isnull=True).exists():
        from fulfillment.claims.services import (
            release_finished,  # claims records events through services
        )

        release_finished(shipment)
    return {"packages": shipped}


def refresh(step, client):
    refresh_step_shipment(step, client)
    return {}
