"""Fixtures shared by the whole suite.

Tests run on the machine's real PostgreSQL and Redis (see the Makefile's `test` target).
"""

import pytest as _pytest


@_pytest.fixture(scope="session", autouse=True)
def _fresh_redis_test_database():
    """Start every run with an empty Redis test database: no Celery messages, cached tokens or
    rate-limit buckets left over from an earlier run."""
    from django.conf import settings

    if settings.PACKBENCH_ENV == "test" and settings.REDIS_URL:
        import redis

        redis.Redis.from_url(settings.REDIS_URL).flushdb()


@_pytest.fixture(autouse=True)
def _fresh_amazon_rate_limits():
    """Each test starts with the seller accounts' rate-limit buckets empty and no rate Amazon announced
    (x-amzn-RateLimit-Limit, kept a day): a test that synced at getOrders' real plan (1 a minute) left
    the default account's bucket minutes ahead, and a later test waited for it."""
    yield
    from django.conf import settings

    if settings.PACKBENCH_ENV == "test" and settings.REDIS_URL:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        for pattern in ("*amazon:ratelimit:*", "packbench:ratelimit:*"):
            for key in client.scan_iter(match=pattern, count=1000):
                client.delete(key)


@_pytest.fixture(autouse=True)
def _celery_not_left_eager():
    """A test that runs Celery eagerly must switch it back: a leak makes every later test that
    relies on a real worker (tests/integration, the worker tests) run its steps in-process."""
    from fulfillment.celery import app

    yield
    assert not app.conf.task_always_eager, "a test left Celery in eager mode"


# --- sandbox fixtures ---
# Owned by the sandbox engineer. `sandbox` runs `manage.py runsandbox` as a real HTTP server for
# the whole session; `sandbox_settings` points Django at it and gives each test fresh shipments.

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

SANDBOX_DEV_CREDENTIALS = {
    "AMAZON_LWA_CLIENT_ID": "amzn1.application-oa2-client.sandbox",
    "AMAZON_LWA_CLIENT_SECRET": "sandbox-secret",
    "AMAZON_LWA_REFRESH_TOKEN": "Atzr|sandbox-refresh-token",
}


class SandboxHandle:
    """A running sandbox: its URLs and its /_sandbox/ control API."""

    def __init__(self, url: str, process: subprocess.Popen, log_path: Path):
        self.url = url
        self.token_url = f"{url}/auth/o2/token"
        self.process = process
        self.log_path = log_path
        self.http = httpx.Client(base_url=url, timeout=10)

    def _control(
        self, method: str, path: str, body: dict | None = None, params: dict | None = None
    ):
        response = self.http.request(method, f"/_sandbox/{path}", json=body, params=params)
        if not response.is_success:
            raise AssertionError(
                f"sandbox {method} /_sandbox/{path} answered {response.status_code}: {response.text}"
            )
        return response.json()

    def reset(self, **kw) -> dict:
        """Fresh seeded shipments and MFN orders (kw: seed, count, orders), start-up config, no
        faults, empty call log."""
        return self._control("POST", "reset", kw)

    def configure(self, **kw) -> dict:
        """rate_limits={"op"|"default": {"rate", "burst"}}, label_url_ttl_seconds, token_ttl_seconds,
        expire_tokens=True, revoke_tokens=True (403 without "expired"), forbid_next_calls (next N calls 403),
        lwa_html_next (next N LWA answers are HTML), lwa_latency_ms, empty_page_every, fail_next_labels,
        invoice_shape, label_format, location_sellers={location: refresh token}, live={...}, lwa_clients={id: secret}, refresh_tokens=[...],
        revoked_refresh_tokens=[...], orders_list_lag_seconds, mfn_refund_after_seconds,
        mfn_label_confirms_shipment, mfn_unavailable_carriers. rate_limits={"op": None} drops an override
        (back to the plan)."""
        return self._control("POST", "config", kw)

    def faults(self, **kw) -> dict:
        """Add a fault: operations, latency_ms, error_rate, error_status, timeout_rate, timeout_seconds,
        throttle_seconds, count, apply."""
        return self._control("POST", "faults", kw)

    def clear_faults(self) -> None:
        self._control("DELETE", "faults")

    def create_shipment(self, **kw) -> dict:
        """A new ACCEPTED shipment (kw: programme, marketplace, skus, units, gift, shipment_type, priority,
        ship_by_hours, location_id, recommended_packages, cash_on_delivery, invoice_shape, label_format,
        shipment_id); returns it as getShipment would."""
        return self._control("POST", "shipments", kw)

    def cancel(self, shipment_id: str, reason: str | None = None) -> dict:
        return self._control(
            "POST", f"shipments/{shipment_id}/cancel", {"reason": reason} if reason else {}
        )

    def carrier_scan(self, shipment_id: str, package_ids: list[str] | None = None) -> dict:
        return self._control(
            "POST",
            f"shipments/{shipment_id}/carrier-scan",
            {"packageIds": package_ids} if package_ids else {},
        )

    def state(self, shipment_id: str) -> dict:
        return self._control("GET", f"shipments/{shipment_id}")

    def tamper(self, shipment_id: str, *, set: dict | None = None, remove: list | None = None) -> dict:
        """Change the shipment as Amazon serves it (dotted paths), e.g. drop a field the model requires."""
        return self._control("PATCH", f"shipments/{shipment_id}", {"set": set or {}, "remove": remove or []})

    def shipments(self) -> list[dict]:
        return self._control("GET", "shipments")["shipments"]

    def calls(
        self,
        operation: str | None = None,
        shipment_id: str | None = None,
        order_id: str | None = None,
    ) -> list[dict]:
        wanted = (("operation", operation), ("shipment_id", shipment_id), ("order_id", order_id))
        return self._control("GET", "calls", params={k: v for k, v in wanted if v})["calls"]

    def operations(self) -> list[dict]:
        """Every operation served: name, method, path, Amazon's usage plan, the limit in force."""
        return self._control("GET", "operations")["operations"]

    # MFN orders (Orders API) and labels (Merchant Fulfillment): see fulfillment/sandbox/orders
    # and merchant_fulfillment for what they enforce.
    def create_order(self, **kw) -> dict:
        """A new MFN order (kw: marketplace, skus, units, location_id, status Pending|Unshipped,
        store_pickup, service_level, ship_by_hours, placed_minutes_ago, prime, business, gift,
        cash_on_delivery, order_id, seller_order_id); returns its state (order_state)."""
        return self._control("POST", "orders", kw)

    def cancel_order(
        self, order_id: str, reason: str | None = None, request_only: bool = False
    ) -> dict:
        """The buyer cancels (request_only: only asks the seller to)."""
        return self._control(
            "POST", f"orders/{order_id}/cancel", {"reason": reason, "request_only": request_only}
        )

    def authorize_order(self, order_id: str) -> dict:
        """The payment of a Pending order clears: Unshipped."""
        return self._control("POST", f"orders/{order_id}/authorize")

    def order_state(self, order_id: str) -> dict:
        """order (v0), items, units per item, confirmations by packageReferenceId, shipTo, history."""
        return self._control("GET", f"orders/{order_id}")

    def orders(self) -> list[dict]:
        return self._control("GET", "orders")["orders"]

    def mfn_shipments(self, order_id: str | None = None) -> list[dict]:
        """Labels bought through Merchant Fulfillment (all, or one order's)."""
        params = {"order_id": order_id} if order_id else None
        return self._control("GET", "mfn/shipments", params=params)["shipments"]

    def mfn_carrier_scan(self, shipment_id: str) -> dict:
        """The carrier accepts the package: a refund of its label will be rejected."""
        return self._control("POST", f"mfn/shipments/{shipment_id}/carrier-scan")

    def access_token(self) -> str:
        """An access token for the dev credentials (for tests that talk to the API with plain httpx)."""
        response = self.http.post(
            "/auth/o2/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": SANDBOX_DEV_CREDENTIALS["AMAZON_LWA_REFRESH_TOKEN"],
                "client_id": SANDBOX_DEV_CREDENTIALS["AMAZON_LWA_CLIENT_ID"],
                "client_secret": SANDBOX_DEV_CREDENTIALS["AMAZON_LWA_CLIENT_SECRET"],
            },
        )
        response.raise_for_status()
        return response.json()["access_token"]


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory):
    """The SmartConnect sandbox on a free port, rate limits 100/s burst 100, live mode off, no empty pages."""
    root = Path(__file__).resolve().parent.parent
    log_path = tmp_path_factory.mktemp("sandbox") / "runsandbox.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "runsandbox",
            "127.0.0.1:0",
            "--no-live",
            "--rate-limit",
            "100/100",
            "--empty-page-every",
            "0",
        ],
        cwd=root,
        env={**os.environ, "PACKBENCH_ENV": "test", "PYTHONUNBUFFERED": "1"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    handle = None
    try:
        deadline = time.monotonic() + 30
        while handle is None:
            match = re.search(
                r"listening on (http://[\d.]+:\d+)", log_path.read_text(errors="replace")
            )
            if match:
                handle = SandboxHandle(match[1], process, log_path)
            elif process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"runsandbox did not start:\n{log_path.read_text(errors='replace')}"
                )
            else:
                time.sleep(0.1)
        handle.http.get("/_sandbox/config").raise_for_status()
        yield handle
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        if handle is not None:
            handle.http.close()


@pytest.fixture
def sandbox_settings(sandbox, settings):
    """Django settings pointing at the sandbox (dev credentials) and freshly reset sandbox state."""
    sandbox.reset()
    settings.AMAZON_ENDPOINT = sandbox.url
    settings.AMAZON_LWA_TOKEN_URL = sandbox.token_url
    for name, value in SANDBOX_DEV_CREDENTIALS.items():
        setattr(settings, name, value)
    return sandbox


# --- Browser (real Chromium through Playwright) ----------------------------------------------------
# Playwright's sync API keeps an event loop running in the test thread, so Django's ORM would refuse
# to run there; browser tests only use the ORM to set up data and read results.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"  # Debian's; Playwright's own browser downloads are blocked here
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"
VIEWPORTS = {"1366x768": {"width": 1366, "height": 768}, "1920x1080": {"width": 1920, "height": 1080}}


def pytest_configure(config):
    # A page that waits for a worker or for Amazon can take more than Playwright's 5 s on a busy machine.
    from playwright.sync_api import expect

    expect.set_options(timeout=10_000)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {
        **browser_context_args,
        # Playwright's wait_for_function evaluates strings, which our CSP forbids;
        # tests/browser/test_csp.py checks the pages under the real policy.
        "bypass_csp": True,
        "viewport": VIEWPORTS["1366x768"]}


@pytest.fixture
def print_spy(page):
    """Headless Chromium crashes on a PDF frame's print(): record what would be printed instead."""
    page.add_init_script("window.packbenchPrintFrame = function (frame) {"
                         " (window.__printed = window.__printed || []).push(frame.getAttribute('src')); };")
    return lambda: page.evaluate("window.__printed || []")


@pytest.fixture
def shoot(page):
    """Screenshot the current screen at both station resolutions (screenshots/<name>-<size>.png)."""
    SCREENSHOTS.mkdir(exist_ok=True)

    def take(name, *, full_page=False):
        for size, viewport in VIEWPORTS.items():
            page.set_viewport_size(viewport)
            page.wait_for_timeout(150)
            page.screenshot(path=str(SCREENSHOTS / f"{name}-{size}.png"), full_page=full_page)
        page.set_viewport_size(VIEWPORTS["1366x768"])

    return take
