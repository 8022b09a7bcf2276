"""The shipment page and its Amazon steps: open, poll a step, run a step, reject, verify the scan."""


from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from .. import selectors, services, workflow
from ..forms import (
    CourierForm,
    RejectForm,
    VerifyForm,
)
from ..models import (
    ShipmentStep,
)
from ..step_kinds import BUTTON_KINDS, STEP_KINDS
from .base import (
    SHIPMENT_PAGE,
    Kind,
    _after_action,
    _body_context,
    _closing,
    _error,
    _form_error,
    _fragment,
    _packages_formset,
    _render_body,
    _stepper,
    station_view,
)
from .packages import _render_packages


@require_GET
@station_view
def detail(request, station, shipment):
    # Opening the page re-reads the shipment from Amazon in the background (it may be cancelled),
    # unless the sync or a step saw it at Amazon within SHIPMENT_FRESH_SECONDS.
    if not selectors.amazon_view_is_fresh(shipment):
        try:
            services.request_step(shipment, Kind.REFRESH, request.user)
        except workflow.ShipmentError:
            pass  # a refresh is always allowed; another one may just be running
        shipment = selectors.shipment_detail(shipment.amazon_id)
    return render(request, "shipments/detail.html", _body_context(request, station, shipment))


@require_GET
@station_view
def body(request, station, shipment):
    return _closing(render(request, _fragment(SHIPMENT_PAGE, "body"), _body_context(request, station, shipment)),
                    shipment)


@require_GET
@station_view
def header(request, station, shipment):
    return render(request, _fragment(SHIPMENT_PAGE, "header"), {"station": station, "shipment": shipment})


@require_GET
@station_view(load=selectors.shipment_for_polling)
def step_status(request, station, shipment, step_id):
    """One step's progress, polled every second while it is open: the most frequent request of the
    floor, so it reads the shipment's row and the step's, nothing the page shows."""
    try:
        step = selectors.step_for_polling(step_id)
    except ShipmentStep.DoesNotExist:
        raise Http404("No such step") from None
    if step.shipment_id != shipment.pk:
        raise Http404("No such step")
    response = render(request, _fragment(SHIPMENT_PAGE, "step_progress"), {"step": step, "shipment": shipment})
    if not step.is_open:
        # A background refresh that changed nothing only updates the header (the packer may be typing).
        quiet = STEP_KINDS[step.kind].background and request.GET.get("status") == shipment.status
        trigger_client_event(response, "shipment-refreshed" if quiet else "step-finished", after="settle")
    return response


@require_GET
@station_view(load=selectors.shipment_for_polling)
def chain_status(request, station, shipment):
    """Pack & label's progress, polled every second while the chain runs in place of each of its
    steps; when it has ended, the body reloads once (step-finished) and shows how."""
    chain = selectors.chain_for_polling(shipment, services.PACK_AND_LABEL)
    context = {"chain": chain, "shipment": shipment}
    if request.GET.get("status", shipment.status) != shipment.status:
        # A step moved Amazon's status since the last poll: the pill and the checklist follow it.
        context.update(status_moved=True, stepper=_stepper(shipment))
    response = render(request, _fragment(SHIPMENT_PAGE, "chain_progress"), context)
    if chain is None or not chain.running:
        trigger_client_event(response, "step-finished", after="settle")
    return response


@require_POST
@station_view(load=selectors.shipment_for_action)
def run_step(request, station, shipment, kind):
    """A button for one Amazon step (confirm, send packages, options, invoice, labels, ship)."""
    if kind not in BUTTON_KINDS:
        raise Http404("Unknown step")
    payload = {}
    if kind == Kind.LABELS and workflow.needs_courier_details(shipment):
        form = CourierForm(request.POST)
        if not form.is_valid():
            return _render_body(request, station, shipment, courier_form=form,
                                flash=_form_error(form))
        payload = form.cleaned_data
    try:
        services.request_step(shipment, kind, request.user, payload)
    except workflow.ShipmentError as exc:
        return _after_action(request, station, shipment, flash=_error(exc.packer_message))
    return _after_action(request, station, shipment)


REJECT_FORM = _fragment(SHIPMENT_PAGE, "reject_form")


@station_view
def reject(request, station, shipment):
    """Reject: a reason per line, then an explicit second confirmation."""
    lines = list(shipment.line_items.all())
    if request.method == "GET":
        return render(request, REJECT_FORM, {"shipment": shipment, "form": RejectForm(line_items=lines)})
    if request.method != "POST":
        return HttpResponse(status=405)
    form = RejectForm(request.POST, line_items=lines)
    if not form.is_valid():
        return render(request, REJECT_FORM, {"shipment": shipment, "form": form})
    if not form.cleaned_data["confirmed"]:
        return render(request, REJECT_FORM, {"shipment": shipment, "form": form, "confirming": True})
    reasons = form.reasons()
    payload = {"reason": next(iter(reasons.values())), "reasons": reasons}
    try:
        services.request_step(shipment, Kind.REJECT, request.user, payload)
    except workflow.ShipmentError as exc:
        return _after_action(request, station, shipment, flash=_error(exc.packer_message))
    return _after_action(request, station, shipment)


@require_POST
@station_view
def verify(request, station, shipment):
    """Scan to verify: one scanned unit ticks its line, a wrong one is refused loudly."""
    form = VerifyForm(request.POST)
    if form.is_valid():
        result = services.verify_scan(shipment, form.cleaned_data["code"], request.user)
        scan_result = {"accepted": result.ok, "message": result.message}
    else:
        scan_result = {"accepted": False, "message": " ".join(form.errors["code"])}
    if request.htmx:
        return _render_body(request, station, shipment, scan_result=scan_result)
    # A scanner's Enter can beat HTMX to a freshly drawn form: the plain post shows the same result.
    shipment = selectors.shipment_detail(shipment.amazon_id)
    return render(request, SHIPMENT_PAGE, _body_context(request, station, shipment, scan_result=scan_result))


@require_POST
@station_view
def skip_verification(request, station, shipment):
    """"Skip scanning and pack": noted in the history, then the packages form."""
    services.skip_verification(shipment, request.user)
    lines = list(shipment.line_items.all())
    return _render_packages(request, station, shipment, _packages_formset(station, shipment, lines))
