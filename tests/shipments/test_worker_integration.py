"""A real Celery worker process (Redis broker, the pytest PostgreSQL database) runs a step that
a packer asked for, against the real sandbox."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from fulfillment.celery import app
from fulfillment.shipments import services
from fulfillment.shipments.models import ShipmentStep
from fulfillment.shipments.tasks import run_step_task

from .factories import INDIA
from .sandbox_helpers import create_shipment

ROOT = Path(__file__).resolve().parents[2]


def database_url():
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker(amazon, settings, monkeypatch):
    """`celery -A fulfillment worker` on a queue of its own, so no other worker takes our task."""
    if not settings.REDIS_URL or connection.vendor != "postgresql":
        pytest.skip("needs the real PostgreSQL and Redis (make test)")
    queue = f"packbench-test-{uuid.uuid4().hex[:8]}"
    task = app.tasks[run_step_task.name]
    monkeypatch.setattr(task, "queue", queue, raising=False)
    monkeypatch.setattr(task, "_exec_options", None, raising=False)  # Celery caches the routing of a task
    env = {
        **os.environ,
        "PACKBENCH_ENV": "test",
        "DJANGO_SETTINGS_MODULE": "fulfillment.settings",
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "AMAZON_ENDPOINT": amazon.url,
        "AMAZON_LWA_TOKEN_URL": amazon.token_url,
        "AMAZON_RATE_LIMITS": "*=1000/1000",
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "fulfillment", "worker", "-Q", queue, "--pool=solo",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_step_to_completion(amazon, worker, packer):
    shipment = create_shipment(amazon, programme="EASY_SHIP", marketplace_id=INDIA)
    step = services.request_step(shipment, ShipmentStep.Kind.CONFIRM, packer)  # queued on commit
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        step.refresh_from_db()
        if step.status in {ShipmentStep.State.SUCCEEDED, ShipmentStep.State.FAILED}:
            break
        assert worker.poll() is None, worker.stdout.read()
        time.sleep(0.2)
    else:
        worker.terminate()
        pytest.fail(f"step still {step.status} after 30 s; worker said:\n{worker.communicate()[0]}")
    assert step.status == ShipmentStep.State.SUCCEEDED, step.error_message
    assert step.attempts == 1
    shipment.refresh_from_db()
    assert shipment.status == "CONFIRMED"
    assert amazon.state(shipment.amazon_id)["shipment"]["status"] == "CONFIRMED"
