"""The MFN step handlers (named by step_kinds.STEP_KINDS): label prices, buying, fetching and voiding
a package's label, confirming and correcting a package shipped, the store pickup steps; and the
re-read after an unclear answer or a lost worker (`already_done`)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from fulfillment.amazon.errors import AmazonBadRequest, AmazonError
from fulfillment.documents.models import Document

from ...models import Package, Shipment, ShipmentEvent, ShipmentStep, ShippingOption
from ...step_kinds import has_live_label
from ...workflow import ShipmentError, StepNotAllowed
from ..events import record_event
from ..progress import advance

Kind = ShipmentStep.Kind
BUYING = "create_shipment_sent_at"  # in a buy step's result while createShipment may be in flight
# Where Amazon's order stands (fulfillmentStatus, orders 2026-01-01) once a pickup ending was reported.
PICKUP_ENDINGS = {Kind.MFN_PICKED_UP: "SHIPPED", Kind.MFN_REFUSED: "CANCELLED"}
READY_SENT = "ready_for_pickup_sent_at"  # in a ReadyForPickup step's result once it was sent
OPEN_ORDER = {"UNSHIPPED", "PARTIALLY_SHIPPED"}  # fulfillmentStatus of an order a pickup step may still move
_GRAMS = {"G": Decimal(1), "KG": Decimal(1000)}
_OUNCES = {"OZ": Decimal(1), "LB": Decimal(16)}
_CENTIMETRES = {"CM": Decimal(1), "M": Decimal(100)}


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
            raise ShipmentError(label_in_doubt(package, "Amazon did not say whether the label was bought.")) from exc
        raise
    keep_label(package, bought, service)
    record_event(shipment, ShipmentEvent.Kind.OPTION_CHOSEN,
                 f"Label bought for package {package.position}: {service.name}, {(bought.rate or service.rate):.2f} "
                 f"{bought.currency or service.currency}, tracking {bought.tracking_id}.", user=step.requested_by,
                 data={"package": package.package_id, "label_shipment_id": bought.shipment_id,
                       "service": service.service_id})
    result = {"label_shipment_id": bought.shipment_id, "service": service.service_id, "cost": str(service.rate)}
    return {**result, "documents": [_store_label(step, package, bought)]}


def keep_label(package: Package, bought, service=None) -> None:
    """A bought label's id, service, cost and tracking on its package (its file is stored apart);
    `service` fills what the purchase's answer leaves out."""
    Package.objects.filter(pk=package.pk).update(
        label_shipment_id=bought.shipment_id[:64], service_id=(bought.service_id or getattr(service, "service_id", ""))[:128],
        service_name=(bought.service_name or getattr(service, "name", ""))[:128],
        label_cost=bought.rate or getattr(service, "rate", bought.rate),
        label_currency=(bought.currency or getattr(service, "currency", ""))[:3],
        carrier_name=(bought.carrier or getattr(service, "carrier", ""))[:128],
        tracking_id=bought.tracking_id[:128], label_voided_at=None, label_printed_at=None,
        label_status=Package.LabelStatus.GENERATED, label_error="")
    shipment = package.shipment
    Shipment.objects.filter(pk=shipment.pk).update(
        tracking_ids=[t for t in shipment.packages.values_list("tracking_id", flat=True) if t])


def label_in_doubt(package: Package, why: str) -> str:
    """The package's label may be bought: no purchase until a supervisor has checked Seller Central
    and said what it shows (services.mfn.recovery). Returns the packer's message."""
    message = (f"{why} Do not buy again: a supervisor checks the order's labels in Seller Central, then "
               f"enters here the label found for package {package.position}, or says none was bought.")
    Package.objects.filter(pk=package.pk).update(label_status=Package.LabelStatus.UNKNOWN, label_error=message)
    return message


def _store_label(step, package: Package, bought) -> int:
    """Keep the label file once it is known to be a label (formats.checked_label). Otherwise the
    package says why, and MFN_FETCH_LABEL asks Amazon for the same label again."""
    from fulfillment.documents import formats
    from fulfillment.documents.errors import DocumentError

    from ..documents import _store_once

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
    so it is not bought again blindly; the package waits for a supervisor (label_in_doubt)."""
    if step.kind == Kind.MFN_BUY_LABEL:
        package = _package_of(step)
        if has_live_label(package):
            return True
        if BUYING in _marks(step):
            raise ShipmentError(label_in_doubt(package, "Packbench stopped while Amazon was selling this label, so "
                                                        "it may be bought."))
        return False
    if step.kind in PICKUP_ENDINGS:  # the order's own status says whether the buyer's step was reported
        if _fulfillment_status(client, step.shipment) != PICKUP_ENDINGS[step.kind]:
            return False
        advance(step, {})
        return True
    if step.kind != Kind.MFN_CONFIRM:
        return False  # ReadyForPickup shows nowhere in Amazon's order: mfn_ready_for_pickup sends it again
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


def _marks(step) -> dict:
    """What the step's result says as last written (a handler marks a call as sent before sending it)."""
    return ShipmentStep.objects.filter(pk=step.pk).values_list("result", flat=True).first() or {}


def _fulfillment_status(client, shipment) -> str:
    """Where Amazon's order stands (getOrder 2026-01-01 fulfillmentStatus, upper case; "" if unsaid)."""
    order = client.get_order_details(shipment.amazon_id, included_data=["FULFILLMENT"])
    return ((order.get("fulfillment") or {}).get("fulfillmentStatus") or "").upper()


def mfn_ready_for_pickup(step, client) -> dict:
    """ReadyForPickup shows nowhere in Amazon's order, so a lost answer is settled by sending it again:
    Amazon refuses a second one (400: no unit is left to make ready). That refusal, after a send of
    ours whose answer never came and while the order is still open, means the first one went."""
    sent = _marks(step)
    ShipmentStep.objects.filter(pk=step.pk).update(result={READY_SENT: timezone.now().isoformat()})
    try:
        return _pickup(step, client, "ReadyForPickup")
    except AmazonBadRequest as exc:
        if READY_SENT not in sent:
            raise
        return _ready_already(step, client, exc)


def _ready_already(step, client, refusal: AmazonBadRequest) -> dict:
    shipment = step.shipment
    status = _fulfillment_status(client, shipment)
    if status not in OPEN_ORDER:
        raise ShipmentError(f"Amazon's order is now {status.lower().replace('_', ' ') or 'unknown'}: it cannot be "
                            "made ready for pickup. Refresh the order; if it should still be collected, tell "
                            "your supervisor.") from refusal
    record_event(shipment, ShipmentEvent.Kind.NOTE,
                 "Amazon's answer to “Ready for pickup” was lost; sent again, Amazon answered that nothing is "
                 "left to make ready, so the order was already ready for pickup.", user=step.requested_by,
                 data={"amazon_says": refusal.amazon_message, "request_id": refusal.request_id or ""})
    return {"status": "ReadyForPickup", "recovered": True}


def mfn_picked_up(step, client) -> dict:
    return _pickup(step, client, "PickedUp")


def mfn_refused(step, client) -> dict:
    return _pickup(step, client, "RefusedPickup")
