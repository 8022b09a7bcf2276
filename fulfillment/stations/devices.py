"""What each of a station's devices is doing now: asked live (label printer ~HS, the scale's weight,
the document printer's IPP state) beside the last job the history recorded, with what to check
when one does not answer."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeviceState:
    name: str  # in the packer's words
    address: str
    configured: bool
    connected: bool = False
    reading: str = ""  # what it says now: "ready", "0.420 kg stable", "idle"
    problem: str = ""  # what to check
    last_job: object | None = None  # the latest ShipmentEvent of this device

    @property
    def level(self) -> str:
        if not self.configured:
            return "idle"
        return "ok" if self.connected and not self.problem else "bad"


def _last_event(via: str):
    from fulfillment.shipments.models import ShipmentEvent

    return (ShipmentEvent.objects.filter(data__via=via).select_related("shipment")
            .order_by("-created_at", "-id").first())


def label_printer(station) -> DeviceState:
    from fulfillment.printers.zebra import PrinterError, printer_status

    address = f"{station.printer_host}:{station.printer_port}" if station.printer_host else ""
    state = {"name": "Label printer (Zebra, ZPL)", "address": address, "configured": bool(address),
             "last_job": _last_event(f"printer {station.name}") if address else None}
    if not address:
        return DeviceState(**state, problem="None set up: labels print from the browser's print dialog.")
    try:
        status = printer_status(station.printer_host, station.printer_port, timeout=2)
    except PrinterError as exc:
        return DeviceState(**state, problem=exc.packer_message)
    if status.problems:
        return DeviceState(**state, connected=True, reading=", ".join(status.problems),
                           problem=f"The printer says: {', '.join(status.problems)}. Fix that at the printer.")
    return DeviceState(**state, connected=True, reading="ready")


def scale(station) -> DeviceState:
    from fulfillment.printers.scale import ScaleError, read_weight

    address = f"{station.scale_host}:{station.scale_port}" if station.scale_host else ""
    state = {"name": "Scale (MT-SICS)", "address": address, "configured": bool(address)}
    if not address:
        return DeviceState(**state, problem="None set up: weights are typed (a USB scale in keyboard mode types them).")
    try:
        reading = read_weight(station.scale_host, station.scale_port, timeout=2)
    except ScaleError as exc:
        return DeviceState(**state, connected=not exc.__class__.__name__.endswith(("Unreachable", "Timeout")),
                           problem=exc.packer_message)
    return DeviceState(**state, connected=True,
                       reading=f"{reading.value} {reading.unit.lower()} {'stable' if reading.stable else 'moving'}")


def document_printer(station) -> DeviceState:
    from fulfillment.printers.ipp import DocumentPrinterError, printer_state

    address = station.document_printer_url
    state = {"name": "Document printer (IPP)", "address": address, "configured": bool(address),
             "last_job": _last_event(f"document printer {station.name}") if address else None}
    if not address:
        return DeviceState(**state, problem="None set up: invoices and packing slips print from the browser's "
                                            "print dialog.")
    try:
        answer = printer_state(address, timeout=3)
    except DocumentPrinterError as exc:
        return DeviceState(**state, problem=exc.packer_message)
    if answer.problems:
        return DeviceState(**state, connected=True, reading=answer.state,
                           problem=f"The printer says: {', '.join(answer.problems)}. Fix that at the printer.")
    return DeviceState(**state, connected=True, reading=answer.state + (f" ({answer.message})" if answer.message else ""))


def station_devices(station) -> list[DeviceState]:
    return [label_printer(station), scale(station), document_printer(station)]
