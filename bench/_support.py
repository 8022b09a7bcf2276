"""What the benchmarks share: Django on a database of their own, percentiles, a sandbox subprocess.

Each benchmark calls `setup_django(db_name)` BEFORE importing anything from Django: it points
DATABASE_URL at that PostgreSQL database (created when missing, migrated) and REDIS_URL at the
benchmarks' Redis database (4), unless the caller's environment already sets them.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/4")


def setup_django(db_name: str, *, migrate: bool = True, db_options: str = "", **extra_env: str) -> None:
    """Configure and start Django on PostgreSQL database `db_name` (created if missing). `db_options`
    is a DATABASE_URL query string, e.g. "options=-c%20jit%3Doff"."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fulfillment.settings")
    os.environ["DATABASE_URL"] = f"{BENCH_PG}/{db_name}" + (f"?{db_options}" if db_options else "")
    os.environ["REDIS_URL"] = BENCH_REDIS_URL
    os.environ.setdefault("PACKBENCH_ENV", "development")
    os.environ.setdefault("DJANGO_DEBUG", "false")  # no query log, as in production
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.update(extra_env)
    _create_database(db_name)
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)


def _create_database(db_name: str) -> None:
    import psycopg

    with psycopg.connect(f"{BENCH_PG}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db_name]).fetchone():
            conn.execute(f'CREATE DATABASE "{db_name}"')


def flush_bench_redis() -> None:
    """Empty the benchmarks' own Redis database: rate-limit buckets, cached tokens, queued tasks."""
    import redis

    redis.Redis.from_url(BENCH_REDIS_URL).flushdb()


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def load_now() -> str:
    """The 1-minute load average, to print beside a figure."""
    return f"{os.getloadavg()[0]:.2f}"


def cpu_note() -> str:
    return f"{os.cpu_count()} cores"


def machine_load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f}/{five:.2f} (1/5 min) on {os.cpu_count()} cores"


class Sandbox:
    """`manage.py runsandbox` on a free port, and its /_sandbox/ control API (stdlib HTTP only)."""

    def __init__(self, *, rate_limit: str | None = "1/1", count: int = 40, seed: int = 40, empty_page_every: int = 3,
                 log_path: Path | None = None):
        """`rate_limit` "RATE/BURST" for every operation; None keeps Amazon's plan of each operation."""
        self.log_path = log_path or Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-sandbox-{os.getpid()}.log"
        self._log = self.log_path.open("wb")
        limit = ["--rate-limit", rate_limit] if rate_limit else []
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "runsandbox", "127.0.0.1:0", "--no-live", *limit,
             "--count", str(count), "--seed", str(seed), "--empty-page-every", str(empty_page_every)],
            cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdout=self._log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            match = re.search(r"listening on (http://[\d.]+:\d+)", self.log_path.read_text(errors="replace"))
            if match:
                self.url = match[1]
                break
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"runsandbox did not start:\n{self.log_path.read_text(errors='replace')}")
            time.sleep(0.1)
        self.token_url = f"{self.url}/auth/o2/token"

    def control(self, method: str, path: str, body: dict | None = None, timeout: float = 300):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}/_sandbox/{path}", data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"null")

    def reset(self, **kw) -> dict:
        return self.control("POST", "reset", kw)

    def configure(self, **kw) -> dict:
        return self.control("POST", "config", kw)

    def create_shipment(self, **kw) -> dict:
        return self.control("POST", "shipments", kw)

    def point_django_here(self) -> None:
        from django.conf import settings

        settings.AMAZON_ENDPOINT = self.url
        settings.AMAZON_LWA_TOKEN_URL = self.token_url

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
