"""Real Celery workers (Redis broker on settings.REDIS_URL, the pytest PostgreSQL database) that can
be killed, and Django settings that point at the sandbox with the workers' own client settings.

The worker processes take the test's settings through the environment, so test and workers agree
on the sandbox, the rate limits and the step lease."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from fulfillment.celery import app
from fulfillment.shipments.tasks import run_step_task

ROOT = Path(__file__).resolve().parents[2]
# Short on purpose: a killed worker's step is taken over after LEASE seconds. Safe because a live
# worker holds its step's PostgreSQL lock however long the step runs.
LEASE_SECONDS = 4
PENDING_GRACE_SECONDS = 10
CLIENT_TIMEOUT_SECONDS = 2
RETRY_MAX_WAIT_SECONDS = 0.5
# The sandbox session fixture serves 100 requests/s with a burst of 100; the client matches it.
RATE_LIMIT = "100/100"


def database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def packer(transactional_db):
    return get_user_model().objects.create_user("packer", password="x")


@pytest.fixture
def amazon(sandbox_settings, settings, transactional_db):
    if not settings.REDIS_URL or connection.vendor != "postgresql":
        pytest.skip("needs the real PostgreSQL and Redis (make test)")
    settings.AMAZON_RATE_LIMITS = {"*": RATE_LIMIT}
    settings.AMAZON_RETRY_ATTEMPTS = 4
    settings.AMAZON_RETRY_INITIAL_WAIT_SECONDS = 0.1
    settings.AMAZON_RETRY_MAX_WAIT_SECONDS = RETRY_MAX_WAIT_SECONDS
    settings.AMAZON_TIMEOUT_SECONDS = CLIENT_TIMEOUT_SECONDS
    settings.SHIPMENT_STEP_LEASE_SECONDS = LEASE_SECONDS
    settings.SHIPMENT_STEP_PENDING_GRACE_SECONDS = PENDING_GRACE_SECONDS
    return sandbox_settings


class Workers:
    """Starts `celery -A fulfillment worker` processes on this test's own queue and kills them."""

    def __init__(self, amazon, settings, queue: str, log_dir: Path):
        self.queue = queue
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen] = []
        self.env = {
            **os.environ,
            "PACKBENCH_ENV": "test",
            "DJANGO_SETTINGS_MODULE": "fulfillment.settings",
            "PYTHONUNBUFFERED": "1",
            "DATABASE_URL": database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "AMAZON_ENDPOINT": amazon.url,
            "AMAZON_LWA_TOKEN_URL": amazon.token_url,
            "AMAZON_RATE_LIMITS": f"*={RATE_LIMIT}",
            "AMAZON_RETRY_ATTEMPTS": "4",
            "AMAZON_RETRY_INITIAL_WAIT_SECONDS": "0.1",
            "AMAZON_RETRY_MAX_WAIT_SECONDS": str(RETRY_MAX_WAIT_SECONDS),
            "AMAZON_TIMEOUT_SECONDS": str(CLIENT_TIMEOUT_SECONDS),
            "SHIPMENT_STEP_LEASE_SECONDS": str(LEASE_SECONDS),
            "SHIPMENT_STEP_PENDING_GRACE_SECONDS": str(PENDING_GRACE_SECONDS),
            "CELERY_TASK_ALWAYS_EAGER": "false",
        }

    def start(self, concurrency: int = 4) -> subprocess.Popen:
        """A prefork worker (as in production), in a process group of its own, once it is ready."""
        log_path = self.log_dir / f"worker-{len(self.processes) + 1}.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "fulfillment", "worker", "-Q", self.queue,
             "--pool=prefork", f"--concurrency={concurrency}", "--without-gossip", "--without-mingle",
             "--without-heartbeat", "--loglevel=INFO", f"--hostname={self.queue}-{len(self.processes) + 1}@%h"],
            cwd=ROOT, env=self.env, stdout=log_path.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
        )
        process.log_path = log_path
        self.processes.append(process)
        deadline = time.monotonic() + 60
        while " ready." not in log_path.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"worker did not start:\n{self.log(process)}")
            time.sleep(0.1)
        return process

    def kill(self, process: subprocess.Popen) -> None:
        """SIGKILL the worker and its pool children at once, as a crashed machine or an OOM kill would."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    @staticmethod
    def log(process: subprocess.Popen, tail: int = 4000) -> str:
        return process.log_path.read_text(errors="replace")[-tail:]


@pytest.fixture
def workers(amazon, settings, monkeypatch, tmp_path):
    """Celery workers on a queue used by this test only: stray messages of other runs cannot reach them."""
    queue = f"packbench-it-{uuid.uuid4().hex[:8]}"
    task = app.tasks[run_step_task.name]
    monkeypatch.setattr(task, "queue", queue, raising=False)
    monkeypatch.setattr(task, "_exec_options", None, raising=False)  # Celery caches a task's routing
    handle = Workers(amazon, settings, queue, tmp_path)
    yield handle
    handle.stop_all()  # before transactional_db empties the tables the workers write to
