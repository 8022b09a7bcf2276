"""Printing at the station without a print dialog, and recording every print: labels go to the
station's Zebra printer as ZPL (PNG/PDF labels converted), invoices and packing slips to its IPP
document printer. The browser's print dialog is only the fallback of a station without the printer."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from fulfillment.documents.models import Document

from .. import workflow
from ..models import Package, Shipment, ShipmentEvent
from ..workflow import ShipmentError
from .events import record_event


def prints_silently(document: Document, station) -> bool:
    """Whether this station prints the document itself (else the browser's print dialog does)."""
    if station is None:
        return False
    if document.kind == Document.Kind.LABEL:
        return bool(station.printer_host)
    return bool(station.document_printer_url)


def print_label(document: Document, *, station, user) -> None:
    """Send a label to the station's Zebra printer (a PNG/PDF label as ZPL) and record it. Raises
    ShipmentError (no printer; a label that cannot be converted) and the printer's PrinterError
    (with its `.packer_message`) when printing fails; the failure is recorded too."""
    from fulfillment.documents.errors import DocumentError
    from fulfillment.documents.zpl import label_to_zpl
    from fulfillment.printers.zebra import PrinterError, send_zpl

    shipment = document.shipment
    if document.kind != Document.Kind.LABEL:
        raise ShipmentError("Only shipping labels go to the label printer.")
    if not station or not station.printer_host:
        raise ShipmentError("This station has no label printer set up. Ask your admin to add its address.")
    try:
        zpl = label_to_zpl(bytes(document.content), document.content_type)
        send_zpl(station.printer_host, station.printer_port, zpl,
                 timeout=getattr(settings, "PRINTER_TIMEOUT_SECONDS", None))
    except (PrinterError, DocumentError) as exc:
        record_event(shipment, ShipmentEvent.Kind.PRINT_FAILED, f"Label {document.package} not printed: "
                     f"{exc.packer_message}", user=user, data={"document": document.pk, "station": station.name})
        if isinstance(exc, DocumentError):
            raise ShipmentError(exc.packer_message) from exc
        raise
    _note_label_printed(document, user, via=f"printer {station.name}")


def print_document(document: Document, *, station, user) -> int:
    """Send an invoice or packing slip to the station's IPP document printer and record it; returns
    the printer's job id. Raises ShipmentError (no printer, no printable PDF) and the printer's
    DocumentPrinterError (`.packer_message`); a failure is recorded too."""
    from fulfillment.documents.errors import DocumentError
    from fulfillment.printers.ipp import DocumentPrinterError, print_pdf

    if document.kind == Document.Kind.LABEL:
        print_label(document, station=station, user=user)
        return 0
    if not station or not station.document_printer_url:
        raise ShipmentError("This station has no document printer set up. Print from the browser, or ask your admin "
                            "to add the printer's address.")
    name = document.get_kind_display()
    try:
        job = print_pdf(station.document_printer_url, document.pdf(),
                        job_name=f"{name} {document.shipment.amazon_id}", user_name=getattr(user, "username", ""))
    except (DocumentPrinterError, DocumentError) as exc:
        record_event(document.shipment, ShipmentEvent.Kind.PRINT_FAILED, f"{name} not printed: {exc.packer_message}",
                     user=user, data={"document": document.pk, "station": station.name})
        if isinstance(exc, DocumentError):
            raise ShipmentError(exc.packer_message) from exc
        raise
    via = f"document printer {station.name}"
    record_event(document.shipment, ShipmentEvent.Kind.NOTE, f"{name} printed ({via}, job {job}).", user=user,
                 data={"document": document.pk, "via": via, "printed": document.kind, "job": job})
    return job


def record_label_printed(document: Document, user, via: str = "browser") -> workflow.NextAction | None:
    """Note that a label was printed; returns what the packer does next (Mark shipped once every
    label is printed), for the page to show at once."""
    _note_label_printed(document, user, via)
    return workflow.next_action(Shipment.objects.get(pk=document.shipment_id))


def _note_label_printed(document: Document, user, via: str) -> None:
    if document.package_id:
        Package.objects.filter(pk=document.package_id).update(label_printed_at=timezone.now())
    record_event(document.shipment, ShipmentEvent.Kind.LABEL_PRINTED,
                 f"Label {document.package or ''} printed ({via}).".replace("  ", " "), user=user,
                 data={"document": document.pk, "via": via})
