"""Packing: the packages form (add, remove, save and send), the serial check, the shipping option, Pack & label."""


from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST
from django_htmx.http import retarget

from .. import selectors, services, workflow
from ..forms import (
    PACKAGES_PREFIX,
    RegenerateLabelForm,
    fast_path_form,
)
from .base import (
    SHIPMENT_PAGE,
    _after_action,
    _error,
    _focus,
    _form_error,
    _fragment,
    _option_form,
    _packages_context,
    _packages_formset,
    _render_body,
    fast_path_eligible,
    station_view,
)


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
            typed, selectors.serials_used_elsewhere([serial], exclude_shipment=shipment,
                                                    named_at=station.location_id)).get(serial)
        ok, message = not (problem or clash), (f"Serial {problem}" if problem else clash) or "✓"
    return render(request, _fragment(SHIPMENT_PAGE, "serial_status"), {"ok": ok, "message": message})


@require_POST
@station_view
def choose_option(request, station, shipment):
    form = _option_form(shipment, request.POST)
    if not form.is_valid():
        if "accept_late" in form.errors:  # the cursor (and the screen) on the box to tick
            form.fields["accept_late"].widget.attrs["data-scan-focus"] = ""
        return _render_body(request, station, shipment, option_form=form, flash=_form_error(form))
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


@require_POST
@station_view(load=selectors.shipment_for_action)
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
