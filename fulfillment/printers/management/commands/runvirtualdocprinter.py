"""`python manage.py runvirtualdocprinter [addr:port] [--out DIR]`: the embedded station's document printer."""

import logging
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from fulfillment.printers.virtual import parse_address
from fulfillment.printers.virtual_ipp import VirtualDocumentPrinter


class Command(BaseCommand):
    help = "Listen like an IPP network printer and keep every document printed (PDF + .json) under --out."
    requires_system_checks = ()

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8631",
                            help="host:port to listen on (default 127.0.0.1:8631)")
        parser.add_argument("--out", default=str(settings.VAR_DIR / "documents-printed"),
                            help="folder for the received jobs (default var/documents-printed)")

    def handle(self, *args, addrport, out, **options):
        logging.getLogger("fulfillment.printers").setLevel(logging.INFO)
        try:
            printer = VirtualDocumentPrinter(parse_address(addrport, default_port=631), out)
        except (ValueError, OSError) as exc:
            raise CommandError(f"Cannot listen on {addrport}: {exc}") from exc
        self.stdout.write(f"Virtual document printer at {printer.url}, keeping every job in {out}")
        self.stdout.flush()
        worker = threading.Thread(target=printer.serve_forever, name="virtual-docprinter", daemon=True)
        worker.start()
        try:
            worker.join()
        except KeyboardInterrupt:
            self.stdout.write("Virtual document printer stopped.")
        finally:
            printer.shutdown()
            printer.server_close()
