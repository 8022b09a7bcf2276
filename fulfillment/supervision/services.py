"""What a supervisor changes from the supervision pages."""

from fulfillment.documents.models import Document
from fulfillment.shipments import services as shipment_services
from fulfillment.shipments.models import ShipmentEvent


def reprint_document(document: Document, *, station, by_user) -> str:
    """Print a stored document again, as the station prints it, and note it in the shipment's history;
    returns what was done.

    A label goes to the station's Zebra (a PNG/PDF label as ZPL), an invoice or packing slip to its
    IPP document printer (`shipments.services.prints_silently`); a failure is recorded and raised (the
    station's ShipmentError, the printer's PrinterError or DocumentPrinterError, each with
    `.packer_message`). Without such a printer at the station, a PDF/PNG document is printed from the
    browser (the caller shows its PDF next); a ZPL label cannot be (the caller asks for a station).
    """
    if shipment_services.prints_silently(document, station):
        if document.kind == Document.Kind.LABEL:
            shipment_services.print_label(document, station=station, user=by_user)
            return f"Label sent to {station.name}'s printer."
        job = shipment_services.print_document(document, station=station, user=by_user)
        return f"{document.get_kind_display()} sent to {station.name}'s document printer (job {job})."
    if document.is_zpl:  # the views ask for a station with a label printer first; said clearly if one slips by
        shipment_services.print_label(document, station=station, user=by_user)
    via = f"browser, reprint by {by_user.get_username()}"
    if document.kind == Document.Kind.LABEL:
        shipment_services.record_label_printed(document, by_user, via=via)
    else:
        shipment_services.record_event(
            document.shipment, ShipmentEvent.Kind.NOTE, f"{document.get_kind_display()} reprinted ({via}).",
            user=by_user, data={"document": document.pk, "via": via},
        )
    return f"{document.get_kind_display()} opened for printing."

