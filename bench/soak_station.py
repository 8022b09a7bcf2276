"""Soak of the embedded station (`make run`): packers work for a while and the station must stay up.

Start the station first (any free ports), then run this with the same environment, e.g.:

    make run SANDBOX_ADDR=127.0.0.1:18301 WEB_ADDR=127.0.0.1:18300 PRINTER_ADDR=127.0.0.1:18302 &
    SANDBOX_ADDR=127.0.0.1:18301 WEB_ADDR=127.0.0.1:18300 \\
        .venv/bin/python bench/soak_station.py --minutes 20 --packers 3

Packers (threads) take shipments the sandbox creates at Station 1's location and do what a station
does through the real services: scans, packages, shipping option, labels printed, and every Amazon
step requested with `services.request_step`, which queues it for the station's own Celery worker
through the file-system broker (nothing runs eagerly here). Beside them a supervisor signs in to the
web process and keeps opening the queue, the shipments being packed and the floor board, as a
browser would. At the end it prints what was done and whether the station stayed up: the worker's
pid never changed, supervisord never saw a process exit, no "Unrecoverable error" in its log.
Exit status 1 when any process of the station died or no shipment was shipped.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOC = "SANDBOX-LOC-1"
sys.path.insert(0, str(ROOT))


def supervised_pids() -> dict[str, int]:
    out = subprocess.run([ROOT / ".venv/bin/supervisorctl", "-c", ROOT / "supervisord.conf", "status"],
                         capture_output=True, text=True, cwd=ROOT, check=False).stdout
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+RUNNING\s+pid (\d+)", out, re.MULTILINE)}


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts: Counter = Counter()
        self.errors: Counter = Counter()

    def add(self, key: str, n: int = 1):
        with self.lock:
            self.counts[key] += n

    def error(self, text: str):
        with self.lock:
            self.errors[text[:160]] += 1


def wait_for_step(step, timeout: float = 180.0):
    from fulfillment.shipments.models import ShipmentStep

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        step.refresh_from_db()
        if step.status in {ShipmentStep.State.SUCCEEDED, ShipmentStep.State.FAILED}:
            return step
        time.sleep(0.5)
    return step


def packer(n: int, stop_at: float, stats: Stats, taken: set, taken_lock: threading.Lock, ours: set):
    from django.contrib.auth import get_user_model
    from django.db import connection

    from fulfillment.documents.models import Document
    from fulfillment.shipments import selectors, services, workflow
    from fulfillment.shipments.models import Shipment, ShipmentStep
    from fulfillment.shipments.workflow import PackageInput, PackageItemInput

    user, _ = get_user_model().objects.get_or_create(username=f"soak-packer-{n}")
    try:
        while time.monotonic() < stop_at:
            with taken_lock:
                shipment = (Shipment.objects.filter(status="ACCEPTED", location_id=LOC, amazon_id__in=list(ours))
                            .exclude(pk__in=taken).order_by("pk").first())
                if shipment is not None:
                    taken.add(shipment.pk)
            if shipment is None:
                time.sleep(2)
                continue
            for _ in range(30):
                if time.monotonic() >= stop_at:
                    return
                action = workflow.next_action(shipment)
                if action is None:
                    break
                try:
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
                        step = wait_for_step(services.request_step(shipment, action.kind, user))
                        stats.add(f"step {step.status}")
                        if step.status != ShipmentStep.State.SUCCEEDED:
                            stats.error(f"{action.kind}: {step.error_code} {step.error_message}")
                            break
                except Exception as exc:  # noqa: BLE001 - counted and shown, the packer moves on
                    stats.error(f"{action.kind}: {type(exc).__name__}: {exc}")
                    break
                shipment.refresh_from_db()
            shipment.refresh_from_db()
            stats.add(f"shipment left {shipment.status}")
    finally:
        connection.close()


def supply(sandbox_url: str, stop_at: float, stats: Stats, packers: int, ours: set):
    """Keeps a few ACCEPTED shipments waiting at Station 1's location and asks for a sync."""
    import httpx

    from fulfillment.shipments.models import Shipment
    from fulfillment.shipments.tasks import request_sync

    with httpx.Client(base_url=sandbox_url, timeout=10) as http:
        while time.monotonic() < stop_at:
            waiting = Shipment.objects.filter(status="ACCEPTED", location_id=LOC, amazon_id__in=list(ours)).count()
            for _ in range(max(0, 2 * packers - waiting)):
                created = http.post("/_sandbox/shipments", json={
                    "programme": "easy_ship", "marketplace": "IN", "skus": ["MILTON-THERMO-1000-SS"], "units": 1,
                    "location_id": LOC, "recommended_packages": True})
                ours.add(created.json()["id"])
                stats.add("created at the sandbox")
            request_sync(LOC)
            time.sleep(10)


def browser(web_url: str, stop_at: float, stats: Stats):
    """A supervisor's browser: signs in, picks Station 1, opens the queue, shipments and the board."""
    import httpx

    from fulfillment.shipments.models import Shipment
    from fulfillment.stations.models import Station

    with httpx.Client(base_url=web_url, timeout=30, follow_redirects=True) as http:
        login = http.get("/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text)[1]
        answer = http.post("/accounts/login/", data={"csrfmiddlewaretoken": token, "username": "supervisor",
                                                     "password": "packbench-supervisor"})
        assert "/accounts/login/" not in str(answer.url), "the soak's supervisor could not sign in"
        station = Station.objects.order_by("pk").first()
        http.post(f"/stations/{station.pk}/use/", data={"csrfmiddlewaretoken": http.cookies.get("csrftoken")},
                  headers={"X-CSRFToken": http.cookies.get("csrftoken", "")})
        while time.monotonic() < stop_at:
            pages = ["/shipments/", "/supervision/"]
            pages += [f"/shipments/{amazon_id}/" for amazon_id in
                      Shipment.objects.filter(location_id=LOC).order_by("-updated_at").values_list("amazon_id", flat=True)[:3]]
            for page in pages:
                try:
                    status = http.get(page).status_code
                    stats.add(f"page {status}")
                except httpx.HTTPError as exc:
                    stats.error(f"page {page}: {type(exc).__name__}")
            time.sleep(2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=20)
    parser.add_argument("--packers", type=int, default=3)
    parser.add_argument("--log", help="supervisord's output (make run's), checked for exits and crashes")
    args = parser.parse_args()
    web_url = f"http://{os.environ.get('WEB_ADDR', '127.0.0.1:8000')}"
    sandbox_url = f"http://{os.environ.get('SANDBOX_ADDR', '127.0.0.1:8001')}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fulfillment.settings")
    import django

    django.setup()
    from fulfillment.amazon.models import AmazonCall

    started_pids = supervised_pids()
    assert {"worker", "web", "sandbox"} <= set(started_pids), f"start the station first: {started_pids}"
    load_before = os.getloadavg()
    started = time.monotonic()
    stop_at = started + args.minutes * 60
    first_call = AmazonCall.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    stats, taken, taken_lock, ours = Stats(), set(), threading.Lock(), set()
    threads = [threading.Thread(target=supply, args=(sandbox_url, stop_at, stats, args.packers, ours)),
               threading.Thread(target=browser, args=(web_url, stop_at, stats))]
    threads += [threading.Thread(target=packer, args=(n, stop_at, stats, taken, taken_lock, ours))
                for n in range(args.packers)]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        time.sleep(30)
        now = supervised_pids()
        print(f"{(time.monotonic() - started) / 60:5.1f} min  pids {now}  {dict(stats.counts)}", flush=True)
    ended_pids = supervised_pids()

    calls = AmazonCall.objects.filter(pk__gt=first_call)
    statuses = Counter(calls.values_list("http_status", flat=True))
    log_text = Path(args.log).read_text(errors="replace") if args.log else ""
    exits = re.findall(r"(?:exited|stopped): (\w+) .*", log_text)
    unrecoverable = log_text.count("Unrecoverable error")
    print(f"\nSoak: {args.minutes:g} min, {args.packers} packers + a supervisor's browser; "
          f"load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}")
    for key, value in sorted(stats.counts.items()):
        print(f"  {key}: {value}")
    print(f"  Amazon calls: {calls.count()} by HTTP status {dict(statuses)}; 429s by operation "
          f"{dict(Counter(calls.filter(http_status=429).values_list('operation', flat=True)))}")
    print(f"  errors: {dict(stats.errors) or 'none'}")
    print(f"  pids at start {started_pids}")
    print(f"  pids at end   {ended_pids}")
    print(f"  process exits seen by supervisord: {exits or 'none'}; 'Unrecoverable error' lines: {unrecoverable}")
    crashed = started_pids != ended_pids or exits or unrecoverable
    shipped = stats.counts.get("shipment left SHIPPED", 0)
    print(f"RESULT: {'FAIL' if crashed or not shipped else 'OK'} - {shipped} shipments shipped, "
          f"worker crashes {0 if started_pids.get('worker') == ended_pids.get('worker') and not exits else 'some'}")
    return 1 if crashed or not shipped else 0


if __name__ == "__main__":
    sys.exit(main())
