"""The packer's packages: stored (with their ids) before Amazon ever hears of them, then sent."""

from __future__ import annotations

import secrets
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from fulfillment.amazon import schemas

from .. import selectors, workflow
from ..models import (
    Channel,
    Package,
    PackageLineItem,
    SerialNumber,
    Shipment,
    ShipmentEvent,
    ShipmentStep,
    ShippingOption,
    Status,
)
from ..workflow import PackageInput, PackageValidationError, ShipmentError, StepNotAllowed
from . import steps
from .events import record_event
from .locking import lock_shipment

Kind = ShipmentStep.Kind


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


def payload_dict(package: Package) -> dict:
    return package_payload(package).to_amazon()


def save_packages(shipment: Shipment, packages: list[PackageInput], user, *,
                  bounds: workflow.PackageBounds = workflow.DEFAULT_BOUNDS) -> list[Package]:
    """Validate and store the packages (ids generated and SAVED here, before any Amazon call).

    Before Amazon has packages, the set may be replaced freely (existing ids are reused by
    position, so a retry after a failed createPackages sends the same ids). Once Amazon has
    them, only their contents can change (same package ids); a change marks the package for
    updatePackage. `bounds`: what a plausible box measures at the packer's station. Raises
    PackageValidationError listing every problem; nothing is stored then."""
    if shipment.status in workflow.CLOSED_STATUSES or shipment.status == Status.SHIPLABEL_GENERATED:
        raise StepNotAllowed("Packages can no longer change: the label is generated or the shipment is closed.")
    if shipment.status == Status.ACCEPTED:
        raise StepNotAllowed("Confirm the shipment before packing it.")
    if shipment.channel == Channel.MFN and shipment.packages.filter(
            Q(shipped_at__isnull=False) | Q(label_voided_at__isnull=True) & ~Q(label_shipment_id="")).exists():
        raise StepNotAllowed("A package of this order has its label (or is shipped): void the label to change it.")
    line_items = list(shipment.line_items.all())
    all_serials = {s.strip() for p in packages for i in p.items for s in i.serial_numbers if s.strip()}
    elsewhere = selectors.serials_used_elsewhere(all_serials, exclude_shipment=shipment, named_at=shipment.location_id)
    problems = workflow.validate_packages(shipment, packages, line_items=line_items, serials_used_elsewhere=elsewhere,
                                          bounds=bounds)
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
            lock_shipment(shipment.pk)  # before its packages and lines, as the sync does (services/locking.py)
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
                    changed = payload_dict(package) != package.sent_payload
                    package.state = Package.State.DRAFT if changed else Package.State.CONFIRMED
                else:
                    package.state = Package.State.DRAFT
                package.save(update_fields=["state"])
                saved.append(package)
            for leftover in existing[len(packages):]:
                leftover.delete()  # only possible before Amazon has any package
            record_event(shipment, ShipmentEvent.Kind.PACKAGES_SAVED,
                         f"{len(saved)} package(s) saved: {', '.join(p.package_id for p in saved)}.", user=user,
                         data={"packages": [payload_dict(p) for p in saved]})
    except IntegrityError:
        raise PackageValidationError(
            ["A serial number you entered was just used on another shipment. Check the serial numbers and save again."]
        ) from None
    return saved


def submit_packages(shipment: Shipment, packages: list[PackageInput], user, *,
                    bounds: workflow.PackageBounds = workflow.DEFAULT_BOUNDS) -> ShipmentStep:
    """save_packages, then ask Amazon for createPackages (first time) or updatePackage (later). An
    MFN order's packages are ours until their labels are bought: nothing is sent (None)."""
    save_packages(shipment, packages, user, bounds=bounds)
    shipment.refresh_from_db()
    if shipment.channel == Channel.MFN:
        return None
    kind = Kind.CREATE_PACKAGES if shipment.status == Status.CONFIRMED else Kind.UPDATE_PACKAGE
    if kind == Kind.UPDATE_PACKAGE and not shipment.packages.exclude(state=Package.State.CONFIRMED).exists():
        raise StepNotAllowed("Nothing changed: Amazon already has these packages as they are.")
    return steps.request_step(shipment, kind, user)


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
    # The history says it in words; Amazon's long option id stays in the data (and the supervisor's history).
    pickup = f", pickup {timezone.localtime(option.pickup_start):%a %d %b %H:%M}" if option.pickup_start else ""
    late = " — after the ship-by time" if workflow.pickup_after_ship_by(option, shipment) else ""
    record_event(shipment, ShipmentEvent.Kind.OPTION_CHOSEN,
                 f"Shipping option chosen: {option.carrier_name or option.ship_by}{pickup}{late}.", user=user,
                 data={"option_id": option.option_id})
    return shipment
