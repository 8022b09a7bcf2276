"""`python manage.py runvirtualprinter [addr:port] [--out DIR]`: the embedded station's label printer."""

import logging
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from fulfillment.printers.virtual import VirtualPrinter, parse_address


class Command(BaseCommand):
    help = "Listen like a Zebra label printer on raw TCP and store every ZPL job received under --out."
    requires_system_checks = ()  # a printer needs neither the database nor the apps' checks

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:9100",
                            help="host:port to listen on (default 127.0.0.1:9100)")
        parser.add_argument("--out", default=str(settings.VAR_DIR / "printed"),
                            help="folder for the received jobs (default var/printed)")

    def handle(self, *args, addrport, out, **options):
        logging.getLogger("fulfillment.printers").setLevel(logging.INFO)
        try:
            address = parse_address(addrport)
            printer = VirtualPrinter(address, out)
        except (ValueError, OSError) as exc:
            raise CommandError(f"Cannot listen on {addrport}: {exc}") from exc
        self.stdout.write(f"Virtual label printer listening on {printer.address}, storing jobs in {out}")
        self.stdout.flush()
        worker = threading.Thread(target=printer.serve_forever, name="virtual-printer", daemon=True)
        worker.start()
        try:
            worker.join()
        except KeyboardInterrupt:
            self.stdout.write("Virtual label printer stopped.")
        finally:
            printer.shutdown()
            printer.server_close()
