"""Server-side latency and query count of the station's queue, the shipment page and the supervisor's
board, at 1,000 and 100,000 shipments in PostgreSQL.

    .venv/bin/python bench/bench_pages.py [--sizes 1000,100000] [--runs 40] [--open 250] [--rebuild]

Data goes into its own database (`packbench_bench`, BENCH_DB to change it), written with COPY: a
fixed-size open backlog (5% of the shipments, at most --open at the station's location) and closed
history (shipped, delivered, cancelled) with the line items, packages, steps, status events, Amazon
calls and claims a real floor leaves behind. Sizes grow in place (the 1,000 are part of the 100,000);
a database already at a size is reused unless --rebuild. Pages are fetched with Django's test Client
(middleware, session, templates: everything but the network), DEBUG off, PostgreSQL's JIT off (the
settings turn it off on every connection).

The shipment page is measured as a real page open: a packer scans an ACCEPTED shipment nobody holds
into the scan box (GET /shipments/open/?q=..., a redirect), the shipment page opens (its Pack & label
form) and its claim panel claims it (POST mode=open on load); the three requests are one sample. The sync ran just before (as beat keeps it), so the open asks Amazon nothing.
Prints p50/p95 wall ms, p50/p95 CPU ms (this process's CPU time over the request: what the page costs
when the machine is not shared), queries per page and size, the 1-minute load average, the slowest
query of each page, and a summary line. Exits 1 unless p95 <= 50 ms and the same number of queries at every size.
"""

import argparse
import itertools
import json
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _support import load_now, machine_load, percentile, setup_django

DB_NAME = os.environ.get("BENCH_DB", "packbench_bench")
LOC, OTHER_LOC = "SANDBOX-LOC-1", "SANDBOX-LOC-2"
PACKERS = 20
OPEN_FLOW = ["ACCEPTED", "CONFIRMED", "PACKAGE_CREATED", "PICKUP_SLOT_RETRIEVED", "INVOICE_GENERATED",
             "SHIPLABEL_GENERATED"]
OPEN_WEIGHTS = [45, 15, 12, 10, 10, 8]
FLOW = OPEN_FLOW[1:] + ["SHIPPED"]
STEP_FOR = {"CONFIRMED": "CONFIRM", "PACKAGE_CREATED": "CREATE_PACKAGES", "PICKUP_SLOT_RETRIEVED": "SHIPPING_OPTIONS",
            "INVOICE_GENERATED": "INVOICE", "SHIPLABEL_GENERATED": "LABELS", "SHIPPED": "SHIP"}
PROGRAMMES = [("EASY_SHIP", "MFN", "MARKETPLACE", "A21TJRUUN4KGV"), ("EASY_SHIP", "MFN", "MARKETPLACE", "ATVPDKIKX0DER"),
              ("SELF_SHIP", "MFN", "SELF", "A21TJRUUN4KGV"), ("SELLER_FLEX", "FBA", "MARKETPLACE", "A21TJRUUN4KGV")]
SKUS = ["MILTON-THERMO-1000-SS", "TPLINK-ARCHER-C6", "BOAT-AIRDOPES-141", "PRESTIGE-KETTLE-15L", "CLASSMATE-NB-6PK"]


def open_target(total: int, cap: int) -> int:
    return min(cap, total // 20)


# --- Data -------------------------------------------------------------------------------------


class Loader:
    """Writes rows with COPY. Ids are ours (sequences reset afterwards), so children link directly."""

    def __init__(self, now):
        from django.apps import apps

        self.now = now
        self.rng = random.Random(7)
        self.models = {name: apps.get_model(name) for name in (
            "shipments.Shipment", "shipments.LineItem", "shipments.Package", "shipments.PackageLineItem",
            "shipments.ShipmentStep", "shipments.ShipmentEvent", "amazon.AmazonCall", "claims.Claim",
            "documents.Document")}
        self.rows = {name: [] for name in self.models}
        self.next_id = {name: self._max_id(model) + 1 for name, model in self.models.items()}

    @staticmethod
    def _max_id(model) -> int:
        from django.db.models import Max

        return model.objects.aggregate(m=Max("pk"))["m"] or 0

    def add(self, name: str, **values) -> int:
        values.setdefault("id", self.next_id[name])
        self.next_id[name] = values["id"] + 1
        self.rows[name].append(values)
        return values["id"]

    def flush(self) -> None:
        from django.core.serializers.json import DjangoJSONEncoder
        from django.db import connection, models

        with connection.cursor() as cursor:
            for name, rows in self.rows.items():
                if not rows:
                    continue
                model = self.models[name]
                fields = list(model._meta.concrete_fields)
                columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
                table = connection.ops.quote_name(model._meta.db_table)

                def value(field, row):
                    if field.attname in row:
                        v = row[field.attname]
                    elif isinstance(field, models.DateTimeField) and not field.null:
                        v = self.now
                    else:
                        v = field.get_default()
                    if isinstance(field, models.JSONField):
                        return json.dumps(v, cls=DjangoJSONEncoder)
                    return v

                with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row([value(f, row) for f in fields])
                rows.clear()
            for model in self.models.values():
                for sql in connection.ops.sequence_reset_sql(no_style(), [model]):
                    cursor.execute(sql)

    def shipment(self, *, is_open: bool, location: str, packers: list[int]) -> None:
        rng, now = self.rng, self.now
        programme, channel, shipping_type, marketplace = rng.choice(PROGRAMMES)
        if is_open:
            status = rng.choices(OPEN_FLOW, OPEN_WEIGHTS)[0]
            ship_by = now + timedelta(minutes=rng.randint(-180, 48 * 60))
            created = now - timedelta(minutes=rng.randint(30, 24 * 60))
        else:
            status = rng.choices(["SHIPPED", "DELIVERED", "CANCELLED"], [75, 22, 3])[0]  # Amazon wants < 2.5% cancelled
            created = now - timedelta(minutes=rng.randint(60, 180 * 24 * 60))
            ship_by = created + timedelta(hours=rng.randint(12, 48))
        sid = self.next_id["shipments.Shipment"]
        amazon_id = f"BENCH-{sid:07d}"
        lines = [(f"L{n + 1}", rng.choice(SKUS), rng.choice([1, 1, 1, 2, 3])) for n in range(rng.choice([1, 1, 2, 3]))]
        raw = {"id": amazon_id, "locationId": location, "status": status,
               "marketplaceAttributes": {"marketplaceId": marketplace, "channelName": channel},
               "shipmentInfo": {"buyerOrderId": f"403-{sid:07d}-0000001", "priority": "LOW"},
               "lineItems": [{"shipmentLineItemId": lid, "merchantSku": sku, "numberOfUnits": units,
                              "charges": [{"chargeType": "PRODUCT", "totalCharge": {"netAmount": {
                                  "value": "499.00", "currencyCode": "INR"}}}]} for lid, sku, units in lines]}
        reached = (["ACCEPTED"] + FLOW[:FLOW.index(status) + 1]) if status in FLOW else ["ACCEPTED"]
        if status == "DELIVERED":
            reached = ["ACCEPTED", *FLOW]
        if status == "CANCELLED":
            reached = ["ACCEPTED"] + (["CONFIRMED"] if rng.random() < 0.4 else [])
        if programme == "SELLER_FLEX" and "PICKUP_SLOT_RETRIEVED" in reached:
            reached.remove("PICKUP_SLOT_RETRIEVED")
        last_updated = created + timedelta(minutes=10 * len(reached))
        if is_open:
            last_updated = min(last_updated, now - timedelta(minutes=rng.randint(1, 600)))
        self.add("shipments.Shipment", amazon_id=amazon_id, seller_account="default", location_id=location,
                 marketplace_id=marketplace, channel_name=channel, shipping_type=shipping_type, programme=programme,
                 status=status, priority=rng.choice(["HIGH", "LOW", "LOW", "LOW"]),
                 buyer_order_id=f"403-{sid:07d}-0000001", ship_by=ship_by, amazon_created_at=created,
                 amazon_last_updated=last_updated, synced_at=now, invoice_requirement=rng.choice(["REQUIRED", ""]),
                 pslip_requirement=rng.choice(["REQUIRED", "", ""]), units_count=sum(u for _, _, u in lines),
                 recommended_length=20, recommended_width=15, recommended_height=10, recommended_dimension_unit="CM",
                 recommended_weight=400, recommended_weight_unit="G",
                 cancellation_type="MARKETPLACE_CANCELLED" if status == "CANCELLED" else "", raw=raw,
                 created_at=created, updated_at=last_updated)
        line_ids = [self.add("shipments.LineItem", shipment_id=sid, line_item_id=lid, merchant_sku=sku,
                             number_of_units=units) for lid, sku, units in lines]
        package_id = None
        if "PACKAGE_CREATED" in reached or (status in {"SHIPPED", "DELIVERED"}):
            shipped = status in {"SHIPPED", "DELIVERED"}
            package_id = self.add(
                "shipments.Package", shipment_id=sid, package_id=f"PKG1-{sid:08X}", length=20, width=15, height=10,
                weight=400, state="CONFIRMED", known_to_amazon=True, amazon_status="SHIPPED" if shipped else "",
                label_status="READY" if "SHIPLABEL_GENERATED" in reached else "NONE",
                tracking_id=f"TRK{sid:09d}" if "SHIPLABEL_GENERATED" in reached else "",
                shipped_at=last_updated if shipped else None, created_at=created, updated_at=last_updated)
            for line_id, (_, _, units) in zip(line_ids, lines, strict=True):
                self.add("shipments.PackageLineItem", package_id=package_id, line_item_id=line_id, quantity=units)
        if status == "SHIPLABEL_GENERATED" and package_id:
            self.add("documents.Document", shipment_id=sid, package_id=package_id, kind="LABEL",
                     content=b"^XA^FO50,50^ADN,36,20^FDBENCH^FS^XZ", original_format="ZPL",
                     content_type="application/zpl", sha256="0" * 64, tracking_id=f"TRK{sid:09d}",
                     fetched_at=last_updated)
        self.add("shipments.ShipmentEvent", shipment_id=sid, kind="SYNCED", message="New shipment, status ACCEPTED.",
                 created_at=created)
        packer = rng.choice(packers)
        at = created
        for before, after in itertools.pairwise(reached):
            at += timedelta(minutes=rng.randint(2, 30))
            step_at = min(at, now - timedelta(seconds=30))
            self.add("shipments.ShipmentStep", shipment_id=sid, kind=STEP_FOR[after], status="SUCCEEDED",
                     requested_by_id=packer, attempts=1, created_at=step_at - timedelta(seconds=3),
                     started_at=step_at - timedelta(seconds=2), finished_at=step_at, updated_at=step_at,
                     result={"status": after})
            self.add("shipments.ShipmentEvent", shipment_id=sid, kind="STATUS_CHANGED", user_id=packer,
                     message=f"Amazon status {before} → {after}.", data={"from": before, "to": after},
                     created_at=step_at)
            self.add("amazon.AmazonCall", operation="getShipment", method="GET", shipment_id=amazon_id,
                     path=f"/externalFulfillment/2024-09-11/shipments/{amazon_id}", http_status=200,
                     duration_ms=rng.randint(80, 400), created_at=step_at)
        if status == "CANCELLED":
            self.add("shipments.ShipmentEvent", shipment_id=sid, kind="STATUS_CHANGED",
                     message=f"Amazon status {reached[-1]} → CANCELLED.", created_at=last_updated)
        if is_open and rng.random() < 0.06:  # a step that failed and was not done again yet
            nxt = FLOW[FLOW.index(status) + 1] if status in FLOW[:-1] else "CONFIRMED"
            self.add("shipments.ShipmentStep", shipment_id=sid, kind=STEP_FOR[nxt], status="FAILED",
                     requested_by_id=packer, attempts=1, error_code="InvalidInput",
                     error_message="Amazon refused the packages: check the weight.",
                     created_at=now - timedelta(minutes=rng.randint(1, 300)), finished_at=now, updated_at=now)
        if is_open and rng.random() < 0.1:
            self.add("claims.Claim", shipment_id=sid, user_id=packer, claimed_at=now - timedelta(minutes=5),
                     lease_expires_at=now + timedelta(seconds=60))


def no_style():
    from django.core.management.color import no_style as style

    return style()


def build(total: int, open_cap: int, packers: list[int]) -> float:
    """Grow the bench database to `total` shipments. Returns seconds spent."""
    from django.db import connection
    from django.utils import timezone

    from fulfillment.shipments.models import Shipment

    started = time.perf_counter()
    have = Shipment.objects.count()
    have_open = Shipment.objects.exclude(status__in=["SHIPPED", "DELIVERED", "CANCELLED"]).count()
    if have >= total:
        return 0.0
    loader = Loader(timezone.now())
    want_open = open_target(total, open_cap)
    want_open_all = want_open + want_open // 4  # plus the other location's backlog
    todo = [True] * max(0, want_open_all - have_open) + [False] * (total - have - max(0, want_open_all - have_open))
    loader.rng.shuffle(todo)
    for n, is_open in enumerate(todo, start=1):
        location = OTHER_LOC if (loader.rng.random() < 0.2 if is_open else loader.rng.random() < 0.25) else LOC
        loader.shipment(is_open=is_open, location=location, packers=packers)
        if n % 20000 == 0:
            loader.flush()
    loader.flush()
    # Recent traffic for the board's error panel: calls of the last 12 hours, 3% failed, a few throttled.
    rng, now = loader.rng, loader.now
    for _ in range(min(6000, total // 10)):
        status = rng.choices([200, 400, 429, 503], [97, 1, 1, 1])[0]
        loader.add("amazon.AmazonCall", operation=rng.choice(["getShipment", "createPackages", "generateShipLabels"]),
                   method="GET", path="/externalFulfillment/2024-09-11/shipments", http_status=status,
                   error_code="" if status == 200 else "QuotaExceeded" if status == 429 else "InvalidInput",
                   shipment_id=f"BENCH-{rng.randint(1, total):07d}", created_at=now - timedelta(minutes=rng.randint(0, 719)))
    loader.flush()
    # A live database has been vacuumed by autovacuum since its rows came in: statistics and the
    # visibility map (index-only scans) as in steady state, not as right after a bulk load.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return time.perf_counter() - started


def users():
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from fulfillment.accounts import roles
    from fulfillment.stations.models import Station

    User = get_user_model()
    packers = []
    for n in range(PACKERS):
        user, _ = User.objects.get_or_create(username=f"bench-packer-{n}")
        user.groups.add(Group.objects.get_or_create(name=roles.PACKER)[0])
        packers.append(user.pk)
    supervisor, _ = User.objects.get_or_create(username="bench-supervisor")
    supervisor.groups.add(Group.objects.get_or_create(name=roles.SUPERVISOR)[0])
    Station.objects.get_or_create(name="Bench station", defaults={"location_id": LOC})
    return packers, User.objects.get(pk=packers[0]), supervisor


# --- Measuring ----------------------------------------------------------------------------------


def pages(client_packer, client_supervisor):
    """(name, client, request) per page; request() makes the page's requests and returns the answers."""
    from django.db.models import Count
    from django.urls import reverse
    from django.utils import timezone

    from fulfillment.shipments.models import Shipment

    # The page a packer opens: a new shipment from the queue (ACCEPTED, the Pack & label form), never
    # opened in this run, so the open claims it (the claim panel posts mode=open on load) as on the floor.
    # Waiting since before the last sync's overlap: Amazon's view is fresh through the sync's cursors
    # (`sync_running`), as for most of a backlog, not through the shipment's own synced_at.
    Shipment.objects.filter(location_id=LOC, status="ACCEPTED").update(synced_at=timezone.now() - timedelta(hours=1))
    # One shape (Easy Ship India, one line, no step yet), so every sample and size makes the same queries.
    to_open = list(Shipment.objects.filter(location_id=LOC, status="ACCEPTED", programme="EASY_SHIP",
                                           marketplace_id="A21TJRUUN4KGV")
                   .annotate(n_lines=Count("line_items", distinct=True), n_steps=Count("steps", distinct=True))
                   .filter(n_lines=1, n_steps=0).order_by("ship_by").values_list("pk", "amazon_id"))
    opened = iter(range(10**9))

    def open_shipment():
        pk, amazon_id = to_open[next(opened) % len(to_open)]
        scanned = client_packer.get(reverse("shipments:open") + f"?q={amazon_id}")  # the scan box: a redirect
        assert scanned.status_code == 302, scanned.status_code
        page = client_packer.get(scanned["Location"])
        claim = client_packer.post(reverse("claims:heartbeat", args=[pk]), {"mode": "open"}, HTTP_HX_REQUEST="true")
        return [page, claim]

    def get(client, url):
        return lambda: [client.get(url)]

    return [
        ("queue", client_packer, get(client_packer, reverse("shipments:queue"))),
        ("queue list (poll)", client_packer, get(client_packer, reverse("shipments:queue_list"))),
        ("shipment page open", client_packer, open_shipment),
        ("board", client_supervisor, get(client_supervisor, reverse("supervision:board"))),
        ("board, one location", client_supervisor,
         get(client_supervisor, reverse("supervision:board") + f"?location={LOC}")),
    ]


def release_claims():
    """Between two samples: nobody holds a shipment yet (each open is a first open)."""
    from fulfillment.claims.models import Claim

    Claim.objects.filter(shipment__status="ACCEPTED").delete()


def sync_running():
    """The sync of the station's account ran just now (every status read), as beat keeps it: a page
    open then asks Amazon nothing (SHIPMENT_FRESH_SECONDS)."""
    from django.conf import settings
    from django.utils import timezone

    from fulfillment.shipments.models import SyncCursor
    from fulfillment.shipments.services.sync import SYNC_STATUSES

    for status in SYNC_STATUSES:
        SyncCursor.objects.update_or_create(seller_account=settings.AMAZON_SELLER_ACCOUNT, status=status,
                                            defaults={"last_synced_at": timezone.now()})


def measure(name, request, runs, warmup):
    """Wall and CPU (this process: Django's whole request handling, the test client's little) per request."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(max(warmup, 10)):
        release_claims()
        assert all(r.status_code == 200 for r in request()), name
    wall, cpu = [], []
    for _ in range(runs):
        release_claims()
        sync_running()
        started, started_cpu = time.perf_counter(), time.process_time()
        answers = request()
        cpu.append((time.process_time() - started_cpu) * 1000)
        wall.append((time.perf_counter() - started) * 1000)
        assert all(r.status_code == 200 for r in answers), (name, [r.status_code for r in answers])
    release_claims()
    sync_running()
    with CaptureQueriesContext(connection) as captured:
        request()
    slowest = max(captured.captured_queries, key=lambda q: float(q["time"]))
    return wall, cpu, len(captured.captured_queries), slowest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--open", type=int, default=250, help="largest open backlog at the station's location")
    parser.add_argument("--rebuild", action="store_true", help="empty the bench database first")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    setup_django(DB_NAME)  # PostgreSQL's JIT is off, as the settings set it for every connection
    from django.core.management import call_command
    from django.test import Client

    from fulfillment.shipments.models import Shipment

    if args.rebuild or Shipment.objects.count() > sizes[0]:
        call_command("flush", verbosity=0, interactive=False)
    packers, packer, supervisor = users()
    clients = []
    for user in (packer, supervisor):
        client = Client()
        client.force_login(user)
        clients.append(client)

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        jit = cursor.fetchone()[0]
    print(f"database {DB_NAME}; PostgreSQL JIT {jit}; {machine_load()}")
    print(f"{'size':>8} {'open@loc':>9}  {'page':<22}{'runs':>5}{'p50 ms':>9}{'p95 ms':>9}{'cpu p50':>9}{'cpu p95':>9}"
          f"{'queries':>9}{'load':>6}  slowest query")
    results = {}
    for size in sizes:
        spent = build(size, args.open, packers)
        if spent:
            print(f"# built {size} shipments in {spent:.0f} s", flush=True)
        open_here = Shipment.objects.filter(location_id=LOC).exclude(status__in=["SHIPPED", "DELIVERED", "CANCELLED"]).count()
        for name, _client, request in pages(*clients):
            samples, cpu, queries, slowest = measure(name, request, args.runs, args.warmup)
            p50, p95 = percentile(samples, 50), percentile(samples, 95)
            results[(size, name)] = (p50, p95, queries)
            sql = " ".join(slowest["sql"].split())[:80]
            print(f"{size:>8} {open_here:>9}  {name:<22}{args.runs:>5}{p50:>9.1f}{p95:>9.1f}{percentile(cpu, 50):>9.1f}"
                  f"{percentile(cpu, 95):>9.1f}{queries:>9}{load_now():>6}  "
                  f"{float(slowest['time']) * 1000:.1f} ms {sql}", flush=True)

    big = max(sizes)
    worst = max((k for k in results if k[0] == big), key=lambda k: results[k][1])
    constant = all(len({results[(s, name)][2] for s in sizes}) == 1 for _, name in {(k[0], k[1]) for k in results})
    counts = ", ".join(f"{name} {results[(big, name)][2]}" for (s, name) in results if s == big)
    verdict = "PASS" if results[worst][1] <= 50 and constant else "FAIL"
    print(f"summary: {verdict} (JIT {jit}) at {big} shipments worst p95 {results[worst][1]:.1f} ms ({worst[1]}); "
          f"queries per page {'constant' if constant else 'NOT constant'} across {args.sizes} ({counts}); "
          f"{machine_load()}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
