"""Packing throughput against Amazon's physical ceiling, with the station's real processes.

    .venv/bin/python bench/bench_throughput.py [--runs 1x20,3x10] [--duration 180] [--warmup 45]

What runs (each a process of its own, as in production, all on this machine):
- the sandbox (`manage.py runsandbox`) at Amazon's usage plan of every operation (1 request/s for the
  External Fulfillment operations), one bucket per selling partner;
- the web (`gunicorn`, 2 workers x 4 threads), the Celery worker (prefork, --concurrency) and Celery
  beat (the sync every SHIPMENT_SYNC_INTERVAL_SECONDS, the reconciler), a virtual label printer;
- simulated packers (threads of this process) driving HTTP as a packer's browser does: sign in, scan a
  shipment id (GET /shipments/open/?q=..., which opens the shipment page), press Pack & label with the
  recommended box, poll what the page polls once a second (hx-trigger="every 1s": the running chain, an
  open step) and reload the body when it has ended, then press Mark shipped and poll again.

A run "AxP" has A seller accounts, each with its own station, location and P packers. Shipments come
from the sandbox (POST /_sandbox/shipments: Easy Ship India, one unit, a recommended box) and are
synced before the clock starts. The figures are taken after --warmup seconds (the pipeline filling):
shipments whose SHIP step finished in the window, per minute, per account.

Ceiling (the account's physical limit): for each Amazon operation, its usage-plan rate x 60 divided by
its calls per shipped shipment (every call of the account in the window, page opens, the sync and
retries included, from the AmazonCall log, divided by the shipments shipped in the window); the
smallest of these. The calls per shipment of every operation are printed. Targets (exit 1 if missed):
one account with 20 packers >= 0.95 x 60 = 57 shipments/min, no 429 reaching a packer (a step failed
with a throttling code), <= 0.5% of the calls answered 429 by the sandbox; getShipment <= 0.1 per shipment;
several accounts: their total >= 0.95 x accounts x the one-account figure.
"""

from __future__ import annotations

import argparse
import html
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _support import (
    BENCH_PG,
    BENCH_REDIS_URL,
    ROOT,
    Sandbox,
    flush_bench_redis,
    machine_load,
    setup_django,
)

DB_NAME = os.environ.get("BENCH_FLOW_DB", "packbench_bench_flow")
THROTTLE_CODES = {"AmazonThrottled", "QuotaExceeded", "TooManyRequests"}
PASSWORD = "bench-packer-password-1"
PORTS = iter(range(int(os.environ.get("BENCH_PORT_FIRST", "18910")), 18999))
TARGET_PER_MIN = 57.0
BIN = Path(sys.executable).parent


# --- The packer's browser -------------------------------------------------------------------------

# What htmx polls every second: an open step, or a running Pack & label chain as a whole.
POLL = re.compile(r'hx-get="(/shipments/[^"/]+/(?:steps/\d+/|chain/)\?status=[^"]*)"\s+hx-trigger="every 1s"')
CLAIM_ON_OPEN = re.compile(r'hx-post="(/claims/\d+/)" hx-vals=\'\{"mode": "open"\}\'')
PRINTED = re.compile(r'"(/shipments/[^"/]+/documents/\d+/printed/)"')


class FormFields(HTMLParser):
    """The fields (name -> value) of the form with id `form_id`, as the browser would post them."""

    def __init__(self, form_id: str):
        super().__init__()
        self.form_id, self.inside, self.fields = form_id, False, {}
        self._select = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("id") == self.form_id:
            self.inside = True
        if not self.inside:
            return
        if tag == "input" and a.get("name") and a.get("type") not in {"submit", "button"}:
            if a.get("type") in {"checkbox", "radio"} and "checked" not in a:
                return
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and ("selected" in a or self._select not in self.fields):
            self.fields[self._select] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "form":
            self.inside = False


def form_fields(page: str, form_id: str) -> dict:
    parser = FormFields(form_id)
    parser.feed(page)
    return parser.fields


class Browser:
    """One packer's browser: a session cookie, the CSRF token, htmx's request headers."""

    def __init__(self, base_url: str):
        import httpx

        self.http = httpx.Client(base_url=base_url, follow_redirects=True, timeout=60)
        self.requests = Counter()  # requests by what they are (request_kind)
        self.closed = ""  # the events of the last body reload ("shipment-closed" once shipped)

    def get(self, url, htmx=True):
        self.requests[request_kind("GET", url)] += 1
        return self.http.get(url, headers={"HX-Request": "true"} if htmx else {})

    def post(self, url, data=None, htmx=True):
        self.requests[request_kind("POST", url)] += 1
        headers = {"X-CSRFToken": self.http.cookies.get("csrftoken", ""), "Referer": str(self.http.base_url)}
        if htmx:
            headers["HX-Request"] = "true"
        return self.http.post(url, data=data or {}, headers=headers)

    def sign_in(self, username: str, station_pk: int) -> None:
        page = self.get("/accounts/login/", htmx=False).text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
        answer = self.post("/accounts/login/", {"username": username, "password": PASSWORD,
                                                "csrfmiddlewaretoken": token}, htmx=False)
        if "/accounts/login/" in str(answer.url):
            raise RuntimeError(f"{username} could not sign in")
        self.post(f"/stations/{station_pk}/use/", htmx=False)

    def wait_for_steps(self, amazon_id: str, body: str, deadline: float) -> str:
        """What htmx does on the shipment page until nothing is open: poll each open step (or the
        running Pack & label chain) every second, reload the body when one finishes, the header only
        when a background refresh changed nothing."""
        while time.monotonic() < deadline:
            polls = set(POLL.findall(body))
            if not polls:
                return body
            time.sleep(1.0)
            reload = False
            for url in polls:
                answer = self.get(html.unescape(url))
                trigger = triggers(answer)
                if "step-finished" in trigger:
                    reload = True
                elif "shipment-refreshed" in trigger:
                    self.get(f"/shipments/{amazon_id}/header/")
                    body = body.replace(url, "")  # that poll's element is gone
                else:  # the answer replaces the polled element (outerHTML): the next poll is the one it names
                    following = POLL.findall(answer.text)
                    if following and following[0] != url:
                        body = body.replace(url, following[0])
            if reload:
                answer = self.get(f"/shipments/{amazon_id}/body/")
                body, self.closed = answer.text, triggers(answer)
        self.last_body = body
        raise TimeoutError(f"{amazon_id}: still polling {sorted(polls)}")

    def pack_one(self, amazon_id: str, deadline: float) -> str:
        """Scan the shipment, Pack & label it, print, mark it shipped. Returns how it ended."""
        page = self.get(f"/shipments/open/?q={amazon_id}", htmx=False)
        if f"/shipments/{amazon_id}/" not in str(page.url):
            return f"open: landed on {page.url}"
        claim = CLAIM_ON_OPEN.search(page.text)
        if claim:  # the claim panel claims the shipment as soon as the page has loaded
            self.post(claim[1], {"mode": "open"})
        body = self.wait_for_steps(amazon_id, page.text, deadline)  # a refresh the page open may have asked for
        fields = form_fields(body, "fast-path")
        if not fields:
            return "no Pack & label form"
        if not fields.get("fp-weight"):
            # The packer weighs the carton: the box is empty (Amazon's weight is only a hint); this floor's
            # cartons weigh what Amazon recommends.
            from fulfillment.shipments.models import Shipment
            from fulfillment.shipments.weighing import unit_code

            weight, unit = Shipment.objects.filter(amazon_id=amazon_id).values_list(
                "recommended_weight", "recommended_weight_unit").get()
            fields["fp-weight"], fields["fp-weight_unit"] = str(weight), unit_code(unit)
        body = self.post(f"/shipments/{amazon_id}/pack-and-label/", fields).text
        body = self.wait_for_steps(amazon_id, body, deadline)
        for printed in PRINTED.findall(body):  # PDF/PNG labels print from the page, which then says so
            self.post(html.unescape(printed))
            body = self.get(f"/shipments/{amazon_id}/body/").text
        if f"/shipments/{amazon_id}/run/SHIP/" not in body:
            problem = re.search(r'data-flash>([^<]+)<|data-fast-path="stopped">([^<]+)<', body)
            return f"no Mark shipped: {problem and (problem[1] or problem[2])}"
        answer = self.post(f"/shipments/{amazon_id}/run/SHIP/")
        body = self.wait_for_steps(amazon_id, answer.text, deadline)
        return "shipped" if "shipment-closed" in triggers(answer) + self.closed else "not shipped"


REQUEST_KINDS = [(re.compile(pattern), kind) for pattern, kind in [
    (r"^GET /shipments/[^/]+/steps/", "step poll"), (r"^GET /shipments/[^/]+/chain/", "chain poll"),
    (r"^GET /shipments/[^/]+/body/", "body reload"), (r"^GET /shipments/[^/]+/header/", "header reload"),
    (r"^GET /shipments/open/", "page open"), (r"^POST /claims/", "claim"),
    (r"^POST /shipments/[^/]+/pack-and-label/", "Pack & label"), (r"^POST /shipments/[^/]+/run/", "step button"),
    (r"^POST /shipments/[^/]+/documents/", "printed"), (r"^(GET|POST) /(accounts|stations)/", "sign in"),
]]


def request_kind(method: str, url: str) -> str:
    line = f"{method} {url}"
    return next((kind for pattern, kind in REQUEST_KINDS if pattern.search(line)), line)


def triggers(answer) -> str:
    """The client events an answer triggers (HX-Trigger, -After-Swap, -After-Settle)."""
    return " ".join(v for k, v in answer.headers.items() if k.lower().startswith("hx-trigger"))


def packer(base_url, username, station_pk, work: queue.Queue, stop_at: float, outcomes: Counter, errors: list,
           requests: Counter):
    browser = Browser(base_url)
    try:
        browser.sign_in(username, station_pk)
        while time.monotonic() < stop_at:
            try:
                amazon_id = work.get_nowait()
            except queue.Empty:
                errors.append("ran out of shipments")
                return
            try:
                outcomes[browser.pack_one(amazon_id, stop_at + 60)] += 1
            except TimeoutError as exc:
                outcomes["timed out"] += 1
                errors.append(str(exc))
                if os.environ.get("BENCH_DUMP"):
                    Path(os.environ["BENCH_DUMP"], f"{amazon_id}.html").write_text(browser.last_body)
    except Exception as exc:  # noqa: BLE001 - reported in the figures, never hidden
        errors.append(f"{username}: {type(exc).__name__}: {exc}")
    finally:
        requests.update(browser.requests)


# --- The station's processes ----------------------------------------------------------------------

TICKS = os.sysconf("SC_CLK_TCK")


def session_cpu(session: int) -> float:
    """CPU seconds (user + system) of the live processes of a session (a process and its children)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == session:  # fields after the name: state ppid pgrp session ...
            total += int(fields[11]) + int(fields[12])
    return total / TICKS


def cpu_by_role(station, sandbox) -> dict[str, float]:
    """CPU seconds so far of the station's processes, the sandbox and the simulated packers (this process)."""
    used = {name: session_cpu(process.pid) for name, (process, _) in station.processes.items()}
    used["sandbox"] = _pid_cpu(sandbox.process.pid)
    # The database and Redis servers' processes, whoever they serve (these machines are shared).
    used.update(postgresql=_servers_cpu("postgres"), redis=_servers_cpu("redis-server"))
    times = os.times()
    used["packers (browsers)"] = times.user + times.system
    return used


def _servers_cpu(name: str) -> float:
    """CPU seconds so far of the live processes called `name` (a server's backends exit with their
    connection; the station's connections are persistent, so its backends live through a run)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if text[text.index("(") + 1:text.rindex(")")] == name:
            fields = text.rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / TICKS


def _pid_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port in 18910-18999")


class StationProcesses:
    """gunicorn, the Celery worker and beat, a virtual printer: started with the bench's settings."""

    def __init__(self, sandbox: Sandbox, *, concurrency: int, workdir: Path, printer_port: int):
        self.workdir = workdir
        self.web_port, self.printer_port = free_port(), printer_port
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", "DATABASE_URL": f"{BENCH_PG}/{DB_NAME}",
                    "REDIS_URL": BENCH_REDIS_URL, "AMAZON_ENDPOINT": sandbox.url,
                    "AMAZON_LWA_TOKEN_URL": sandbox.token_url, "PACKBENCH_ENV": "development",
                    "DJANGO_DEBUG": "false", "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
                    "PACKBENCH_VAR_DIR": str(workdir), "LOG_LEVEL": "WARNING"}
        self.processes = {}
        self._start("printer", [sys.executable, "manage.py", "runvirtualprinter",
                                f"127.0.0.1:{self.printer_port}", "--out", str(workdir / "printed")])
        self._start("web", [str(BIN / "gunicorn"), "fulfillment.wsgi:application", "--bind",
                            f"127.0.0.1:{self.web_port}", "--workers", "2", "--threads", "4", "--timeout", "60"])
        self._start("worker", [str(BIN / "celery"), "-A", "fulfillment", "worker", "--loglevel", "INFO",
                               "--concurrency", str(concurrency), "--without-gossip", "--without-mingle"])
        self._start("beat", [str(BIN / "celery"), "-A", "fulfillment", "beat", "--loglevel", "WARNING",
                             "--schedule", str(workdir / "celerybeat-schedule")])
        self.base_url = f"http://127.0.0.1:{self.web_port}"
        self._wait_for_web()

    def _start(self, name, command):
        log = (self.workdir / f"{name}.log").open("wb")
        self.processes[name] = (subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                                 start_new_session=True), log)

    def _wait_for_web(self):
        import httpx

        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.base_url}/accounts/login/", timeout=5).raise_for_status()
                return
            except httpx.HTTPError:
                time.sleep(0.5)
        raise RuntimeError(f"the web did not start: {(self.workdir / 'web.log').read_text()[-2000:]}")

    def worker_ready(self, timeout=90):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if b"ready" in (self.workdir / "worker.log").read_bytes():
                return
            time.sleep(0.5)

    def stop(self):
        for process, _log in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process, log in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            log.close()


# --- One run --------------------------------------------------------------------------------------


def prepare(accounts: int, packers: int, per_account: int, sandbox: Sandbox, printer_port: int):
    """Accounts, their stations and locations, packers, and the shipments synced in."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    from fulfillment.accounts import roles
    from fulfillment.accounts.models import SellerAccount
    from fulfillment.amazon.models import AmazonCall
    from fulfillment.sandbox.core import auth as sandbox_auth
    from fulfillment.shipments import services
    from fulfillment.shipments.models import Shipment
    from fulfillment.stations.models import Station

    call_command("flush", verbosity=0, interactive=False)
    flush_bench_redis()
    sandbox.reset(count=0)
    tokens = [f"Atzr|bench-seller-{n}" for n in range(1, accounts)]
    # Each account's location is its own at Amazon: its getShipments lists that location's shipments only.
    owners = {f"SANDBOX-LOC-{n + 1}": token for n, token in enumerate([settings.AMAZON_LWA_REFRESH_TOKEN, *tokens])}
    sandbox.configure(empty_page_every=0, refresh_tokens=tokens, location_sellers=owners)
    from fulfillment.accounts.models import LocationMembership

    group = Group.objects.get_or_create(name=roles.PACKER)[0]
    setups = []
    for n in range(accounts):
        location = f"SANDBOX-LOC-{n + 1}"
        account = None
        if n:  # the first is the settings' account; the others are SellerAccounts with their own token
            account = SellerAccount.objects.create(
                name=f"bench-seller-{n}", endpoint=sandbox.url, token_url=sandbox.token_url,
                lwa_client_id=sandbox_auth.DEFAULT_CLIENT_ID, lwa_client_secret=sandbox_auth.DEFAULT_CLIENT_SECRET,
                refresh_token=tokens[n - 1])
        station = Station.objects.create(name=f"Bench station {n + 1}", location_id=location, seller_account=account,
                                         printer_host="127.0.0.1", printer_port=printer_port)
        users = []
        for p in range(packers):
            user = get_user_model().objects.create_user(f"bench-{n + 1}-packer-{p}", password=PASSWORD)
            LocationMembership.objects.create(user=user, location_id=location)  # a packer of this location only
            user.groups.add(group)
            users.append(user.username)
        for _ in range(per_account):
            sandbox.create_shipment(programme="easy_ship", marketplace="IN", skus=["MILTON-THERMO-1000-SS"], units=1,
                                    location_id=location, recommended_packages=True)
        setups.append({"name": account.name if account else settings.AMAZON_SELLER_ACCOUNT, "station": station.pk,
                       "users": users, "location": location})
    services.sync_stations()
    for setup in setups:
        work = queue.Queue()
        for amazon_id in (Shipment.objects.filter(location_id=setup["location"], status="ACCEPTED")
                          .order_by("ship_by", "pk").values_list("amazon_id", flat=True)):
            work.put(amazon_id)
        setup["work"] = work
    flush_bench_redis()  # the sync's pages must not hold rate-limit slots at the start line
    AmazonCall.objects.all().delete()
    return setups


def plan_rates(sandbox: Sandbox) -> dict[str, float]:
    """Amazon's usage plan (requests/s) of each operation, as the sandbox holds it."""
    operations = sandbox.control("GET", "operations")
    operations = operations.get("operations", operations) if isinstance(operations, dict) else operations
    return {op["name"]: float(op["usage_plan"]["rate"]) for op in operations}


def run(accounts: int, packers: int, args, sandbox: Sandbox, rates: dict[str, float]) -> dict:
    from django.db.models import Count
    from django.utils import timezone

    from fulfillment.amazon.models import AmazonCall
    from fulfillment.shipments.models import ShipmentStep

    per_account = packers + int((args.duration + 60) / 60 * 62) + 5
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-flow-{accounts}x{packers}-"))
    printer_port = free_port()  # the stations' label printer (started with the station's processes)
    station = None
    try:
        setups = prepare(accounts, packers, per_account, sandbox, printer_port)
        station = StationProcesses(sandbox, concurrency=args.concurrency or accounts * packers, workdir=workdir,
                          printer_port=printer_port)
        station.worker_ready()
        loads = [os.getloadavg()[0]]
        outcomes, errors, requests = Counter(), [], Counter()
        started, started_at = time.monotonic(), timezone.now()
        stop_at = started + args.duration
        threads = [threading.Thread(target=packer, args=(station.base_url, user, setup["station"], setup["work"],
                                                         stop_at, outcomes, errors, requests), daemon=True)
                   for setup in setups for user in setup["users"]]
        for thread in threads:
            thread.start()
        cpu_start = None
        while time.monotonic() < stop_at:
            if cpu_start is None and time.monotonic() >= started + args.warmup:
                cpu_start = cpu_by_role(station, sandbox)
            time.sleep(min(5, max(0.1, stop_at - time.monotonic())))
            loads.append(os.getloadavg()[0])
        window_start = started_at + timedelta(seconds=args.warmup)
        window_end = timezone.now()
        cpu_end = cpu_by_role(station, sandbox)
        cpu_used = {role: cpu_end[role] - cpu_start.get(role, 0) for role in cpu_end} if cpu_start else {}
        minutes = (window_end - window_start).total_seconds() / 60
        for thread in threads:
            thread.join(timeout=90)
    finally:
        if station:
            station.stop()

    per = []
    for setup in setups:
        shipped_ids = list(ShipmentStep.objects.filter(
            kind="SHIP", status="SUCCEEDED", shipment__seller_account=setup["name"], finished_at__gte=window_start,
            finished_at__lt=window_end).values_list("shipment__amazon_id", flat=True))
        shipped = len(shipped_ids)
        # A shipment's calls are counted whole, whenever they were made (the window's edges cut
        # shipments in two); calls for no one shipment (the sync's pages) count inside the window.
        mine = AmazonCall.objects.filter(seller_account=setup["name"])
        calls = mine.filter(shipment_id__in=shipped_ids) | mine.filter(
            shipment_id="", created_at__gte=window_start, created_at__lt=window_end)
        by_op = dict(calls.values_list("operation").annotate(n=Count("pk")))
        per_ship = {op: n / max(shipped, 1) for op, n in sorted(by_op.items())}
        # Only Amazon's operations have a usage plan (not the LWA token, not label downloads).
        limits = {op: rates[op] * 60 / n for op, n in per_ship.items() if n and op in rates}
        bottleneck = min(limits, key=limits.get) if limits else "-"
        per.append({"account": setup["name"], "shipped": shipped, "per_min": shipped / minutes,
                    "ceiling": limits.get(bottleneck, 0.0), "bottleneck": bottleneck, "per_ship": per_ship,
                    "calls": calls.count(), "sandbox_429": calls.filter(http_status=429).count(),
                    "all_calls": mine.filter(created_at__gte=window_start, created_at__lt=window_end).count(),
                    "all_429": mine.filter(created_at__gte=window_start, created_at__lt=window_end,
                                           http_status=429).count()})
    failed = ShipmentStep.objects.filter(status="FAILED", finished_at__gte=started_at)
    return {
        "run": f"{accounts}x{packers}", "accounts": accounts, "packers": packers, "minutes": minutes, "per": per,
        "total_per_min": sum(p["per_min"] for p in per),
        "user_429": failed.filter(error_code__in=THROTTLE_CODES).count(),
        "failed": dict(Counter(failed.values_list("error_code", flat=True))),
        "outcomes": dict(outcomes), "requests": dict(requests), "errors": errors, "load": max(loads), "load_mean": sum(loads) / len(loads),
        "workdir": str(workdir), "cpu": cpu_used,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="1x20,3x10", help="ACCOUNTSxPACKERS (packers per account), comma-separated")
    parser.add_argument("--duration", type=float, default=180, help="seconds per run, warm-up included")
    parser.add_argument("--warmup", type=float, default=45, help="seconds before the window opens")
    parser.add_argument("--concurrency", type=int, default=0,
                        help="Celery worker processes (default: one per packer, each has at most one step running)")
    args = parser.parse_args()

    setup_django(DB_NAME)
    print(f"database {DB_NAME}; sandbox at Amazon's usage plans, buckets per seller; web gunicorn 2x4, "
          f"worker prefork {args.concurrency or 'one process per packer'}, beat; {machine_load()}", flush=True)
    results = []
    with Sandbox(rate_limit=None, count=0, empty_page_every=0) as sandbox:
        sandbox.point_django_here()
        rates = plan_rates(sandbox)
        for spec in args.runs.split(","):
            accounts, packers = (int(x) for x in spec.split("x"))
            r = run(accounts, packers, args, sandbox, rates)
            results.append(r)
            report(r)
    return verdict(results)


def report(r: dict) -> None:
    print(f"\nrun {r['run']}: {r['accounts']} account(s) x {r['packers']} packers, window {r['minutes']:.2f} min; "
          f"load (1 min) max {r['load']:.2f}, mean {r['load_mean']:.2f} on {os.cpu_count()} cores")
    print(f"  {'account':<16}{'shipped':>8}{'per min':>9}{'ceiling':>9}{'ratio':>7}{'calls':>7}{'429 sbx':>8}  "
          "bottleneck; calls per shipped shipment")
    for p in r["per"]:
        ratio = p["per_min"] / p["ceiling"] if p["ceiling"] else 0
        calls = ", ".join(f"{op} {n:.2f}" for op, n in p["per_ship"].items())
        print(f"  {p['account']:<16}{p['shipped']:>8}{p['per_min']:>9.2f}{p['ceiling']:>9.2f}{ratio:>7.2f}"
              f"{p['all_calls']:>7}{p['all_429']:>8}  {p['bottleneck']}; {calls}")
    print(f"  total {r['total_per_min']:.2f} shipments/min; 429s reaching a packer {r['user_429']}; failed steps "
          f"{r['failed'] or 'none'}; packer outcomes {r['outcomes']}; logs {r['workdir']}", flush=True)
    shipped = sum(p["shipped"] for p in r["per"])
    packed = r["outcomes"].get("shipped", 0)
    if packed:  # every request of the run (warm-up included) per shipment the packers shipped
        kinds = ", ".join(f"{kind} {n / packed:.1f}" for kind, n in sorted(r["requests"].items(), key=lambda i: -i[1]))
        print(f"  packers' requests per shipment they shipped: {sum(r['requests'].values()) / packed:.1f} ({kinds})")
    if r["cpu"] and shipped:
        per_shipment = ", ".join(f"{role} {cpu / shipped:.3f}" for role, cpu in r["cpu"].items())
        total = sum(r["cpu"].values()) / shipped
        print(f"  CPU seconds per shipped shipment: {per_shipment}; total {total:.2f} (PostgreSQL and Redis: "
              f"every process of theirs on the machine): {TARGET_PER_MIN:g} shipments/min need "
              f"{total * TARGET_PER_MIN / 60:.2f} cores ({os.cpu_count()} here, shared)")
    for error in r["errors"][:5]:
        print(f"  error: {error}")


def verdict(results: list[dict]) -> int:
    checks = []
    one = next((r for r in results if r["accounts"] == 1), None)
    for r in results:
        calls = sum(p["all_calls"] for p in r["per"])  # every call in the window, of any shipment
        throttled = sum(p["all_429"] for p in r["per"])
        gets = sum(p["per_ship"].get("getShipment", 0) * p["shipped"] for p in r["per"]) / max(
            1, sum(p["shipped"] for p in r["per"]))
        checks.append((f"{r['run']}: 429s reaching a packer {r['user_429']}", r["user_429"] == 0))
        checks.append((f"{r['run']}: 429s at the sandbox {throttled}/{calls} = {throttled / max(calls, 1):.2%} "
                       "(<= 0.5%)", throttled <= 0.005 * calls))
        checks.append((f"{r['run']}: getShipment per shipped shipment {gets:.3f} (<= 0.1)", gets <= 0.1))
        if r["accounts"] == 1 and r["packers"] >= 20:
            checks.append((f"{r['run']}: {r['total_per_min']:.2f} shipments/min (>= {TARGET_PER_MIN:g}), "
                           f"load max {r['load']:.2f}", r["total_per_min"] >= TARGET_PER_MIN))
        if r["accounts"] > 1 and not one:
            checks.append((f"{r['run']}: {r['total_per_min']:.2f} shipments/min, not compared: no one-account run "
                           "in this invocation (run --runs 1x20,3x10)", False))
        if r["accounts"] > 1 and one:
            want = 0.95 * r["accounts"] * one["total_per_min"]
            checks.append((f"{r['run']}: {r['total_per_min']:.2f} shipments/min (>= 0.95 x {r['accounts']} x "
                           f"{one['total_per_min']:.2f} = {want:.2f}), load max {r['load']:.2f}",
                           r["total_per_min"] >= want))
    failed = [text for text, ok in checks if not ok]
    print("\n" + "\n".join(f"  {'PASS' if ok else 'FAIL'} {text}" for text, ok in checks))
    print(f"summary: {'FAIL' if failed else 'PASS'} throughput "
          + "; ".join(f"{r['run']} {r['total_per_min']:.2f}/min (load {r['load']:.2f})" for r in results)
          + f"; {machine_load()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
