"""Callers in separate processes share one seller account's bucket and never provoke Amazon's
(the sandbox's) throttle at Amazon's own 1 request/s: requests *arrive* spaced (the sandbox's call
log stamps each request when it arrives, before any work), in the order they were asked for, and
background work lets packers go first. Redis (production) and the SQLite file (embedded station)."""

import json
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]

CALLER = """
import json, sys, threading, time, django
django.setup()
from fulfillment.amazon.client import get_client, RetryPolicy
from fulfillment.amazon.errors import AmazonError

shipment_ids, delay, background = sys.argv[1].split(","), float(sys.argv[2]), sys.argv[3] == "bg"
outcomes = []
get_client().tokens.get()  # the access token is in the shared cache before anyone starts
print("ready", flush=True)
start_at = float(sys.stdin.readline()) + delay

def caller(shipment_id):
    client = get_client(background=background,
                        retry=RetryPolicy(attempts=1, initial_wait=0.1, max_wait=1, rate_limit_wait=60))
    time.sleep(max(0.0, start_at - time.time()))
    try:
        client.get_shipment(shipment_id)
        outcomes.append("ok")
    except AmazonError as exc:
        outcomes.append(f"{type(exc).__name__}: {exc}")

workers = [threading.Thread(target=caller, args=(sid,)) for sid in shipment_ids]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
print(json.dumps(outcomes))
"""


@pytest.fixture(scope="module", params=["redis", "sqlite"])
def callers_store(request, tmp_path_factory):
    """The caller processes' own database (AmazonCall rows and, with no Redis, the token cache),
    migrated once per store."""
    folder = tmp_path_factory.mktemp(f"callers-{request.param}")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "fulfillment.settings",
        "PACKBENCH_ENV": "test",
        "PACKBENCH_VAR_DIR": str(folder / "var"),
        "DATABASE_URL": f"sqlite:///{folder / 'callers.sqlite3'}",
        "AMAZON_RATE_LIMITS": "",  # Amazon's default: 1 request/s, burst 1; the default headroom
    }
    env.pop("AMAZON_RATE_LIMIT_HEADROOM", None)
    if request.param == "sqlite":
        env["REDIS_URL"] = ""
        env.pop("CELERY_BROKER_URL", None)
    else:
        env["REDIS_URL"] = env.get("REDIS_URL") or os.environ.get("TEST_REDIS_URL", "")
        assert env["REDIS_URL"], "the Redis store under test needs REDIS_URL"
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    subprocess.run([sys.executable, "manage.py", "createcachetable"], cwd=ROOT, env=env, check=True)
    return env


@pytest.fixture
def callers_env(callers_store, sandbox_settings):
    """Environment of caller processes sharing one fresh seller account's buckets."""
    sandbox_settings.configure(rate_limits={"getShipment": {"rate": 1, "burst": 1}})
    return {
        **callers_store,
        "AMAZON_ENDPOINT": sandbox_settings.url,
        "AMAZON_LWA_TOKEN_URL": sandbox_settings.token_url,
        "AMAZON_SELLER_ACCOUNT": f"rl-sbx-{uuid.uuid4().hex[:10]}",
    }


# The ordering tests are about who goes first, not about the margin: on a loaded 2-core machine a
# request can reach the sandbox 40-100 ms late and bunch with the next one, so they keep 10% headroom.
ORDERING_HEADROOM = {"AMAZON_RATE_LIMIT_HEADROOM": "0.1"}


def _start(env, shipment_ids, delay=0.0, background=False, extra_env=None):
    """A caller process; it calls `delay` seconds after `_finish` starts them all together."""
    return subprocess.Popen(
        [sys.executable, "-c", CALLER, ",".join(shipment_ids), str(delay), "bg" if background else "fg"],
        cwd=ROOT, env={**env, **(extra_env or {})}, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _finish(callers):
    for caller in callers:  # every process has started Django and holds the access token
        assert caller.stdout.readline().strip() == "ready", caller.stderr.read()
    start_at = time.time() + 0.3
    for caller in callers:
        caller.stdin.write(f"{start_at}\n")
        caller.stdin.flush()
    outcomes = []
    for caller in callers:
        out, err = caller.communicate(timeout=120)
        assert caller.returncode == 0, err
        outcomes += json.loads(out.strip().splitlines()[-1])
    return outcomes


def _arrivals(sandbox, shipment_ids):
    calls = [c for c in sandbox.calls(operation="getShipment") if c["shipment_id"] in shipment_ids]
    return sorted(calls, key=lambda c: c["arrived_at"])


def _gaps(calls):
    times = [datetime.fromisoformat(c["arrived_at"]).timestamp() for c in calls]
    return [b - a for a, b in pairwise(times)]


def _shipments(sandbox, count):
    return [sandbox.create_shipment(programme="easy_ship", marketplace="IN")["id"] for _ in range(count)]


def test_concurrent_callers_draw_no_429_at_one_request_a_second(callers_env, sandbox_settings):
    # Three processes of four threads each (a worker and two web processes, say) all ask at once.
    ids = _shipments(sandbox_settings, 12)
    outcomes = _finish([_start(callers_env, ids[i::3]) for i in range(3)])

    assert outcomes == ["ok"] * 12, outcomes  # no 429 (nor anything else) reached a caller
    calls = _arrivals(sandbox_settings, set(ids))
    assert [c["status"] for c in calls] == [200] * 12  # and the sandbox answered none
    assert min(_gaps(calls)) >= 1.0  # each arrived at least Amazon's 1 s after the previous one
    assert sum(_gaps(calls)) < 11 * 1.03 + 1.5  # ...and the bucket was kept busy, not idle


def test_waiters_arrive_in_the_order_they_asked(callers_env, sandbox_settings):
    # Six processes ask 150 ms apart while the bucket is busy: Amazon must see them in that order.
    ids = _shipments(sandbox_settings, 6)
    callers = [_start(callers_env, [sid], i * 0.15, extra_env=ORDERING_HEADROOM) for i, sid in enumerate(ids)]
    assert _finish(callers) == ["ok"] * 6
    calls = _arrivals(sandbox_settings, set(ids))
    assert [c["shipment_id"] for c in calls] == ids
    assert [c["status"] for c in calls] == [200] * 6
    assert min(_gaps(calls)) >= 1.0


def test_a_background_call_waits_while_a_packers_call_is_queued(callers_env, sandbox_settings):
    # Packers A and B queue, the sync asks, then packer C asks after it: C still goes first.
    packer_a, packer_b, sync, packer_c = _shipments(sandbox_settings, 4)
    callers = [
        _start(callers_env, [packer_a], extra_env=ORDERING_HEADROOM),
        _start(callers_env, [packer_b], 0.1, extra_env=ORDERING_HEADROOM),
        _start(callers_env, [sync], 0.3, background=True, extra_env=ORDERING_HEADROOM),
        _start(callers_env, [packer_c], 0.6, extra_env=ORDERING_HEADROOM),
    ]
    assert _finish(callers) == ["ok"] * 4
    calls = _arrivals(sandbox_settings, {packer_a, packer_b, sync, packer_c})
    assert [c["shipment_id"] for c in calls] == [packer_a, packer_b, packer_c, sync]
    assert [c["status"] for c in calls] == [200] * 4
    assert min(_gaps(calls)) >= 1.0
