"""Sets up the embedded station: one station per sandbox location and a shelf of boxes."""

import os
from decimal import Decimal

from django.core.management.base import BaseCommand

from fulfillment.stations.models import BoxPreset, Station

# The local sandbox seeds its shipments at these locations (fulfillment.sandbox.seed).
SANDBOX_STATIONS = (("Station 1", "SANDBOX-LOC-1"), ("Station 2", "SANDBOX-LOC-2"))
BOXES = (
    ("Small box", "20", "15", "10", "60"),
    ("Medium box", "30", "25", "15", "120"),
    ("Large box", "45", "35", "30", "300"),
    ("Mailer bag", "30", "22", "3", "15"),
)


def _address(variable: str, default: str) -> tuple[str, int]:
    host, _, port = os.environ.get(variable, default).rpartition(":")
    return host or "127.0.0.1", int(port)


class Command(BaseCommand):
    help = "Create the sandbox stations and box presets if they do not exist yet."

    def handle(self, *args, **options):
        host, port = _address("PRINTER_ADDR", "127.0.0.1:9100")  # make run's virtual devices
        scale_host, scale_port = _address("SCALE_ADDR", "127.0.0.1:4001")
        documents_host, documents_port = _address("DOCUMENT_PRINTER_ADDR", "127.0.0.1:8631")
        for name, location_id in SANDBOX_STATIONS:
            station, _ = Station.objects.get_or_create(
                name=name, defaults={"location_id": location_id, "printer_host": host, "printer_port": port}
            )
            if not station.scale_host:  # stations seeded before they had a scale get make run's
                station.scale_host, station.scale_port = scale_host, scale_port
                station.save(update_fields=["scale_host", "scale_port"])
            if not station.document_printer_url:
                station.document_printer_url = f"ipp://{documents_host}:{documents_port}/ipp/print"
                station.save(update_fields=["document_printer_url"])
        for name, length, width, height, empty_weight in BOXES:
            BoxPreset.objects.get_or_create(
                name=name,
                defaults={
                    "length": Decimal(length), "width": Decimal(width), "height": Decimal(height),
                    "empty_weight": Decimal(empty_weight),
                },
            )
        self.stdout.write(f"{Station.objects.count()} stations, {BoxPreset.objects.count()} box presets.")
