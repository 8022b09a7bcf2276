"""What every station view shares: the role, station and shipment checks (`station_view`), what the
shipment body shows (`_body_context`), and how an action answers (the shipment body, or back to the page)."""

from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget, trigger_client_event

from fulfillment.accounts.locations import can_see_location
from fulfillment.accounts.roles import ADMIN, PACKER, SUPERVISOR, has_role
from fulfillment.claims.errors import ClaimError
from fulfillment.claims.services import assert_can_act
from fulfillment.documents.models import Document
from fulfillment.stations.models import BoxPreset

from .. import selectors, services, weighing, workflow
from ..forms import (
    CartonWeightForm,
    CourierForm,
    RegenerateLabelForm,
    ScanForm,
    ShippingOptionForm,
    VerifyForm,
    fast_path_form,
    package_formset,
)
from ..models import (
    Channel,
    Programme,
    Shipment,
    ShipmentStep,
    Status,
    WeightUnit,
)
from ..programmes import status_rank
from ..services import scanpack
from ..step_kinds import STEP_KINDS

Kind = ShipmentStep.Kind
STATION_ROLES = (PACKER, SUPERVISOR, ADMIN)
PACKING_ROLES = (PACKER, ADMIN)  # supervisors watch the station screens; they release work from supervision
# The pages; each HTMX fragment is a partial inside its page ("page.html#name").
SHIPMENT_PAGE = "shipments/detail.html"
QUEUE_PAGE = "shipments/queue.html"




def _fragment(page, name):
    return f"{page}#{name}"


def _choose_station(request):
    messages.info(request, "Choose the station you are working at first.")
    url = reverse("stations:choose")
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _shipment_or_404(amazon_id, station, load=None):
    # The same answer for a shipment of another location as for none: its id is not confirmed here.
    try:
        shipment = (load or selectors.shipment_detail)(amazon_id)
    except Shipment.DoesNotExist:
        raise Http404("No such shipment at this station") from None
    if shipment.location_id != station.location_id:
        raise Http404("No such shipment at this station")
    return shipment


def can_pack(user) -> bool:
    return has_role(user, *PACKING_ROLES)


def station_view(view=None, *, claim=True, load=None, acting_roles=PACKING_ROLES):
    """Check the role (any station role to look, `acting_roles` to POST: packer or admin unless a
    supervisor's decision, like settling a label purchase in doubt), resolve the station
    (else off to choose one) and, for shipment URLs, the shipment (`load(amazon_id)`, default
    everything its page shows). A POST on a shipment first claims it for the user (`assert_can_act`,
    unless `claim=False` for a read-only check); while another packer holds it, the view is not run
    and the packer is told who holds it."""

    def decorate(view):
        @wraps(view)
        def wrapped(request, *args, amazon_id=None, **kwargs):
            acting = request.method == "POST"
            if not has_role(request.user, *(acting_roles if acting else STATION_ROLES)):
                raise PermissionDenied
            station = request.station
            # The middleware offers only a station of the user's locations; checked again here,
            # where every station screen passes (accounts.locations states the rule).
            if station is None or not can_see_location(request.user, station.location_id):
                return _choose_station(request)
            if amazon_id is None:
                return view(request, station, *args, **kwargs)
            shipment = _shipment_or_404(amazon_id, station, load)
            if acting and claim:
                try:
                    assert_can_act(shipment, request.user)
                except ClaimError as exc:
                    return _refused(request, station, shipment, exc.packer_message)
            return view(request, station, shipment, *args, **kwargs)

        return wrapped

    return decorate(view) if view is not None else decorate


def _refused(request, station, shipment, text):
    """Nothing was done: the shipment page (HTMX: its body, whatever the form aimed at) with why."""
    if request.htmx:
        return reswap(retarget(_render_body(request, station, shipment, flash=_error(text)), "#shipment"), "innerHTML")
    messages.error(request, text)
    return redirect("shipments:detail", amazon_id=shipment.amazon_id)


def _render_body(request, station, shipment, **extra):
    shipment = selectors.shipment_detail(shipment.amazon_id)  # re-read: a step may have changed it
    return _closing(render(request, _fragment(SHIPMENT_PAGE, "body"), _body_context(request, station, shipment,
                                                                                       **extra)), shipment)


def _closing(response, shipment):
    # Shipped or cancelled: the packer's claim has ended; the claim panel above the body reads it again.
    return trigger_client_event(response, "shipment-closed") if shipment.is_closed else response


def _after_action(request, station, shipment, *, flash=None):
    """HTMX: the refreshed shipment body; plain form post: back to the shipment page."""
    if request.htmx:
        return _render_body(request, station, shipment, flash=flash)
    if flash:
        getattr(messages, "error" if flash["level"] == "error" else "success")(request, flash["text"])
    return redirect("shipments:detail", amazon_id=shipment.amazon_id)


def _error(text):
    return {"level": "error", "text": text}


def _form_error(form):
    """A refused form as one flash: every message it gives, in order."""
    return _error(" ".join(e for errors in form.errors.values() for e in errors))


def fast_path_eligible(shipment, lines) -> bool:
    """Single piece, no serials or other per-unit details, a recommended box: box and weight suffice."""
    return (
        shipment.status == Status.ACCEPTED
        and shipment.programme != Programme.SELF_SHIP  # Self-Ship needs the seller's tracking number
        and shipment.recommended_length is not None
        and shipment.recommended_weight is not None
        and not shipment.multi_piece
        and not shipment.requires_serials
        and not shipment.has_hazmat
        and all(
            line.country_of_origin_requirement != "REQUIRED" and line.item_value_requirement != "REQUIRED"
            for line in lines
        )
    )


def _stepper(shipment):
    """The workflow as a checklist (labels of the stages and whether each is done/current/skipped)."""
    current = status_rank(shipment.status)
    stages = [
        ("Confirm", Status.CONFIRMED, False),
        ("Pack and send packages", Status.PACKAGE_CREATED, False),
        ("Shipping option", Status.PICKUP_SLOT_RETRIEVED, not workflow.uses_shipping_options(shipment)),
        ("Invoice", Status.INVOICE_GENERATED, not workflow.invoice_needed(shipment)),
        ("Labels", Status.SHIPLABEL_GENERATED, False),
        ("Shipped", Status.SHIPPED, False),
    ]
    items, current_marked = [], False
    for label, reached_at, skipped in stages:
        if skipped:
            state = "skipped"
        elif current >= status_rank(reached_at):
            state = "done"
        elif not current_marked and current >= 0:
            state, current_marked = "current", True
        else:
            state = "todo"
        items.append({"label": label, "state": state})
    return items


def _body_context(request, station, shipment, **extra):
    """Everything the shipment body partial shows."""
    lines = list(shipment.line_items.all())
    packages = list(shipment.packages.all())
    next_action = workflow.next_action(shipment)
    # The page's read (selectors.shipment_detail) has them, even when there are none: no second query then.
    steps = shipment.recent_steps if hasattr(shipment, "recent_steps") else list(selectors.open_steps(shipment))
    open_steps = [step for step in steps if step.is_open]
    latest_packer_step = next((step for step in steps if not STEP_KINDS[step.kind].background), None)
    last_failure = latest_packer_step if latest_packer_step and latest_packer_step.status == "FAILED" else None
    if last_failure and any(STEP_KINDS[s.kind].background and s.status == "SUCCEEDED" and s.pk > last_failure.pk
                            for s in steps):
        last_failure = None  # re-read from Amazon since: the page now shows where the shipment stands
    documents = (shipment.current_documents if hasattr(shipment, "current_documents")
                 else list(selectors.current_documents(shipment)))
    labels_by_package = {doc.package_id: doc for doc in documents if doc.kind == Document.Kind.LABEL}
    events = selectors.recent_events(shipment, limit=30)
    chain = workflow.chain_progress(steps, events, chain=services.PACK_AND_LABEL, now=timezone.now())
    context = {
        "station": station,
        "shipment": shipment,
        "lines": lines,
        "packages": packages,
        "next": next_action,
        # While Pack & label runs, the page polls the chain (chain_status), not each of its steps.
        "open_steps": [step for step in open_steps
                       if not (chain and chain.running and step.chain == services.PACK_AND_LABEL)],
        # A background refresh does not block the packer; any other open step does.
        "step_running": any(not STEP_KINDS[step.kind].background for step in open_steps),
        "last_failure": last_failure,
        "events": events,
        "chain": chain,
        "can_pack": can_pack(request.user),
        "stepper": _stepper(shipment),
        "invoice": next((doc for doc in documents if doc.kind == Document.Kind.INVOICE), None),
        "packing_slip": next((doc for doc in documents if doc.kind == Document.Kind.PACKING_SLIP), None),
        "labels": [(package, labels_by_package.get(package.pk)) for package in packages]
        if shipment.status in {Status.SHIPLABEL_GENERATED, Status.SHIPPED, Status.DELIVERED} or labels_by_package
        else [],
        "can_reject": shipment.status in workflow.rejectable_statuses(shipment) and shipment.status != Status.CANCELLED,
        "verifying": next_action is not None and next_action.kind == workflow.VERIFY,
    }
    # Opening the page claims the shipment for a packer; a supervisor only looks.
    context["claim_on_open"] = context["can_pack"] and not shipment.is_closed
    if chain and chain.browser_labels and context["can_pack"]:
        # Pack & label ended with PDF/PNG labels: the page prints them (once: printing marks them printed).
        context["autoprint_urls"] = [
            _label_print_urls(shipment, doc)
            for doc in documents if doc.pk in chain.browser_labels and doc.package and not doc.package.label_printed_at
        ]
    context["show_documents"] = bool(context["invoice"] or context["packing_slip"] or context["labels"]
                                     or (next_action and next_action.kind == Kind.INVOICE))
    if next_action is not None:
        kind = next_action.kind
        if kind == Kind.CONFIRM and fast_path_eligible(shipment, lines) and "fast_path_form" not in extra:
            context["fast_path_form"] = fast_path_form(shipment, bounds=station.package_bounds())
        if kind == Kind.CONFIRM:
            context["presets"] = BoxPreset.objects.all()
        if kind == workflow.VERIFY:
            context["verify_form"] = VerifyForm()
            context["missing"] = [
                (line, line.number_of_units - line.cancelled_quantity - line.scanned_units)
                for line in lines if line.scanned_units < line.number_of_units - line.cancelled_quantity
            ]
        if kind == workflow.PACK and "formset" not in extra:
            context.update(_packages_context(request, station, shipment, _packages_formset(station, shipment, lines)))
        if kind == Kind.LABELS and workflow.needs_courier_details(shipment) and "courier_form" not in extra:
            context["courier_form"] = CourierForm()
        if shipment.shipping_options.all() and "option_form" not in extra and kind in {
                workflow.CHOOSE_OPTION, Kind.LABELS, Kind.INVOICE}:
            context["option_form"] = _option_form(shipment)
    elif shipment.is_closed and context["can_pack"]:
        context["scan_form"] = ScanForm()  # the next scan opens the next shipment from here
    if shipment.status == Status.SHIPLABEL_GENERATED and "regenerate_form" not in extra:
        context["regenerate_form"] = RegenerateLabelForm()
    if shipment.selected_shipping_option_id:
        context["chosen_option"] = shipment.selected_shipping_option
        context["chosen_late"] = workflow.pickup_after_ship_by(shipment.selected_shipping_option, shipment)
    if shipment.channel == Channel.MFN:
        from .mfn import mfn_context

        context.update(mfn_context(shipment, packages))
    if context["can_pack"] and not station.scale_host and "carton_weight_form" not in extra:
        # Scan to pack without a network scale: the open carton's weight is typed (Amazon's is only a hint).
        unit = scanpack.cartons(shipment)["cartons"][-1]["weight_unit"]  # the unit of the weight typed last, if any
        context["carton_weight_form"] = CartonWeightForm(initial={
            "weight_unit": unit or weighing.unit_code(shipment.recommended_weight_unit) or WeightUnit.KG})
    context.update(extra)
    flash = context.get("flash")
    if flash and flash.get("progress") and not (chain and chain.running):
        context["flash"] = None  # "Pack & label started": once it has ended, only how it ended shows
    return context


def _option_form(shipment, data=None):
    return ShippingOptionForm(data, shipment=shipment, choices=selectors.shipping_choices(shipment))


def _packages_formset(station, shipment, lines, data=None):
    """The packages form of the shipment at this station: its bounds, the serial registry, its URLs."""
    urls = {"refresh": reverse("shipments:packages", args=[shipment.amazon_id]),
            "check_serial": reverse("shipments:check_serial", args=[shipment.amazon_id])}
    return package_formset(
        shipment, lines, data, bounds=station.package_bounds(), urls=urls,
        used_elsewhere=lambda serials: selectors.serials_used_elsewhere(serials, exclude_shipment=shipment,
                                                                        named_at=station.location_id),
    )


def _packages_context(request, station, shipment, formset, **extra):
    return {"shipment": shipment, "station": station, "formset": _with_focus(formset),
            "presets": BoxPreset.objects.all(), "max_packages": workflow.MAX_PACKAGES, **extra}


def _focus(form, name):
    form.fields[name].widget.attrs["data-scan-focus"] = ""


def _with_focus(formset):
    """Where the cursor starts: the first field in error (a package's first quantity when the
    package as a whole is wrong, e.g. empty), else where it was put, else the first empty serial
    number, else the first package's weight."""
    if formset.is_bound and formset.total_error_count():
        for form in formset.forms:
            wrong = next((name for name in form.fields if name in form.errors), None)  # the first on the page
            if wrong is None and form.non_field_errors():
                wrong = next((name for name in form.fields if name.startswith("qty_")), None)
            if wrong:
                _focus(form, wrong)
                return formset
    fields = [(form, name) for form in formset.forms for name in form.fields]
    if any("data-scan-focus" in form.fields[name].widget.attrs for form, name in fields):
        return formset
    empty_serial = next(((form, name) for form, name in fields
                         if name.startswith("serial_") and not (form[name].value() or "").strip()), None)
    if empty_serial:
        _focus(*empty_serial)
    elif formset.forms and not any(name.startswith("serial_") for _, name in fields):
        _focus(formset.forms[0], "weight")
    return formset


def _label_print_urls(shipment, document) -> tuple[str, str]:
    """What the page prints a PDF/PNG label with: the PDF for the print frame, and where it then
    POSTs that the label was printed (a GET never changes anything)."""
    return (reverse("shipments:document_pdf", args=[shipment.amazon_id, document.pk]),
            reverse("shipments:label_printed", args=[shipment.amazon_id, document.pk]))
