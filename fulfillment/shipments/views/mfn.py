"""Seller-fulfilled (MFN) orders at the station: label prices, buying a label (the cheapest in time,
or one the packer picks), confirming a package shipped, correcting a confirmation, voiding a label.

Each is an Amazon step of the one registry (step_kinds MFN_*), asked for with the package it is
about; a double click returns the open step. Store pickup steps need no package: they are plain
step buttons (views.shipment.run_step)."""

from django.http import Http404
from django.views.decorators.http import require_POST

from fulfillment.accounts.roles import ADMIN, SUPERVISOR
from fulfillment.documents.models import Document

from .. import services, workflow
from ..forms import MfnCorrectionForm, MfnLabelCheckForm
from ..models import Status
from ..services import mfn
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
            "mfn_label_check_form": MfnLabelCheckForm(),
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


@require_POST
@station_view(claim=False, acting_roles=(SUPERVISOR, ADMIN))
def mfn_label_check(request, station, shipment):
    """A supervisor settles a label purchase whose answer was lost: the label Seller Central shows is
    read from Amazon and kept (a step: nothing is bought), or none was bought and the packer may buy.
    The packer keeps the order (no claim is taken)."""
    form = MfnLabelCheckForm(request.POST)
    if not form.is_valid():
        return _after_action(request, station, shipment, flash=_form_error(form))
    package = request.POST.get("package", "")
    try:
        if form.cleaned_data["found"] == MfnLabelCheckForm.BOUGHT:
            services.request_step(shipment, Kind.MFN_ADOPT_LABEL, request.user,
                                  {"package": package, "label_shipment_id": form.cleaned_data["label_shipment_id"]})
        else:
            if not package.isdigit():
                raise workflow.StepNotAllowed("Choose one of the order's packages.")
            done = mfn.label_not_bought(shipment, int(package), request.user)
            return _after_action(request, station, shipment, flash={
                "level": "ok", "text": f"Package {done.position} may be bought a label now."})
    except workflow.ShipmentError as exc:
        return _after_action(request, station, shipment, flash=_error(exc.packer_message))
    return _after_action(request, station, shipment)
