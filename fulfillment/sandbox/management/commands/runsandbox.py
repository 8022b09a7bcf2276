"""`manage.py runsandbox [addr:port] --seed N`: the local Amazon sandbox over real HTTP.

It serves SmartConnect (External Fulfillment Shipments), the Orders API (v0 and 2026-01-01) and
Merchant Fulfillment, seeded with shipments and MFN orders at the same locations.

Runs Django's threaded development server with the sandbox's urlconf and no middleware; all
state lives in memory, so the command never opens a database connection.
"""

from __future__ import annotations

import errno
import re
import sys
import threading
import time
from typing import ClassVar

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.management.base import BaseCommand, CommandError
from django.core.servers.basehttp import run
from django.urls import clear_url_caches

from fulfillment.sandbox.core import http
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
    help = (
        "Serve the local Amazon sandbox: SmartConnect shipments, MFN orders, Merchant Fulfillment."
    )
    requires_system_checks: ClassVar[
        list[str]
    ] = []  # no checks: nothing of Packbench is served here
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
            "--orders", type=int, default=16, help="how many MFN orders to seed (default 16)"
        )
        parser.add_argument(
            "--rate-limit",
            default=None,
            help="RATE/BURST for every operation (default: each operation's Amazon usage plan)",
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
            config = {
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
            if options["rate_limit"]:
                rate, burst = options["rate_limit"].split("/")
                config["rate_limits"] = {"default": {"rate": float(rate), "burst": int(burst)}}
            sandbox = Sandbox(
                seed_number=seed, config=config, count=options["count"], orders=options["orders"]
            )
        except ValueError as exc:
            raise CommandError(f"Invalid option: {exc}") from exc

        # This process is Amazon, not Packbench: its own URLs, no sessions/CSRF/login middleware.
        settings.ROOT_URLCONF = "fulfillment.sandbox.urls"
        settings.MIDDLEWARE = []
        settings.ALLOWED_HOSTS = ["*"]
        settings.DEBUG = False
        clear_url_caches()
        http.install(sandbox)
        LiveFeed(sandbox).start()

        def announce(bound_port):
            self.stdout.write(
                f"Amazon sandbox listening on http://{addr}:{bound_port} "
                f"(seed {sandbox.seed_number}, {sandbox.sizes['count']} shipments, "
                f"{sandbox.sizes['orders']} MFN orders, live mode "
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
