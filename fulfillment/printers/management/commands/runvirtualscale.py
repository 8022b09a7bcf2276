"""`python manage.py runvirtualscale [addr:port] [--weight-file FILE]`: the embedded station's scale."""

import logging
import threading
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from fulfillment.printers.virtual import parse_address
from fulfillment.printers.virtual_scale import VirtualScale


class Command(BaseCommand):
    help = ("Listen like an MT-SICS network scale; what lies on it is the weight written in --weight-file "
            "(e.g. `echo 0.42 kg > var/scale-weight`).")
    requires_system_checks = ()

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:4001",
                            help="host:port to listen on (default 127.0.0.1:4001)")
        parser.add_argument("--weight-file", default=str(settings.VAR_DIR / "scale-weight"),
                            help="file holding what lies on the scale, e.g. '0.42 kg' (default var/scale-weight)")
        parser.add_argument("--weight", default="0.420 kg",
                            help="what lies on the scale at start when the file does not exist yet")

    def handle(self, *args, addrport, weight_file, weight, **options):
        logging.getLogger("fulfillment.printers").setLevel(logging.INFO)
        path = Path(weight_file)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(weight + "\n")
        try:
            scale = VirtualScale(parse_address(addrport, default_port=4001), weight_file=path)
        except (ValueError, OSError) as exc:
            raise CommandError(f"Cannot listen on {addrport}: {exc}") from exc
        self.stdout.write(f"Virtual MT-SICS scale listening on {scale.address}; it weighs what {path} says.")
        self.stdout.flush()
        worker = threading.Thread(target=scale.serve_forever, name="virtual-scale", daemon=True)
        worker.start()
        try:
            worker.join()
        except KeyboardInterrupt:
            self.stdout.write("Virtual scale stopped.")
        finally:
            scale.shutdown()
            scale.server_close()
