"""Packing throughput against Amazon's rate ceiling: N simulated packers work Easy Ship India shipments
from ACCEPTED to SHIPPED through the real services, against the local sandbox at Amazon's default
limit (1 request/s, burst 1, every operation), with the client's default limits.

    .venv/bin/python bench/bench_throughput.py [--packers 1,5,20] [--duration 90] [--rate-limit 1/1]

Each packer is a thread doing what a station does: `services.request_step` for every Amazon step,
which runs `services.run_step` (the Celery task's body, eager) right after it commits, plus the scan,
pack, option and print actions in between. Shipments come from the sandbox (POST /_sandbox/shipments),
synced into PostgreSQL (`packbench_bench_flow`) before the clock starts; the rate-limit buckets live
in Redis database 4 (emptied first).

Ceiling: for each operation, (its rate x 60) / (its calls per shipment, counted from the AmazonCall
log of the finished shipments); the lowest of these is the most shipments per minute the limits allow.
Throughput counts Amazon steps done inside the window divided by the steps a shipment needs (so a
half-done shipment counts half); whole shipments finished are printed too. "429s that reached a user"
are steps that FAILED with a throttling code; every other failed step is listed too (a wait for a
rate-limit token that outlasts AMAZON_RATE_LIMIT_MAX_WAIT_SECONDS can surface as another error), and
429 answers absorbed by the client's retries are shown apart.
"""

import argparse
import os
import queue
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _support import Sandbox, flush_bench_redis, machine_load, setup_django

DB_NAME = os.environ.get("BENCH_FLOW_DB", "packbench_bench_flow")
LOC = "SANDBOX-LOC-1"
THROTTLE_CODES = {"AmazonThrottled", "QuotaExceeded", "TooManyRequests"}


def packer_loop(user, work: queue.Queue, stop_at: float, errors: list):
    from django.db import connection

    from fulfillment.documents.models import Document
    from fulfillment.shipments import selectors, services, workflow
    from fulfillment.shipments.models import Shipment, ShipmentStep
    from fulfillment.shipments.workflow import PackageInput, PackageItemInput

    try:
        while time.monotonic() < stop_at:
            try:
                shipment = Shipment.objects.get(pk=work.get_nowait())
            except queue.Empty:
                return
            for _ in range(30):
                if time.monotonic() >= stop_at:
                    return
                action = workflow.next_action(shipment)
                if action is None:
                    break
                if action.kind == workflow.VERIFY:
                    for line in shipment.line_items.all():
                        for _unit in range(line.number_of_units - line.cancelled_quantity):
                            services.verify_scan(shipment, line.merchant_sku, user)
                elif action.kind == workflow.PACK:
                    items = [PackageItemInput(line.line_item_id, line.number_of_units - line.cancelled_quantity)
                             for line in shipment.line_items.all()]
                    services.save_packages(shipment, [PackageInput(length=20, width=15, height=10, weight=400,
                                                                   items=items)], user)
                elif action.kind == workflow.CHOOSE_OPTION:
                    services.choose_shipping_option(shipment, shipment.shipping_options.first(), user)
                elif action.kind == workflow.PRINT_LABELS:
                    for document in selectors.current_documents(shipment, Document.Kind.LABEL):
                        services.record_label_printed(document, user)
                else:
                    step = services.request_step(shipment, action.kind, user)  # runs eagerly after commit
                    step.refresh_from_db()
                    if step.status != ShipmentStep.State.SUCCEEDED:
                        break  # the packer would read the message; the shipment is left as it is
                shipment.refresh_from_db()
    except Exception as exc:  # noqa: BLE001 - reported in the figures, never hidden
        errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        connection.close()


def run(packers: int, duration: float, rate_limit: str, sandbox: Sandbox) -> dict:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db.models import Count
    from django.utils import timezone

    from fulfillment.amazon.models import AmazonCall
    from fulfillment.shipments import services
    from fulfillment.shipments.models import Shipment, ShipmentStep

    call_command("flush", verbosity=0, interactive=False)
    flush_bench_redis()
    sandbox.reset(count=0)
    rate, burst = (float(x) for x in rate_limit.split("/"))
    sandbox.configure(rate_limits={"default": {"rate": rate, "burst": int(burst)}}, empty_page_every=0)
    # Enough work that nobody runs dry: the ceiling is ~10 shipments/min at 1 request/s.
    wanted = packers + int(duration / 60 * 12 * rate) + 2
    for _ in range(wanted):
        sandbox.create_shipment(programme="easy_ship", marketplace="IN", skus=["MILTON-THERMO-1000-SS"], units=1,
                                location_id=LOC, recommended_packages=True)
    services.sync_account(settings.AMAZON_SELLER_ACCOUNT, locations={LOC})
    work = queue.Queue()
    for pk in Shipment.objects.filter(status="ACCEPTED").order_by("ship_by", "pk").values_list("pk", flat=True):
        work.put(pk)
    flush_bench_redis()  # the sync's getShipments pages must not hold tokens at the start line
    users = [get_user_model().objects.create_user(f"bench-packer-{n}") for n in range(packers)]
    AmazonCall.objects.all().delete()

    errors: list[str] = []
    started_at, started = timezone.now(), time.monotonic()
    stop_at = started + duration
    threads = [threading.Thread(target=packer_loop, args=(user, work, stop_at, errors)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    window_end = started_at + timedelta(seconds=elapsed)

    done_steps = ShipmentStep.objects.filter(status="SUCCEEDED", finished_at__gte=started_at,
                                             finished_at__lte=window_end)
    shipped = list(done_steps.filter(kind="SHIP").values_list("shipment__amazon_id", flat=True))
    steps_per_shipment = Counter(done_steps.filter(shipment__amazon_id__in=shipped).values_list("kind", flat=True))
    per_shipment = sum(steps_per_shipment.values()) / len(shipped) if shipped else 6
    calls = AmazonCall.objects.filter(shipment_id__in=shipped, http_status__lt=300).exclude(operation="fetchLabel")
    per_op = {row["operation"]: row["n"] / len(shipped)
              for row in calls.values("operation").annotate(n=Count("pk"))} if shipped else {"getShipment": 6}
    ceiling_per_min = min(rate * 60 / n for n in per_op.values())
    bottleneck = min(per_op, key=lambda op: rate * 60 / per_op[op])
    throughput = done_steps.count() / per_shipment / (elapsed / 60)
    failed = ShipmentStep.objects.filter(status="FAILED")
    return {
        "packers": packers,
        "elapsed": elapsed,
        "shipped": len(shipped),
        "throughput": throughput,
        "ceiling": ceiling_per_min,
        "bottleneck": f"{bottleneck} x{per_op[bottleneck]:g}",
        "ratio": throughput / ceiling_per_min,
        "user_429": failed.filter(error_code__in=THROTTLE_CODES).count(),
        "failed": dict(Counter(failed.values_list("error_code", flat=True))),
        "absorbed_429": AmazonCall.objects.filter(http_status=429).count(),
        "errors": errors,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packers", default="1,5,20")
    parser.add_argument("--duration", type=float, default=90, help="seconds per run")
    parser.add_argument("--rate-limit", default="1/1", help="the sandbox's RATE/BURST for every operation")
    args = parser.parse_args()

    # Steps run in the packer's thread right after request_step commits (what the worker would do).
    setup_django(DB_NAME, CELERY_TASK_ALWAYS_EAGER="true")
    from django.conf import settings

    print(f"database {DB_NAME}; sandbox {args.rate_limit} per operation; client limits "
          f"{settings.AMAZON_RATE_LIMITS or 'default (1/1)'}, headroom {settings.AMAZON_RATE_LIMIT_HEADROOM:g}; "
          f"{machine_load()}")
    print(f"{'packers':>7}{'secs':>7}{'shipped':>8}{'per min':>9}{'ceiling':>9}{'ratio':>7}{'429 user':>9}"
          f"{'429 absorbed':>13}  bottleneck / failed steps")
    results = []
    with Sandbox(rate_limit=args.rate_limit, count=0, empty_page_every=0) as sandbox:
        sandbox.point_django_here()
        for packers in (int(p) for p in args.packers.split(",")):
            r = run(packers, args.duration, args.rate_limit, sandbox)
            results.append(r)
            print(f"{r['packers']:>7}{r['elapsed']:>7.0f}{r['shipped']:>8}{r['throughput']:>9.2f}{r['ceiling']:>9.2f}"
                  f"{r['ratio']:>7.2f}{r['user_429']:>9}{r['absorbed_429']:>13}  {r['bottleneck']} / "
                  f"{r['failed'] or 'none'}{' / ERRORS ' + '; '.join(r['errors'][:3]) if r['errors'] else ''}",
                  flush=True)
    worst = min(results, key=lambda r: r["ratio"])
    users = sum(r["user_429"] for r in results)
    failed = sum(sum(r["failed"].values()) for r in results)
    verdict = "PASS" if worst["ratio"] >= 0.95 and users == 0 and failed == 0 else "FAIL"
    ratios = ", ".join(f"{r['packers']}p {r['ratio']:.2f}" for r in results)
    print(f"summary: {verdict} throughput/ceiling {ratios} "
          f"(target >= 0.95); 429s reaching a packer {users} (target 0), steps failed for any reason {failed}, "
          f"429s absorbed by retries "
          f"{sum(r['absorbed_429'] for r in results)}; {machine_load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
