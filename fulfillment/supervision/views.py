import csv
from datetime import UTC

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from fulfillment.accounts.locations import locations_of
from fulfillment.accounts.roles import ADMIN, SUPERVISOR, role_required
from fulfillment.claims.selectors import live_claim
from fulfillment.documents.errors import DocumentError
from fulfillment.documents.models import Document
from fulfillment.printers.ipp import DocumentPrinterError
from fulfillment.printers.zebra import PrinterError
from fulfillment.shipments.models import Shipment
from fulfillment.shipments.services import prints_silently
from fulfillment.shipments.workflow import ShipmentError
from fulfillment.stations.models import Station

from . import charts, selectors
from .forms import BoardFilterForm
from .services import reprint_document

supervisors_only = role_required(SUPERVISOR, ADMIN)


def _filter_form(request):
    visible = locations_of(request.user)
    return BoardFilterForm(request.GET or None, visible=visible, locations=selectors.location_choices(visible),
                           packers=selectors.packer_choices(visible))


def _shipments(request):
    """The shipments of the user's locations: another location's are not found (accounts.locations)."""
    return locations_of(request.user).filter(Shipment.objects.all())


def _documents(request):
    return locations_of(request.user).filter(Document.objects.all(), "shipment__location_id")


def _printer_stations(request, kind=None):
    """The stations of the user's locations with a printer for this kind of document (a label: a Zebra;
    an invoice or packing slip: an IPP document printer); any printer without a kind."""
    stations = locations_of(request.user).filter(Station.objects.all())
    if kind == Document.Kind.LABEL:
        return stations.exclude(printer_host="")
    if kind is not None:
        return stations.exclude(document_printer_url="")
    return stations.exclude(printer_host="", document_printer_url="")


@supervisors_only
def board(request):
    form = _filter_form(request)
    filters = form.filters()
    data = selectors.board(filters)
    data["filtering"] = filters.picks_shipments  # the "Shipments matching" list shows what they pick
    data["hourly_chart"] = charts.hourly_chart(data["per_hour"])
    data["packer_chart"] = charts.packer_chart(data["per_packer"])
    context = {
        "form": form, "query": request.GET.urlencode(),
        "refresh_seconds": getattr(settings, "SUPERVISION_REFRESH_SECONDS", 30), **data,
    }
    # The live panel polls the same URL; only the panel is sent back.
    template = "supervision/board.html#live" if request.htmx else "supervision/board.html"
    return render(request, template, context)


class _Echo:
    def write(self, value):
        return value


@supervisors_only
def export(request):
    form = _filter_form(request)
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow([title for title, _ in selectors.EXPORT_COLUMNS])
        for row in selectors.export_rows(form.filters()):
            yield writer.writerow([_csv_value(value) for value in row])

    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="shipments-{stamp}.csv"'
    return response


def _csv_value(value):
    if value is None:
        return ""
    if isinstance(value, list):
        value = " ".join(str(v) for v in value)
    elif hasattr(value, "isoformat"):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    # Text from Amazon opens in a spreadsheet: never let it start a formula.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


@supervisors_only
def history(request, shipment_id):
    shipment = get_object_or_404(_shipments(request), amazon_id=shipment_id)
    return render(request, "supervision/history.html", {
        "history": selectors.shipment_history(shipment),
        "shipment": shipment,
        "claim": live_claim(shipment),
        # Where a document is reprinted: the supervisor's station when it has the printer, else one they pick.
        "label_stations": _stations_to_pick(request, Document.Kind.LABEL),
        "document_stations": _stations_to_pick(request, Document.Kind.INVOICE),
    })


def _stations_to_pick(request, kind):
    station = request.station
    if station is not None and (station.printer_host if kind == Document.Kind.LABEL else station.document_printer_url):
        return []
    return list(_printer_stations(request, kind).order_by("name"))


def _printer_station(request, document, chosen=None):
    """The station whose printer reprints a document: the one picked in the form (of the user's
    locations, with that printer), else the browser's station; None when neither."""
    if chosen:
        return _printer_stations(request, document.kind).filter(pk=chosen).first()
    return request.station


@supervisors_only
@never_cache
@xframe_options_sameorigin  # the station's print preview frames it
def document(request, pk):
    """A stored document as its printable PDF (inline); a ZPL label, or `?original=1`, as the file
    itself: only as the type its bytes are, and only as a download (it came from outside)."""
    doc = get_object_or_404(_documents(request).select_related("shipment"), pk=pk)
    if doc.is_zpl or request.GET.get("original"):
        try:
            original = doc.original_file()
        except DocumentError as exc:
            return render(request, "supervision/document_error.html",
                          {"document": doc, "error": exc, "no_original": True}, status=422)
        response = HttpResponse(original.content, content_type=original.media_type)
        response["Content-Disposition"] = f'attachment; filename="{doc.kind.lower()}-{doc.pk}.{original.extension}"'
        return response
    try:
        pdf = doc.pdf()
    except DocumentError as exc:
        return render(request, "supervision/document_error.html", {"document": doc, "error": exc}, status=422)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{doc.kind.lower()}-{doc.pk}.pdf"'
    return response


@supervisors_only
@require_POST
def reprint(request, pk):
    doc = get_object_or_404(_documents(request).select_related("shipment", "package").defer("printable_pdf"), pk=pk)
    station = _printer_station(request, doc, request.POST.get("station") or None)
    if doc.is_zpl and not prints_silently(doc, station):
        messages.error(request, "Not printed: choose the station whose label printer should print it.")
        return redirect("supervision:history", shipment_id=doc.shipment.amazon_id)
    silently = prints_silently(doc, station)
    try:
        done = reprint_document(doc, station=station, by_user=request.user)
    except (ShipmentError, PrinterError, DocumentPrinterError) as exc:
        messages.error(request, f"{doc.get_kind_display()} not printed: {exc.packer_message}")
        return redirect("supervision:history", shipment_id=doc.shipment.amazon_id)
    messages.success(request, done)
    if silently:
        return redirect("supervision:history", shipment_id=doc.shipment.amazon_id)
    return redirect("supervision:document", pk=doc.pk)  # the browser's print dialog: the fallback
