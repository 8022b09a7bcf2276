"""What a supervisor changes from the supervision pages."""

from fulfillment.documents.models import Document
from fulfillment.shipments import services as shipment_services
from fulfillment.shipments.models import ShipmentEvent


def reprint_document(document: Document, *, station, by_user) -> str:
    """Print a stored document again and note it in the shipment's history; returns what was done.

    ZPL labels go to the station's Zebra printer (raises the station's ShipmentError or the
    printer's PrinterError, both with `.packer_message`); any other document is printed from
    the browser, so the caller shows its PDF next.
    """
    if document.is_zpl:
        shipment_services.print_label(document, station=station, user=by_user)
        return f"Label sent to {station.name}'s printer."
    via = f"browser, reprint by {by_user.get_username()}"
    if document.kind == Document.Kind.LABEL:
        shipment_services.record_label_printed(document, by_user, via=via)
    else:
        shipment_services.record_event(
            document.shipment, ShipmentEvent.Kind.NOTE, f"{document.get_kind_display()} reprinted ({via}).",
            user=by_user, data={"document": document.pk, "via": via},
        )
    return f"{document.get_kind_display()} opened for printing."
