"""Printing labels at the station's Zebra printer, and recording every print."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from fulfillment.documents.models import Document

from .. import workflow
from ..models import Package, Shipment, ShipmentEvent
from ..workflow import ShipmentError
from .events import record_event


def print_label(document: Document, *, station, user) -> None:
    """Send a ZPL label to the station's Zebra printer and record it. Raises ShipmentError for a
    label that is not ZPL (print it from the browser) and the printer's PrinterError (with its
    `.packer_message`) when printing fails; the failure is recorded too."""
    from fulfillment.printers.zebra import PrinterError, send_zpl

    shipment = document.shipment
    if document.kind != Document.Kind.LABEL or not document.is_zpl:
        raise ShipmentError("This label is not ZPL; open it and print it from the browser.")
    if not station or not station.printer_host:
        raise ShipmentError("This station has no label printer set up. Ask your admin to add its address.")
    try:
        send_zpl(station.printer_host, station.printer_port, bytes(document.content),
                 timeout=getattr(settings, "PRINTER_TIMEOUT_SECONDS", None))
    except PrinterError as exc:
        record_event(shipment, ShipmentEvent.Kind.PRINT_FAILED, f"Label {document.package} not printed: "
                     f"{exc.packer_message}", user=user, data={"document": document.pk, "station": station.name})
        raise
    record_label_printed(document, user, via=f"printer {station.name}")


def record_label_printed(document: Document, user, via: str = "browser") -> workflow.NextAction | None:
    """Note that a label was printed; returns what the packer does next (Mark shipped once every
    label is printed), for the page to show at once."""
    if document.package_id:
        Package.objects.filter(pk=document.package_id).update(label_printed_at=timezone.now())
    record_event(document.shipment, ShipmentEvent.Kind.LABEL_PRINTED,
                 f"Label {document.package or ''} printed ({via}).".replace("  ", " "), user=user,
                 data={"document": document.pk, "via": via})
    return workflow.next_action(Shipment.objects.get(pk=document.shipment_id))
