"""`manage.py runsandbox [addr:port] --seed N`: the local SmartConnect sandbox over real HTTP.

Runs Django's threaded development server with the sandbox's urlconf and no middleware; all
state lives in memory, so the command never opens a database connection.
"""

from __future__ import annotations

import errno
import re
import sys
import threading
import time

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.management.base import BaseCommand, CommandError
from django.core.servers.basehttp import run
from django.urls import clear_url_caches

from fulfillment.sandbox import views
from fulfillment.sandbox.engine import Sandbox

ADDRPORT = re.compile(r"^(?:(?P<addr>[^:]+):)?(?P<port>\d+)$")


class LiveFeed(threading.Thread):
    """Live mode: every `interval_seconds` a new order arrives (and now and then one is cancelled)."""

    daemon = True

    def __init__(self, sandbox: Sandbox):
        super().__init__(name="sandbox-live")
        self.sandbox = sandbox

    def run(self) -> None:
        last = time.monotonic()
        while True:
            time.sleep(1)
            live = self.sandbox.public_config()["live"]
            if live["enabled"] and time.monotonic() - last >= float(live["interval_seconds"]):
                last = time.monotonic()
                self.sandbox.live_tick()


class Command(BaseCommand):
    help = "Serve the local SmartConnect (External Fulfillment Shipments 2024-09-11) sandbox."
    requires_system_checks: list[str] = []  # no checks: nothing of Packbench is served here
    requires_migrations_checks = False

    def add_arguments(self, parser):
        parser.add_argument(
            "addrport",
            nargs="?",
            help="addr:port or port (default: SANDBOX_ADDR); port 0 picks a free one",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=None,
            help="seed of the generated shipments (default: SANDBOX_SEED)",
        )
        parser.add_argument(
            "--count", type=int, default=40, help="how many shipments to seed (default 40)"
        )
        parser.add_argument(
            "--no-live",
            action="store_true",
            help="no new orders or marketplace cancellations over time",
        )
        parser.add_argument(
            "--live-interval", type=float, default=45.0, help="seconds between new live orders"
        )
        parser.add_argument(
            "--rate-limit", default="1/1", help="RATE/BURST for every operation (Amazon: 1/1)"
        )
        parser.add_argument(
            "--empty-page-every",
            type=int,
            default=3,
            help="every Nth follow-up getShipments page is empty, as Amazon's sometimes are (0: never)",
        )

    def handle(self, *args, **options):
        addrport = options["addrport"] or getattr(settings, "SANDBOX_ADDR", "127.0.0.1:8001")
        match = ADDRPORT.match(addrport)
        if not match:
            raise CommandError(f"{addrport!r} is not a port or addr:port.")
        addr, port = match["addr"] or "127.0.0.1", int(match["port"])
        try:
            rate, burst = options["rate_limit"].split("/")
            config = {
                "rate_limits": {"default": {"rate": float(rate), "burst": int(burst)}},
                "empty_page_every": options["empty_page_every"],
                "label_url_ttl_seconds": getattr(settings, "SANDBOX_LABEL_URL_TTL_SECONDS", 300),
                "live": {
                    "enabled": not options["no_live"],
                    "interval_seconds": options["live_interval"],
                },
            }
            seed = (
                options["seed"]
                if options["seed"] is not None
                else getattr(settings, "SANDBOX_SEED", 40)
            )
            sandbox = Sandbox(seed_number=seed, count=options["count"], config=config)
        except ValueError as exc:
            raise CommandError(f"Invalid option: {exc}") from exc

        # This process is Amazon, not Packbench: its own URLs, no sessions/CSRF/login middleware.
        settings.ROOT_URLCONF = "fulfillment.sandbox.urls"
        settings.MIDDLEWARE = []
        settings.ALLOWED_HOSTS = ["*"]
        settings.DEBUG = False
        clear_url_caches()
        views.install(sandbox)
        LiveFeed(sandbox).start()

        def announce(bound_port):
            self.stdout.write(
                f"SmartConnect sandbox listening on http://{addr}:{bound_port} "
                f"(seed {sandbox.seed_number}, {sandbox.count} shipments, live mode "
                f"{'on' if not options['no_live'] else 'off'})"
            )
            self.stdout.flush()
            sys.stdout.flush()

        try:
            run(addr, port, WSGIHandler(), ipv6=":" in addr, threading=True, on_bind=announce)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise CommandError(
                    f"Port {port} on {addr} is already in use (another sandbox or program listens there). "
                    f"Stop it or pass another addr:port, e.g. `manage.py runsandbox {addr}:{port + 1}`."
                ) from exc
            raise CommandError(f"Cannot listen on {addr}:{port}: {exc.strerror}") from exc
        except KeyboardInterrupt:
            pass
