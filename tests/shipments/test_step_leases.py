"""Who runs a step: a lock held by another live process (a PostgreSQL advisory lock, or on SQLite an
OS file lock) keeps a second run away however stale the step looks, and goes with its process; a
running step renews its heartbeat, so it never looks stale while it lives. The lock holders here are
real processes, killed with SIGKILL."""

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from fulfillment.shipments import services
from fulfillment.shipments.models import ShipmentStep
from fulfillment.shipments.services import leases

from .factories import INDIA
from .sandbox_helpers import create_shipment

State = ShipmentStep.State

HOLD_ADVISORY = """
import sys, time, psycopg
conn = psycopg.connect(sys.argv[1], autocommit=True)
conn.execute("SELECT pg_advisory_lock(%s, %s)", (int(sys.argv[2]), int(sys.argv[3])))
print("held", flush=True)
time.sleep(600)
"""
HOLD_FILE = """
import sys, time, filelock
lock = filelock.FileLock(sys.argv[1], fallback_to_soft=False)
lock.acquire()
print("held", flush=True)
time.sleep(600)
"""


def _dsn():
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgresql://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture(params=["advisory", "file"])
def lock_backend(request, monkeypatch, settings, tmp_path):
    """PostgreSQL's advisory locks, or the file locks the embedded station (SQLite) uses."""
    if request.param == "file":
        monkeypatch.setattr(leases, "_advisory", lambda: False)
        settings.SHIPMENT_STEP_LOCK_DIR = str(tmp_path)
    elif connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    return request.param


def hold_in_another_process(backend, step_id, tmp_path):
    if backend == "file":
        args = [HOLD_FILE, str(tmp_path / f"{step_id}.lock")]
    else:
        args = [HOLD_ADVISORY, _dsn(), str(leases.STEP_LOCK_NAMESPACE), str(leases._lock_key(step_id))]
    holder = subprocess.Popen([sys.executable, "-c", *args], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


@pytest.mark.django_db
def test_a_step_another_live_process_holds_is_never_run_beside_it(amazon, packer, lock_backend, tmp_path, settings):
    settings.SHIPMENT_STEP_LEASE_SECONDS = 30
    shipment = create_shipment(amazon, programme="EASY_SHIP", marketplace_id=INDIA)
    long_ago = timezone.now() - timedelta(hours=1)
    step = ShipmentStep.objects.create(shipment=shipment, kind=ShipmentStep.Kind.REFRESH, status=State.RUNNING,
                                       attempts=1, started_at=long_ago, heartbeat_at=long_ago)
    holder = hold_in_another_process(lock_backend, step.pk, tmp_path)
    try:
        # Its heartbeat is an hour old, yet its runner lives: nobody else touches it.
        assert step.pk not in services.stalled_step_ids()
        assert services.run_step(step.pk).attempts == 1
        step.refresh_from_db()
        assert (step.status, step.attempts) == (State.RUNNING, 1)
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    # Its process died, and its lock with it: the reconciler hands it on, and the next run takes it.
    assert step.pk in services.stalled_step_ids()
    reads = len(amazon.calls("getShipment", shipment.amazon_id))
    done = services.run_step(step.pk)
    assert (done.status, done.attempts) == (State.SUCCEEDED, 2)
    assert len(amazon.calls("getShipment", shipment.amazon_id)) == reads + 2  # re-read first, then the refresh


@pytest.mark.django_db(transaction=True)
def test_a_running_step_renews_its_heartbeat_and_is_never_stalled(amazon, packer, settings):
    settings.SHIPMENT_STEP_LEASE_SECONDS = 1
    shipment = create_shipment(amazon, programme="EASY_SHIP", marketplace_id=INDIA)
    step = ShipmentStep.objects.create(shipment=shipment, kind=ShipmentStep.Kind.REFRESH, requested_by=packer)
    amazon.faults(operations=["getShipment"], latency_ms=3000, count=1)  # Amazon takes three leases
    finished = []

    def worker():
        try:
            finished.append(services.run_step(step.pk))
        finally:
            connection.close()

    thread = threading.Thread(target=worker)
    thread.start()
    seen_stalled, beats = [], set()
    deadline = time.monotonic() + 10
    while thread.is_alive() and time.monotonic() < deadline:
        step.refresh_from_db()
        if step.status == State.RUNNING:
            beats.add(step.heartbeat_at)
            seen_stalled.append(step.pk in services.stalled_step_ids())
        time.sleep(0.1)
    thread.join(10)
    assert finished and finished[0].status == State.SUCCEEDED, finished
    step.refresh_from_db()
    assert step.heartbeat_at - step.started_at > timedelta(seconds=2)  # renewed while Amazon took its time
    assert len(beats) >= 3 and seen_stalled and not any(seen_stalled)
