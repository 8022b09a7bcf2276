"""A label purchase whose answer was lost (steps.label_in_doubt): Merchant Fulfillment lists no labels
by order, so a supervisor looks in Seller Central and says here what it shows. Either the label's
shipment id, which Packbench reads (getShipment: nothing is bought) and keeps as if it had bought it;
or that no label was bought, and the package may be bought a label again. Each says who settled it."""

from __future__ import annotations

from django.db import transaction

from fulfillment.amazon.errors import AmazonNotFound

from ...models import Package, Shipment, ShipmentEvent
from ...workflow import ShipmentError, StepNotAllowed
from ..events import record_event
from .steps import _package_of, _store_label, keep_label, package_items

LIVE = "Purchased"  # Merchant Fulfillment's Status of a label not voided


def mfn_adopt_label(step, client) -> dict:
    """MFN_ADOPT_LABEL: the label the supervisor found, checked against the order and the package
    before it is kept: an unknown id, another order's label, a voided one, one another package
    holds, or one for other items leave the package in doubt with a message saying which."""
    shipment = step.shipment
    package = _package_of(step)
    wanted = str(step.payload.get("label_shipment_id") or "")
    try:
        found = client.get_mfn_shipment(wanted)
    except AmazonNotFound as exc:
        raise ShipmentError(f"Amazon knows no label with shipment id {wanted}. Copy the id again from the "
                            "order's labels in Seller Central.") from exc
    if found.order_id != shipment.amazon_id:
        raise ShipmentError(f"Label {wanted} was bought for order {found.order_id or 'unknown'}, not "
                            f"{shipment.amazon_id}. Copy the id from this order's labels in Seller Central.")
    if found.status != LIVE:
        raise ShipmentError(f"Label {wanted} is voided in Seller Central (status {found.status}): it cannot "
                            "carry the package. If no other label was bought, say so and buy a new one.")
    holder = (Package.objects.filter(label_shipment_id=found.shipment_id, label_voided_at__isnull=True)
              .exclude(pk=package.pk).select_related("shipment").first())
    if holder is not None:
        raise ShipmentError(f"Label {wanted} is already package {holder.position}'s of order "
                            f"{holder.shipment.amazon_id}. Look for another label of this order in Seller Central.")
    carried = {str(i.get("OrderItemId")): int(i.get("Quantity") or 0) for i in found.raw.get("ItemList") or []}
    if carried != package_items(package):
        raise ShipmentError(f"Label {wanted} was bought for other items than package {package.position} holds. "
                            "Check which package it belongs to in Seller Central.")
    keep_label(package, found)
    record_event(shipment, ShipmentEvent.Kind.NOTE,
                 f"Label {found.shipment_id} found in Seller Central by {_who(step.requested_by)} is package "
                 f"{package.position}'s: {found.carrier} {found.service_name}, tracking {found.tracking_id}. "
                 "Nothing was bought again.", user=step.requested_by,
                 data={"package": package.package_id, "label_shipment_id": found.shipment_id, "adopted": True})
    return {"label_shipment_id": found.shipment_id, "documents": [_store_label(step, package, found)]}


def label_not_bought(shipment: Shipment, package_pk: int, user) -> Package:
    """The supervisor saw no label for the package in Seller Central: it may be bought again."""
    with transaction.atomic():
        package = (Package.objects.select_for_update().filter(shipment=shipment, pk=package_pk).first())
        if package is None:
            raise StepNotAllowed("That package is no longer part of this order.")
        if package.label_status != Package.LabelStatus.UNKNOWN:
            raise StepNotAllowed(f"Package {package.position}'s label purchase is not in doubt: nothing to settle.")
        package.label_status, package.label_error = Package.LabelStatus.NONE, ""
        package.save(update_fields=["label_status", "label_error", "updated_at"])
        record_event(shipment, ShipmentEvent.Kind.NOTE,
                     f"{_who(user)} checked Seller Central: no label was bought for package {package.position}. "
                     "It may be bought now.", user=user, data={"package": package.package_id, "not_bought": True})
    return package


def _who(user) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else "A supervisor"
