"""The sync against the rate limit of getShipments: the initial sync of 10,000 shipments, then a cycle
with nothing changed, for an account managing 1 location and for one managing 10.

    .venv/bin/python bench/bench_sync.py [--count 10000] [--per-extra-location 100] [--rate-limit 1/1]

The sandbox is seeded with --count shipments (at SANDBOX-LOC-1 and -2; every third follow-up page
empty, as Amazon's sometimes are) plus --per-extra-location at SANDBOX-LOC-3 to -10. For each setup
(the settings' account with 1 location, then a SellerAccount of the same seller with 10) the database
(`packbench_bench_sync`) and the rate-limit buckets (Redis database 4) are emptied and
`services.sync_account` makes the initial sync; then both accounts' cursors are set to the same
moment and each makes its next cycle (nothing changed at Amazon since), as beat would run it.
Printed per cycle: seconds, the calls Amazon answered per operation (AmazonCall log; 429s apart),
the floor the page limit allows (getShipments pages / rate), the shipments stored, the shipments
written again and the queries.

Targets (exit 1 if missed): the calls of each cycle are identical for 1 and for 10 locations (the
sync reads the account, not its locations); the initial sync takes <= 1.05 x pages / rate.
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _support import Sandbox, flush_bench_redis, load_now, machine_load, setup_django

DB_NAME = os.environ.get("BENCH_SYNC_DB", "packbench_bench_sync")
LOCATIONS = tuple(f"SANDBOX-LOC-{n}" for n in range(1, 11))


def cycle(account: str, locations: set[str], rate: float) -> dict:
    from django.db import connection
    from django.db.models import Count
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from fulfillment.amazon.models import AmazonCall
    from fulfillment.shipments import services
    from fulfillment.shipments.models import Shipment

    AmazonCall.objects.all().delete()
    began_at = timezone.now()
    started = time.monotonic()
    with CaptureQueriesContext(connection) as queries:
        result = services.sync_account(account, locations=locations)
    elapsed = time.monotonic() - started
    # Calls Amazon answered: a 429's retry is the rate limiter's jitter, counted apart.
    calls = dict(AmazonCall.objects.exclude(operation="lwaToken").exclude(http_status=429)
                 .values_list("operation").annotate(n=Count("pk")))
    pages = AmazonCall.objects.filter(operation="getShipments", http_status=200).count()
    return {"secs": elapsed, "calls": calls, "pages": pages, "allowed": pages / rate, "seen": result.seen,
            "stored": Shipment.objects.count(), "rewritten": Shipment.objects.filter(updated_at__gte=began_at).count(),
            "queries": len(queries.captured_queries), "throttled": AmazonCall.objects.filter(http_status=429).count(),
            "load": load_now()}


def account_for(managed: int, sandbox: Sandbox, default: str) -> str:
    """The settings' account manages 1 location; a SellerAccount of the same seller manages 10."""
    if managed == 1:
        return default
    from fulfillment.accounts.models import SellerAccount
    from fulfillment.sandbox.core import auth

    SellerAccount.objects.get_or_create(name="bench-sync-10-locations", defaults=dict(
        endpoint=sandbox.url, token_url=sandbox.token_url, lwa_client_id=auth.DEFAULT_CLIENT_ID,
        lwa_client_secret=auth.DEFAULT_CLIENT_SECRET, refresh_token=auth.DEFAULT_REFRESH_TOKEN))
    return "bench-sync-10-locations"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--per-extra-location", type=int, default=100)
    parser.add_argument("--rate-limit", default="1/1", help="the sandbox's RATE/BURST for every operation")
    parser.add_argument("--empty-page-every", type=int, default=3)
    args = parser.parse_args()

    setup_django(DB_NAME)
    from django.conf import settings
    from django.core.management import call_command

    rate = float(args.rate_limit.split("/")[0])
    account = settings.AMAZON_SELLER_ACCOUNT
    print(f"database {DB_NAME}; sandbox {args.rate_limit} per operation, {args.count} shipments + "
          f"{args.per_extra_location} at each of 8 more locations, empty page every {args.empty_page_every or 'never'}; "
          f"client headroom {settings.AMAZON_RATE_LIMIT_HEADROOM:g}; {machine_load()}", flush=True)
    results = {}
    with Sandbox(rate_limit=args.rate_limit, count=args.count, empty_page_every=args.empty_page_every) as sandbox:
        sandbox.point_django_here()
        for location in LOCATIONS[2:]:
            for _ in range(args.per_extra_location):
                sandbox.create_shipment(programme="easy_ship", marketplace="IN", skus=["MILTON-THERMO-1000-SS"],
                                        units=1, location_id=location)
        print(f"{'locations':>9} {'cycle':<12}{'secs':>7}{'pages':>6}{'allowed s':>10}{'ratio':>7}{'stored':>7}"
              f"{'rewritten':>10}{'queries':>8}{'429':>5}{'load':>6}  calls answered", flush=True)

        def show(managed, name, r):
            print(f"{managed:>9} {name:<12}{r['secs']:>7.1f}{r['pages']:>6}{r['allowed']:>10.1f}"
                  f"{r['secs'] / max(r['allowed'], 0.001):>7.2f}{r['stored']:>7}{r['rewritten']:>10}{r['queries']:>8}"
                  f"{r['throttled']:>5}{r['load']:>6}  {r['calls']}", flush=True)

        # The initial sync of each setup into an empty database; then the next cycle of both from the
        # same cursors (the same moment), so that Amazon's changes in the overlap are the same for both.
        accounts = {}
        for managed in (1, 10):
            call_command("flush", verbosity=0, interactive=False)
            flush_bench_redis()
            accounts[managed] = account_for(managed, sandbox, account)
            r = results[(managed, "initial")] = cycle(accounts[managed], set(LOCATIONS[:managed]), rate)
            show(managed, "initial", r)
        from django.utils import timezone

        from fulfillment.shipments.models import SyncCursor
        from fulfillment.shipments.programmes import SYNC_STATUSES

        read_at = timezone.now()
        for managed in (1, 10):
            account_for(managed, sandbox, account)
            for status in SYNC_STATUSES:
                SyncCursor.objects.update_or_create(seller_account=accounts[managed], status=status,
                                                    defaults={"last_synced_at": read_at})
        for managed in (1, 10):
            r = results[(managed, "next cycle")] = cycle(accounts[managed], set(LOCATIONS[:managed]), rate)
            show(managed, "next cycle", r)

    same = all(results[(1, name)]["calls"] == results[(10, name)]["calls"] for name in ("initial", "next cycle"))
    initial = results[(10, "initial")]
    ratio = initial["secs"] / initial["allowed"]
    checks = [
        (f"calls per cycle identical for 1 and 10 locations: initial {results[(1, 'initial')]['calls']} vs "
         f"{initial['calls']}; next cycle {results[(1, 'next cycle')]['calls']} vs {results[(10, 'next cycle')]['calls']}",
         same),
        (f"initial sync of {initial['stored']} shipments (10 locations) in {initial['secs']:.1f} s = {ratio:.2f} x the "
         f"{initial['allowed']:.0f} s the page limit allows (<= 1.05), load {initial['load']}", ratio <= 1.05),
    ]
    print("\n".join(f"  {'PASS' if ok else 'FAIL'} {text}" for text, ok in checks))
    verdict = "PASS" if all(ok for _, ok in checks) else "FAIL"
    print(f"summary: {verdict} sync calls per cycle {'identical' if same else 'DIFFER'} for 1 and 10 locations; "
          f"initial {ratio:.2f} x pages/rate; next cycle rewrote {results[(10, 'next cycle')]['rewritten']} unchanged "
          f"shipments in {results[(10, 'next cycle')]['queries']} queries; {machine_load()}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
