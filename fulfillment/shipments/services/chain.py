"""Pack & label (the fast path).

The packer confirms box and weight once; the worker then runs confirm, packages, options, invoice
and labels one after the other and prints ZPL labels at the packer's station. The chain lives on
the steps (payload "chain"), so it carries on with the browser closed. Every stop short of a
requested next step is written to the history as an event with data "chain_ended".
"""

from __future__ import annotations

import logging

from fulfillment.documents.models import Document

from .. import workflow
from ..models import Shipment, ShipmentEvent, ShipmentStep
from ..step_kinds import PACK_AND_LABEL_KINDS
from ..workflow import PackageInput, PackageItemInput, PackageValidationError, ShipmentError
from . import steps
from .events import record_event
from .packages import save_packages
from .printing import print_label

logger = logging.getLogger(__name__)

Kind = ShipmentStep.Kind


# --- Pack & label (the fast path) ------------------------------------------------------------------
# The packer confirms box and weight once; the worker then runs confirm, packages, options, invoice
# and labels one after the other and prints ZPL labels at the packer's station. The chain lives on
# the steps (payload "chain"), so it carries on with the browser closed. Every stop short of a
# requested next step is written to the history as an event with data "chain_ended".

PACK_AND_LABEL = "pack_and_label"
CHAIN_KEYS = ("chain", "package", "packages", "station")


def _fast_path_package(shipment: Shipment, package: dict) -> PackageInput:
    """One box with every unit of the shipment in it."""
    items = [PackageItemInput(line_item_id=line.line_item_id, quantity=line.number_of_units - line.cancelled_quantity)
             for line in shipment.line_items.all() if line.number_of_units > line.cancelled_quantity]
    return PackageInput(items=items, **package)


def _scanned_package(package: dict) -> PackageInput:
    """A carton packed by scanning (services.scanpack), as the chain's payload carries it."""
    items = [PackageItemInput(line_item_id=item["line_item_id"], quantity=int(item["quantity"]),
                              serial_numbers=list(item.get("serial_numbers") or [])) for item in package["items"]]
    return PackageInput(items=items, **{key: value for key, value in package.items() if key != "items"})


def start_scanned_pack_and_label(shipment: Shipment, packages: list[dict], user, *, station=None) -> ShipmentStep:
    """Pack & label for cartons packed by scanning: each with its box, weight, items and serials
    (`packages`, JSON-ready dicts, see _scanned_package). From ACCEPTED it starts at the confirm
    step, from CONFIRMED at the packages; then it goes on as Pack & label does."""
    bounds = station.package_bounds() if station else workflow.DEFAULT_BOUNDS
    inputs = [_scanned_package(package) for package in packages]
    payload = {"chain": PACK_AND_LABEL, "packages": packages, "station": station.pk if station else None}
    if shipment.status == workflow.Status.ACCEPTED:
        problems = workflow.validate_packages(shipment, inputs, bounds=bounds)
        if problems:
            raise PackageValidationError(problems)
        return steps.request_step(shipment, Kind.CONFIRM, user, payload)
    save_packages(shipment, inputs, user, bounds=bounds)
    return steps.request_step(shipment, Kind.CREATE_PACKAGES, user, payload)


def start_pack_and_label(shipment: Shipment, package: dict, user, *, station=None) -> ShipmentStep:
    """Ask for the confirm step of a Pack & label chain. `package`: length, width, height,
    dimension_unit, weight, weight_unit (as strings). The box is checked before anything goes to
    Amazon (PackageValidationError); labels are printed at `station`."""
    bounds = station.package_bounds() if station else workflow.DEFAULT_BOUNDS
    problems = workflow.validate_packages(shipment, [_fast_path_package(shipment, package)], bounds=bounds)
    if problems:
        raise PackageValidationError(problems)
    payload = {"chain": PACK_AND_LABEL, "package": package, "station": station.pk if station else None}
    return steps.request_step(shipment, Kind.CONFIRM, user, payload)


def continue_chain(step: ShipmentStep, *, queue: bool = True) -> ShipmentStep | None:
    """After a step of a Pack & label chain succeeded: ask for the next Amazon step with the same
    chain (returned; queued unless `queue=False`, see steps.request_step), or print the labels once
    they are stored. Never fails the step that just succeeded."""
    if step.chain != PACK_AND_LABEL:
        return None
    payload = {key: step.payload[key] for key in CHAIN_KEYS if key in step.payload}
    user = step.requested_by
    # As the step's success left it (runner: `advance`, or the re-read that found the step done), not
    # read again; request_step checks the next step against the locked row.
    shipment = step.shipment
    try:
        after = workflow.next_action(shipment)
        if after is None:
            end_chain(shipment, user, f"Pack & label stopped: the shipment is {shipment.status.lower()}.")
        elif after.kind in {workflow.VERIFY, workflow.PACK}:
            packages = ([_scanned_package(p) for p in payload["packages"]] if payload.get("packages")
                        else [_fast_path_package(shipment, payload.get("package") or {})])
            save_packages(shipment, packages, user)
            return steps.request_step(shipment, Kind.CREATE_PACKAGES, user, payload, queue=queue)
        elif after.kind in PACK_AND_LABEL_KINDS and after.kind != step.kind:
            return steps.request_step(shipment, after.kind, user, payload, queue=queue)
        elif after.kind == workflow.PRINT_LABELS:
            _print_chain_labels(shipment, payload.get("station"), user)
        else:  # a choice only the packer can make (no recommended shipping option), or nothing left
            end_chain(shipment, user, f"Pack & label stopped here: {after.label.lower()} is up to you.")
    except (ShipmentError, TypeError) as exc:  # TypeError: a package payload that does not fit PackageInput
        message = exc.packer_message if isinstance(exc, ShipmentError) else "the box details were incomplete."
        end_chain(shipment, user, f"Pack & label stopped: {message} Carry on step by step.")
    except Exception:
        logger.exception("Pack & label of %s stopped after step %s", shipment.amazon_id, step.pk)
        end_chain(shipment, user, "Pack & label stopped unexpectedly. Carry on step by step.")
    return None


def _print_chain_labels(shipment: Shipment, station_id, user) -> None:
    """Every label to the station's Zebra (PNG/PDF as ZPL), the invoice and packing slip to its document
    printer; what the station has no printer for is left for the page to print in the browser."""
    from fulfillment.printers.ipp import DocumentPrinterError
    from fulfillment.printers.zebra import PrinterError
    from fulfillment.stations.models import Station

    from .printing import print_document, prints_silently

    station = Station.objects.filter(pk=station_id).first() if station_id else None
    documents = list(Document.objects.filter(shipment=shipment, superseded=False).select_related("package"))
    for document in documents:
        document.shipment = shipment  # the chain's, not read again with each document
    labels = [d for d in documents if d.kind == Document.Kind.LABEL]
    # A ZPL label cannot go through the browser: without a label printer it is a problem to show.
    problems, browser = [], [d.pk for d in labels if not d.is_zpl and not prints_silently(d, station)]
    for document in labels:
        if document.pk not in browser:
            try:
                print_label(document, station=station, user=user)
            except (PrinterError, ShipmentError) as exc:
                problems.append(exc.packer_message)
    papers, paper_problems = [d for d in documents if d.kind != Document.Kind.LABEL and prints_silently(d, station)], []
    for document in papers:
        try:
            print_document(document, station=station, user=user)
        except (DocumentPrinterError, ShipmentError) as exc:
            paper_problems.append(f"{document.get_kind_display()}: {exc.packer_message}")
    if problems:
        message = "Pack & label: labels stored but not printed. " + " ".join(dict.fromkeys(problems + paper_problems))
    elif paper_problems:  # the labels are on: the packer can ship, and print the paper again from Documents
        message = ("Pack & label done: labels printed, but not every document. " + " ".join(paper_problems)
                   + " Print it again from Documents.")
    elif browser:
        message = "Pack & label done: labels stored; they print from the shipment page."
    else:
        where = f" on {station.name}'s printer" if station else ""
        message = f"Pack & label done: {len(labels)} label{'s' if len(labels) != 1 else ''} printed{where}"
        message += f", {' and '.join(d.get_kind_display().lower() for d in papers)} on its document printer." \
            if papers else "."
    end_chain(shipment, user, message, done=not (problems or paper_problems), browser_labels=browser)


def end_chain(shipment: Shipment, user, message: str, *, done: bool = False, browser_labels=()) -> None:
    record_event(shipment, ShipmentEvent.Kind.NOTE, message, user=user,
                 data={"chain": PACK_AND_LABEL, "chain_ended": True, "done": done,
                       "browser_labels": list(browser_labels)})
