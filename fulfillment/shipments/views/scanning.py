"""Scan to pack and the station's devices on the shipment page: every scan (items, serials, boxes,
command barcodes), the command sheet, the live scale beside the open carton's weight, and printing a
document at the station's printer."""

from csp.decorators import csp_update
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from fulfillment.accounts.locations import locations_of
from fulfillment.accounts.roles import ADMIN, SUPERVISOR, role_required
from fulfillment.documents.models import Document
from fulfillment.stations.models import BoxPreset

from .. import services, weighing, workflow
from ..forms import CartonWeightForm
from ..services import scanpack
from .base import _error, _render_body, station_view

DEVICES_PAGE = "shipments/devices.html"


@require_GET
@station_view
def scale_reading(request, station, shipment):
    """The scale's weight now, polled by the open carton's weight box (`?for=<input id>`). With the
    packages form's quantities (`…-qty_<line>`), the plausibility check weighs that carton's items;
    without, the whole shipment's."""
    lines = list(shipment.line_items.all())
    quantities = {}
    for name, value in request.GET.items():
        if "-qty_" in name:
            try:
                quantities[name.split("-qty_", 1)[1]] = int(value or 0)
            except ValueError:
                pass
    units = weighing.units_by_sku(lines, quantities or None)
    whole = not quantities or units == weighing.units_by_sku(lines)
    context = {
        "shipment": shipment,
        "weighing": weighing.weigh(station, shipment, units, whole_shipment=whole),
        "target": request.GET.get("for", ""),
        "unit_target": request.GET.get("unit_for", ""),
    }
    return render(request, f"{DEVICES_PAGE}#scale_reading", context)


@require_POST
@station_view
def print_document(request, station, shipment, document_id):
    """One document to the station's printer: an invoice or packing slip to the document printer, a
    label to the Zebra. The page says where it went, or what to check."""
    from fulfillment.printers.ipp import DocumentPrinterError
    from fulfillment.printers.zebra import PrinterError

    document = get_object_or_404(Document, pk=document_id, shipment=shipment)
    try:
        services.print_document(document, station=station, user=request.user)
    except (DocumentPrinterError, PrinterError, workflow.ShipmentError) as exc:
        flash = _error(f"{document.get_kind_display()} not printed: {exc.packer_message}")
    else:
        where = "document printer" if document.kind != Document.Kind.LABEL else "label printer"
        flash = {"level": "ok", "text": f"{document.get_kind_display()} sent to {station.name}'s {where}."}
    if not request.htmx:
        getattr(messages, "error" if flash["level"] == "error" else "success")(request, flash["text"])
        return redirect("shipments:detail", amazon_id=shipment.amazon_id)
    return _render_body(request, station, shipment, flash=flash)


@require_POST
@station_view
def scan(request, station, shipment):
    """One scan at a scan-to-pack station (`scanpack.handle_scan`), or the open carton's typed weight
    (`weight`: a station without a network scale); the shipment body comes back with what it did, and
    the cursor where the next scan goes."""
    if "weight" in request.POST:
        form = CartonWeightForm(request.POST, bounds=station.package_bounds())
        if not form.is_valid():  # what was typed stays in the box, beside what is wrong
            text = " ".join(error for errors in form.errors.values() for error in errors)
            if not request.htmx:
                messages.error(request, text)
                return redirect("shipments:detail", amazon_id=shipment.amazon_id)
            return _render_body(request, station, shipment, flash=_error(text), carton_weight_form=form)
        result = scanpack.set_weight(shipment, form.cleaned_data["weight"], form.cleaned_data["weight_unit"],
                                         station=station, user=request.user)
    else:
        result = scanpack.handle_scan(shipment, request.POST.get("code", ""), station=station, user=request.user)
    if result.open_shipment:
        url = reverse("shipments:detail", args=[result.open_shipment])
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    if not request.htmx:
        getattr(messages, "error" if result.level == "error" else "success")(request, result.message)
        return redirect("shipments:detail", amazon_id=shipment.amazon_id)
    return _render_body(request, station, shipment, flash=result.flash)


@require_GET
@station_view
def command_sheet(request, station):
    """The printable sheet of command and box barcodes (PDF)."""
    from fulfillment.documents.command_sheet import command_sheet_pdf

    commands = [(code, name, help_text) for code, (name, help_text) in scanpack.COMMANDS.items()]
    boxes = [(scanpack.box_code(box), scanpack.box_words(box)) for box in BoxPreset.objects.all()]
    response = HttpResponse(command_sheet_pdf(commands, boxes, station=station.name), content_type="application/pdf")
    response["Content-Disposition"] = 'inline; filename="packbench-command-sheet.pdf"'
    return response


WASM = {"script-src": ["'wasm-unsafe-eval'"]}  # the renderer is WebAssembly; only the preview page runs it


@require_GET
@csp_update(WASM)
@station_view
def label_preview(request, station, shipment, document_id):
    """A stored label drawn in the browser, without a printer, from the station's shipment page."""
    document = get_object_or_404(Document, pk=document_id, shipment=shipment, kind=Document.Kind.LABEL)
    return _label_preview(request, document, back=reverse("shipments:detail", args=[shipment.amazon_id]))


@require_GET
@csp_update(WASM)
@role_required(SUPERVISOR, ADMIN)
def supervisor_label_preview(request, document_id):
    """Any stored label, for a supervisor (from a shipment's history, whatever the station)."""
    labels = locations_of(request.user).filter(Document.objects.select_related("shipment", "package"),
                                               "shipment__location_id")  # only the supervisor's locations
    document = get_object_or_404(labels, pk=document_id, kind=Document.Kind.LABEL)
    return _label_preview(request, document, back=reverse("supervision:history", args=[document.shipment.amazon_id]))


def _label_preview(request, document, *, back):
    """ZPL as it is, a PNG/PDF label as the ZPL the Zebra gets."""
    from fulfillment.documents.errors import DocumentError
    from fulfillment.documents.zpl import label_to_zpl

    try:
        zpl = label_to_zpl(bytes(document.content), document.content_type)
    except DocumentError as exc:
        messages.error(request, exc.packer_message)
        return redirect(back)
    return render(request, "shipments/label_preview.html", {
        "shipment": document.shipment, "document": document, "converted": not document.is_zpl, "back": back,
        "zpl": zpl.decode("utf-8", "replace")})
