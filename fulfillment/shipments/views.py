"""The packing station screens. Views parse the request, call a service or selector and render
a page or an HTMX fragment; the workflow's rules live in `workflow` and `services`.

Every Amazon step is asked for with `services.request_step` (idempotent: a double click returns
the same step) and runs in the background; the page polls the step (`step_status`) every second
and reloads the shipment (`step-finished`) when it ends.

Who may do what: packers, supervisors and admins see every station screen; only packers and
admins act (every POST). An action on a shipment also needs its claim: while another packer
holds the shipment nothing is done and the packer is told who has it.
"""

from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget, trigger_client_event

from fulfillment.accounts.roles import ADMIN, PACKER, SUPERVISOR, has_role
from fulfillment.claims.errors import ClaimError
from fulfillment.claims.selectors import live_claim
from fulfillment.claims.services import assert_can_act
from fulfillment.documents.models import Document
from fulfillment.stations.models import BoxPreset

from . import selectors, services, tasks, workflow
from .forms import (
    PACKAGES_PREFIX,
    CourierForm,
    RegenerateLabelForm,
    RejectForm,
    ScanForm,
    ShippingOptionForm,
    VerifyForm,
    fast_path_form,
    package_formset,
)
from .models import (
    Programme,
    Shipment,
    ShipmentStep,
    Status,
)
from .programmes import status_rank
from .step_kinds import BUTTON_KINDS, STEP_KINDS

Kind = ShipmentStep.Kind
STATION_ROLES = (PACKER, SUPERVISOR, ADMIN)
PACKING_ROLES = (PACKER, ADMIN)  # supervisors watch the station screens; they release work from supervision
# The pages; each HTMX fragment is a partial inside its page ("page.html#name").
SHIPMENT_PAGE = "shipments/detail.html"
QUEUE_PAGE = "shipments/queue.html"


def _fragment(page, name):
    return f"{page}#{name}"


# --- Helpers -----------------------------------------------------------------------------------


def _choose_station(request):
    messages.info(request, "Choose the station you are working at first.")
    url = reverse("stations:choose")
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _shipment_or_404(amazon_id, station):
    try:
        shipment = selectors.shipment_detail(amazon_id)
    except Shipment.DoesNotExist:
        raise Http404("No such shipment") from None
    if shipment.location_id != station.location_id:
        raise Http404("This shipment belongs to another location")
    return shipment


def can_pack(user) -> bool:
    return has_role(user, *PACKING_ROLES)


def station_view(view=None, *, claim=True):
    """Check the role (any station role to look, packer or admin to POST), resolve the station
    (else off to choose one) and, for shipment URLs, the shipment. A POST on a shipment first
    claims it for the user (`assert_can_act`, unless `claim=False` for a read-only check); while
    another packer holds it, the view is not run and the packer is told who holds it."""

    def decorate(view):
        @wraps(view)
        def wrapped(request, *args, amazon_id=None, **kwargs):
            acting = request.method == "POST"
            if not has_role(request.user, *(PACKING_ROLES if acting else STATION_ROLES)):
                raise PermissionDenied
            station = request.station
            if station is None:
                return _choose_station(request)
            if amazon_id is None:
                return view(request, station, *args, **kwargs)
            shipment = _shipment_or_404(amazon_id, station)
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
    steps = list(getattr(shipment, "recent_steps", None) or selectors.open_steps(shipment))
    open_steps = [step for step in steps if step.is_open]
    latest_packer_step = next((step for step in steps if not STEP_KINDS[step.kind].background), None)
    last_failure = latest_packer_step if latest_packer_step and latest_packer_step.status == "FAILED" else None
    if last_failure and any(STEP_KINDS[s.kind].background and s.status == "SUCCEEDED" and s.pk > last_failure.pk
                            for s in steps):
        last_failure = None  # re-read from Amazon since: the page now shows where the shipment stands
    documents = list(getattr(shipment, "current_documents", None) or selectors.current_documents(shipment))
    labels_by_package = {doc.package_id: doc for doc in documents if doc.kind == Document.Kind.LABEL}
    events = selectors.recent_events(shipment, limit=30)
    chain = workflow.chain_progress(steps, events, chain=services.PACK_AND_LABEL, now=timezone.now())
    context = {
        "station": station,
        "shipment": shipment,
        "lines": lines,
        "packages": packages,
        "next": next_action,
        "open_steps": open_steps,
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
    context.update(extra)
    return context


def _option_form(shipment, data=None):
    return ShippingOptionForm(data, shipment=shipment, choices=selectors.shipping_choices(shipment))


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


# --- Queue -------------------------------------------------------------------------------------


@require_GET
@station_view
def queue(request, station):
    context = {"station": station, "queue": selectors.queue_for_location(station.location_id),
               "scan_form": ScanForm(), **_sync_context(request, station)}
    return render(request, QUEUE_PAGE, context)


def _ago(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{round(seconds / 3600)} h"


def _sync_context(request, station):
    """How fresh the queue is: when Amazon was last read for this location, and whether a sync runs."""
    state = selectors.sync_state(station.location_id)
    checked = state.last_synced_at
    age = max(int((timezone.now() - checked).total_seconds()), 0) if checked else None
    return {
        "sync": state,
        "sync_age": _ago(age) if age is not None else "",
        "sync_age_seconds": age,
        "sync_running": tasks.sync_running(station.location_id),
        "can_pack": can_pack(request.user),
    }


@require_http_methods(["GET", "POST"])
@station_view
def sync(request, station):
    """The queue's "Amazon checked … ago" line, polled; POST is its "Sync now" button."""
    if request.method == "POST":
        tasks.request_sync(station.location_id)
        if not request.htmx:
            return redirect("shipments:queue")
    context = {"station": station, **_sync_context(request, station)}
    response = render(request, _fragment(QUEUE_PAGE, "sync_status"), context)
    if not context["sync_running"] and (request.method == "POST" or request.GET.get("running")):
        trigger_client_event(response, "queue-synced")  # the sync just ended: redraw the queue now
    return response


@require_GET
@station_view
def queue_list(request, station):
    """The queue table alone: the page re-fetches it every 10 seconds."""
    context = {"station": station, "queue": selectors.queue_for_location(station.location_id)}
    return render(request, _fragment(QUEUE_PAGE, "queue_list"), context)


@require_GET
@station_view
def open_shipment(request, station):
    """The scan box: a shipment id, buyer order id or tracking number opens that shipment. What was
    scanned stays in the box when it opens nothing, with why."""
    form = ScanForm(request.GET)
    if form.is_valid():
        code = form.cleaned_data["q"]
        shipment = selectors.find_shipment(code, location_id=station.location_id)
        if shipment is not None:
            url = reverse("shipments:detail", args=[shipment.amazon_id])
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
        if selectors.find_shipment(code):
            form.add_error("q", f"{code} belongs to another location, not {station.location_id}. "
                                "Check you are at the right station.")
        else:
            form.add_error("q", f"No shipment found for “{code}”: it is no shipment id, buyer order id or "
                                "tracking number here. Check the code and scan again.")
    context = {"station": station, "scan_form": form}
    if request.htmx:
        return render(request, _fragment(QUEUE_PAGE, "scan_form"), context)
    context.update(queue=selectors.queue_for_location(station.location_id), **_sync_context(request, station))
    return render(request, QUEUE_PAGE, context, status=404)


# --- Shipment page -----------------------------------------------------------------------------------


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
@station_view
def step_status(request, station, shipment, step_id):
    """One step's progress, polled every second while it is open."""
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


@require_POST
@station_view
def run_step(request, station, shipment, kind):
    """A button for one Amazon step (confirm, send packages, options, invoice, labels, ship)."""
    if kind not in BUTTON_KINDS:
        raise Http404("Unknown step")
    payload = {}
    if kind == Kind.LABELS and workflow.needs_courier_details(shipment):
        form = CourierForm(request.POST)
        if not form.is_valid():
            return _render_body(request, station, shipment, courier_form=form,
                                flash=_error(" ".join(e for errors in form.errors.values() for e in errors)))
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


def _packages_formset(station, shipment, lines, data=None):
    """The packages form of the shipment at this station: its bounds, the serial registry, its URLs."""
    urls = {"refresh": reverse("shipments:packages", args=[shipment.amazon_id]),
            "check_serial": reverse("shipments:check_serial", args=[shipment.amazon_id])}
    return package_formset(
        shipment, lines, data, bounds=station.package_bounds(), urls=urls,
        used_elsewhere=lambda serials: selectors.serials_used_elsewhere(serials, exclude_shipment=shipment),
    )


def _packages_context(request, station, shipment, formset, **extra):
    return {"shipment": shipment, "station": station, "formset": _with_focus(formset),
            "presets": BoxPreset.objects.all(), "max_packages": workflow.MAX_PACKAGES, **extra}


def _render_packages(request, station, shipment, formset, **extra):
    template = _fragment(SHIPMENT_PAGE, "packages_form") if request.htmx else "shipments/packages.html"
    return render(request, template, _packages_context(request, station, shipment, formset, **extra))


@station_view
def packages(request, station, shipment):
    """The packages form: GET shows it (prefilled), POST re-renders it (add/remove a package,
    a new unit count) or saves it and sends the packages to Amazon. Whatever happens, every value
    typed comes back as it was typed."""
    lines = list(shipment.line_items.all())
    if request.method == "GET":
        return _render_packages(request, station, shipment, _packages_formset(station, shipment, lines))
    if request.method != "POST":
        return HttpResponse(status=405)
    data = request.POST.copy()
    action = data.get("form_action", "save")
    if action != "save":
        # Editing the form, not sending it: re-render from what was typed, without error noise.
        notice = _edit_package_data(data, action)
        formset = _quiet(_packages_formset(station, shipment, lines, data))
        if action == "add" and not notice:
            _focus(formset.forms[-1], "length")
        return _render_packages(request, station, shipment, formset, quiet=True, notice=notice)
    formset = _packages_formset(station, shipment, lines, data)
    problems = []
    if formset.is_valid():
        try:
            services.submit_packages(shipment, formset.to_inputs(), request.user, bounds=station.package_bounds())
        except workflow.PackageValidationError as exc:
            problems = exc.problems
        except workflow.ShipmentError as exc:
            problems = [exc.packer_message]
        else:
            response = _after_action(request, station, shipment)
            return retarget(response, "#shipment") if request.htmx else response
    # Nothing typed is lost: the same form comes back with the values and every problem.
    return _render_packages(request, station, shipment, formset, problems=problems)


def _quiet(formset):
    """A formset re-drawn while the packer edits it: what was typed, without judging it yet."""
    from django.forms.utils import ErrorDict, ErrorList

    formset._errors, formset._non_form_errors = [], ErrorList()
    for form in formset.forms:
        form._errors = ErrorDict()
    return formset


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


def _edit_package_data(data, action) -> str:
    """Form-only edits that need no Amazon: add or remove a package. Returns a note for the packer
    when the edit cannot be made (no more than workflow.MAX_PACKAGES)."""
    total_key = f"{PACKAGES_PREFIX}-TOTAL_FORMS"
    try:
        total = min(max(int(data.get(total_key) or 1), 1), workflow.MAX_PACKAGES)
    except ValueError:
        total = 1
    data[total_key] = str(total)
    if action == "add":
        if total >= workflow.MAX_PACKAGES:
            return f"A shipment has at most {workflow.MAX_PACKAGES} packages."
        data[total_key] = str(total + 1)
        prefix = f"{PACKAGES_PREFIX}-{total}-"
        for name in ("length", "width", "height", "dimension_unit", "weight_unit"):
            data.setdefault(prefix + name, data.get(f"{PACKAGES_PREFIX}-0-{name}", ""))
    elif action.startswith("remove-") and total > 1:
        try:
            index = int(action.split("-", 1)[1])
        except ValueError:
            return ""
        # Shift the later packages down one place, keeping what was typed in them.
        for n in range(index, total - 1):
            for key in [k for k in data if k.startswith(f"{PACKAGES_PREFIX}-{n + 1}-")]:
                data.setlist(key.replace(f"{PACKAGES_PREFIX}-{n + 1}-", f"{PACKAGES_PREFIX}-{n}-", 1), data.getlist(key))
        for key in [k for k in data if k.startswith(f"{PACKAGES_PREFIX}-{total - 1}-")]:
            del data[key]
        data[total_key] = str(total - 1)
    return ""


@require_POST
@station_view(claim=False)  # a read-only check while typing; saving the packages claims the shipment
def check_serial(request, station, shipment):
    """Inline check of one serial box while the packer scans, by the same rules the form saves by
    (workflow.serial_problem, workflow.serial_clashes): a control character or an over-long scan,
    a serial typed twice in this form, or one already used on another shipment."""
    field_name = request.htmx.trigger_name if request.htmx else request.POST.get("field")
    serial = (request.POST.get(field_name or "", "") or "").strip()
    message, ok = "", True
    if serial:
        problem = workflow.serial_problem(serial)
        typed = [(request.POST.get(name) or "").strip() for name in request.POST if "-serial_" in name]
        clash = workflow.serial_clashes(
            typed, selectors.serials_used_elsewhere([serial], exclude_shipment=shipment)).get(serial)
        ok, message = not (problem or clash), (f"Serial {problem}" if problem else clash) or "✓"
    return render(request, _fragment(SHIPMENT_PAGE, "serial_status"), {"ok": ok, "message": message})


@require_POST
@station_view
def choose_option(request, station, shipment):
    form = _option_form(shipment, request.POST)
    if not form.is_valid():
        errors = " ".join(e for errors in form.errors.values() for e in errors)
        if "accept_late" in form.errors:  # the cursor (and the screen) on the box to tick
            form.fields["accept_late"].widget.attrs["data-scan-focus"] = ""
        return _render_body(request, station, shipment, option_form=form, flash=_error(errors))
    try:
        services.choose_shipping_option(shipment, form.cleaned_data["option"], request.user)
    except workflow.ShipmentError as exc:
        return _after_action(request, station, shipment, flash=_error(exc.packer_message))
    return _after_action(request, station, shipment)


@require_POST
@station_view
def regenerate_labels(request, station, shipment):
    form = RegenerateLabelForm(request.POST)
    if not form.is_valid():
        return _render_body(request, station, shipment, regenerate_form=form,
                            flash=_error(" ".join(form.errors["reason"])))
    try:
        services.request_label_regeneration(shipment, request.user, form.cleaned_data["reason"])
    except workflow.ShipmentError as exc:
        return _after_action(request, station, shipment, flash=_error(exc.packer_message))
    return _after_action(request, station, shipment)


# --- Fast path ----------------------------------------------------------------------------------------


@require_POST
@station_view
def pack_and_label(request, station, shipment):
    """Fast path: the packer confirms the box and weight; the worker confirms, packs, takes the
    recommended option, gets the invoice and labels one step after the other and prints the label
    at this station (`services.start_pack_and_label`). The page only shows the progress. A box the
    station or Amazon would refuse comes back as it was typed, each field with its problem."""
    lines = list(shipment.line_items.all())
    if not fast_path_eligible(shipment, lines):
        return _after_action(request, station, shipment,
                             flash=_error("This shipment needs the full packing form (serials, several boxes or "
                                          "details Amazon requires)."))
    form = fast_path_form(shipment, request.POST, bounds=station.package_bounds())
    if form.is_valid():
        try:
            services.start_pack_and_label(shipment, form.box(), request.user, station=station)
        except workflow.ShipmentError as exc:
            for problem in getattr(exc, "problems", None) or [exc.packer_message]:
                form.add_error(None, problem)
        else:
            return _after_action(request, station, shipment)
    wrong = next((name for name in form.fields if name in form.errors), None)
    if wrong:  # the cursor on the first field in error, not the weight
        form.fields["weight"].widget.attrs.pop("data-scan-focus", None)
        _focus(form, wrong)
    return _render_body(request, station, shipment, fast_path_form=form)


# --- Documents and printing ---------------------------------------------------------------------------


def _document_or_404(shipment, document_id):
    try:
        document = selectors.document_for_download(document_id)
    except Document.DoesNotExist:
        raise Http404("No such document") from None
    if document.shipment_id != shipment.pk:
        raise Http404("No such document")
    return document


def _label_print_urls(shipment, document) -> tuple[str, str]:
    """What the page prints a PDF/PNG label with: the PDF for the print frame, and where it then
    POSTs that the label was printed (a GET never changes anything)."""
    return (reverse("shipments:document_pdf", args=[shipment.amazon_id, document.pk]),
            reverse("shipments:label_printed", args=[shipment.amazon_id, document.pk]))


# Stored documents come from outside: never cached (shared workstations), served only as the type their
# bytes are (SecurityMiddleware adds X-Content-Type-Options: nosniff to every response), originals only
# as attachments.


@require_GET
@never_cache
@xframe_options_sameorigin  # shown in our own print frame
@station_view
def document_pdf(request, station, shipment, document_id):
    """The stored document as a printable PDF (inline, for the print dialog or a new tab)."""
    from fulfillment.documents.errors import DocumentError

    document = _document_or_404(shipment, document_id)
    try:
        pdf = document.pdf()
    except DocumentError as exc:
        return HttpResponse(exc.packer_message, status=422, content_type="text/plain; charset=utf-8")
    if pdf is None:
        return HttpResponse("This label is ZPL: print it on the station's label printer.", status=409,
                            content_type="text/plain; charset=utf-8")
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{_filename(document)}.pdf"'
    return response


@require_GET
@never_cache
@station_view
def document_download(request, station, shipment, document_id):
    """The stored file as Amazon sent it (ZPL, PDF, PNG…, an invoice out of its base64), as a download."""
    from fulfillment.documents.errors import DocumentError

    document = _document_or_404(shipment, document_id)
    try:
        original = document.original_file()
    except DocumentError as exc:
        return HttpResponse(exc.packer_message, status=422, content_type="text/plain; charset=utf-8")
    response = HttpResponse(original.content, content_type=original.media_type)
    response["Content-Disposition"] = f'attachment; filename="{_filename(document)}.{original.extension}"'
    return response


@require_POST
@station_view
def label_printed(request, station, shipment, document_id):
    """The page printed a PDF/PNG label from the browser: note it (the next step is Mark shipped).
    Only the packer working on the shipment moves it on; anyone else's print changes nothing."""
    document = _document_or_404(shipment, document_id)
    if document.kind == Document.Kind.LABEL and _may_record_print(request, shipment):
        services.record_label_printed(document, request.user)
    return _after_action(request, station, shipment)


def _may_record_print(request, shipment) -> bool:
    """A print from the browser moves the shipment on only for the packer working on it."""
    claim = live_claim(shipment)
    return can_pack(request.user) and (claim is None or claim.user_id == request.user.pk)


def _filename(document):
    target = document.package.package_id if document.package_id else document.shipment.amazon_id
    return f"{document.get_kind_display().lower().replace(' ', '-')}-{target}"


@require_POST
@station_view
def print_label(request, station, shipment, document_id):
    """Send one ZPL label to the station's printer and show the printer's answer."""
    document = _document_or_404(shipment, document_id)
    result = _print_one(request, station, document)
    if not request.htmx:
        (messages.success if result["ok"] else messages.error)(request, result["message"])
        return redirect("shipments:detail", amazon_id=shipment.amazon_id)
    return _render_body(request, station, shipment, print_results={document.pk: result})


def _print_one(request, station, document):
    from fulfillment.printers.zebra import PrinterError

    try:
        services.print_label(document, station=station, user=request.user)
    except (PrinterError, workflow.ShipmentError) as exc:
        return {"ok": False, "message": f"Not printed: {exc.packer_message}"}
    return {"ok": True, "message": f"Sent to {station.name}'s printer ({station.printer_host}:{station.printer_port})."}


@require_POST
@station_view
def print_all_labels(request, station, shipment):
    return _print_all_labels(request, station, shipment)


def _print_all_labels(request, station, shipment):
    """Every current label: ZPL to the printer, PDF/PNG into the browser's print dialog."""
    results, autoprint = {}, []
    for document in selectors.current_documents(shipment, Document.Kind.LABEL):
        if document.is_zpl:
            results[document.pk] = _print_one(request, station, selectors.document_for_download(document.pk))
        else:
            autoprint.append(_label_print_urls(shipment, document))
    return _render_body(request, station, shipment, print_results=results, autoprint_urls=autoprint)


@require_POST
@station_view
def packing_slip(request, station, shipment):
    """Render and store the packing slip (when the shipment needs one)."""
    from fulfillment.documents.errors import DocumentError

    try:
        services.ensure_packing_slip(shipment, request.user)
    except DocumentError as exc:
        return _after_action(request, station, shipment, flash=_error(exc.packer_message))
    return _after_action(request, station, shipment)
