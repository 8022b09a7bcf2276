"""Documents: labels, invoices and packing slips served, downloaded and printed."""


from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from fulfillment.claims.selectors import live_claim
from fulfillment.documents.models import Document

from .. import selectors, services, workflow
from .base import _after_action, _error, _label_print_urls, _render_body, can_pack, station_view


def _document_or_404(shipment, document_id):
    try:
        document = selectors.document_for_download(document_id)
    except Document.DoesNotExist:
        raise Http404("No such document") from None
    if document.shipment_id != shipment.pk:
        raise Http404("No such document")
    return document


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
    """Send one label to the station's printer (PDF/PNG as ZPL) and show the printer's answer."""
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
    """Every current label to the station's printer (PDF/PNG as ZPL); without one, PDF/PNG labels go
    into the browser's print dialog."""
    results, autoprint = {}, []
    for document in selectors.current_documents(shipment, Document.Kind.LABEL):
        if document.is_zpl or services.prints_silently(document, station):
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
