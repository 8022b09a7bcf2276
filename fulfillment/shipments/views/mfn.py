"""Seller-fulfilled (MFN) orders at the station: label prices, buying a label (the cheapest in time,
or one the packer picks), confirming a package shipped, correcting a confirmation, voiding a label.

Each is an Amazon step of the one registry (step_kinds MFN_*), asked for with the package it is
about; a double click returns the open step. Store pickup steps need no package: they are plain
step buttons (views.shipment.run_step)."""

from django.http import Http404
from django.views.decorators.http import require_POST

from fulfillment.documents.models import Document

from .. import services, workflow
from ..forms import MfnCorrectionForm
from ..models import Status
from ..step_kinds import has_live_label
from .base import Kind, _after_action, _error, _form_error, station_view

PACKAGE_STEPS = {Kind.MFN_SERVICES, Kind.MFN_BUY_LABEL, Kind.MFN_FETCH_LABEL, Kind.MFN_CONFIRM, Kind.MFN_VOID_LABEL,
                 Kind.MFN_CORRECT}


def mfn_context(shipment, packages) -> dict:
    """What the MFN panel of the shipment body shows: the package being worked on, its offers."""
    package = workflow.mfn_package_to_work_on(shipment)
    offers = []
    if package is not None and not has_live_label(package):
        offers = sorted(package.shipping_options.all(), key=lambda o: (not o.raw.get("in_time"), float(o.raw.get("rate", 0))))
    label = None
    if package is not None and has_live_label(package):
        label = package.documents.filter(kind=Document.Kind.LABEL, superseded=False).first()
    return {"mfn_package": package, "mfn_offers": offers, "mfn_correction_form": MfnCorrectionForm(),
            "mfn_label": label,
            "mfn_live_labels": [p for p in packages if has_live_label(p) and not p.is_shipped],
            "stepper": _stepper(shipment, packages)}


def _stepper(shipment, packages) -> list[dict]:
    """An MFN order's checklist: packed, each package labelled, printed and confirmed (store pickup:
    ready, collected)."""
    if shipment.is_store_pickup:
        stages = [("Ready for pickup", shipment.status != Status.UNSHIPPED),
                  ("Picked up", shipment.status in {Status.SHIPPED, Status.CANCELLED})]
    else:
        stages = [("Pack", bool(packages)),
                  ("Labels bought", bool(packages) and all(has_live_label(p) or p.is_shipped for p in packages)),
                  ("Labels printed", bool(packages) and all(p.label_printed_at or p.is_shipped for p in packages)),
                  ("Confirmed shipped", shipment.status == Status.SHIPPED)]
    items, current_marked = [], False
    for label, done in stages:
        state = "done" if done else ("todo" if current_marked else "current")
        current_marked = current_marked or not done
        items.append({"label": label, "state": state})
    return items


@require_POST
@station_view
def mfn_step(request, station, shipment, kind):
    if kind not in PACKAGE_STEPS:
        raise Http404("Unknown step")
    payload = {"package": request.POST.get("package", "")}
    if kind == Kind.MFN_BUY_LABEL and request.POST.get("service_id"):
        payload["service_id"] = request.POST["service_id"][:128]
    if kind == Kind.MFN_CORRECT:
        form = MfnCorrectionForm(request.POST)
        if not form.is_valid():
            return _after_action(request, station, shipment, flash=_form_error(form))
        payload |= form.cleaned_data
    try:
        services.request_step(shipment, kind, request.user, payload)
    except workflow.ShipmentError as exc:
        return _after_action(request, station, shipment, flash=_error(exc.packer_message))
    return _after_action(request, station, shipment)
