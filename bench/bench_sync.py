"""Initial sync of 10,000 shipments against the rate limit of getShipments.

    .venv/bin/python bench/bench_sync.py [--count 10000] [--rate-limit 1/1] [--empty-page-every 3]

Starts the sandbox seeded with --count shipments (its default 1 request/s per operation; every third
follow-up page empty, as Amazon's sometimes are), then runs `services.sync_account` (one read of the
seller account for all its locations) into an empty PostgreSQL database (`packbench_bench_sync`), client at its default limits,
rate-limit buckets in Redis database 4. The floor is the time the page limit allows for the pages the
sync needed: pages / rate. Prints the time, pages, shipments stored and the ratio (target <= 1.05).
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _support import Sandbox, flush_bench_redis, machine_load, setup_django

DB_NAME = os.environ.get("BENCH_SYNC_DB", "packbench_bench_sync")
LOCATIONS = ("SANDBOX-LOC-1", "SANDBOX-LOC-2")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--rate-limit", default="1/1", help="the sandbox's RATE/BURST for every operation")
    parser.add_argument("--empty-page-every", type=int, default=3)
    args = parser.parse_args()

    setup_django(DB_NAME)
    from django.conf import settings
    from django.core.management import call_command
    from django.db.models import Count

    from fulfillment.amazon.models import AmazonCall
    from fulfillment.shipments import services
    from fulfillment.shipments.models import Shipment

    call_command("flush", verbosity=0, interactive=False)
    flush_bench_redis()
    rate = float(args.rate_limit.split("/")[0])
    print(f"database {DB_NAME}; sandbox {args.rate_limit} per operation, {args.count} shipments, empty page every "
          f"{args.empty_page_every or 'never'}; client limits {settings.AMAZON_RATE_LIMITS or 'default (1/1)'}, "
          f"headroom {settings.AMAZON_RATE_LIMIT_HEADROOM:g}; {machine_load()}")
    with Sandbox(rate_limit=args.rate_limit, count=args.count, empty_page_every=args.empty_page_every) as sandbox:
        sandbox.point_django_here()
        started = time.monotonic()
        seen = 0
        result = services.sync_account(settings.AMAZON_SELLER_ACCOUNT, locations=set(LOCATIONS))
        seen += result.seen
        print(f"  {', '.join(LOCATIONS)}: {result.seen} seen, {result.created} new, "
              f"{time.monotonic() - started:.1f} s so far", flush=True)
        elapsed = time.monotonic() - started
    pages = AmazonCall.objects.filter(operation="getShipments", http_status=200).count()
    throttled = AmazonCall.objects.filter(http_status=429).count()
    by_op = dict(AmazonCall.objects.values_list("operation").annotate(n=Count("pk")))
    allowed = pages / rate
    ratio = elapsed / allowed
    stored = Shipment.objects.count()
    print(f"{'secs':>8}{'pages':>7}{'allowed s':>11}{'ratio':>7}{'stored':>8}{'per s':>8}{'429':>5}  calls")
    print(f"{elapsed:>8.1f}{pages:>7}{allowed:>11.1f}{ratio:>7.2f}{stored:>8}{stored / elapsed:>8.1f}{throttled:>5}  {by_op}")
    verdict = "PASS" if ratio <= 1.05 and stored >= seen > 0 else "FAIL"
    print(f"summary: {verdict} initial sync of {stored} shipments in {elapsed:.1f} s for {pages} pages: "
          f"{ratio:.2f} x the {allowed:.0f} s the page limit allows (target <= 1.05); {throttled} x 429; "
          f"{machine_load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
