"""Twenty callers in separate processes share one seller account's bucket in the real Redis and
never provoke Amazon's (the sandbox's) throttle."""

import json
import os
import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from fulfillment.amazon.auth import AccessTokens, Credentials

pytestmark = [pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]
RATE, BURST = 5, 5
PROCESSES, THREADS_EACH = 2, 10

CALLER = """
import json, sys, threading, django
django.setup()
from fulfillment.amazon.client import get_client, RetryPolicy
from fulfillment.amazon.errors import AmazonError

shipment_id, threads = sys.argv[1], int(sys.argv[2])
outcomes = []
start = threading.Barrier(threads)

def caller():
    client = get_client(retry=RetryPolicy(attempts=4, initial_wait=0.1, max_wait=1, rate_limit_wait=30))
    start.wait()
    try:
        client.get_shipment(shipment_id)
        outcomes.append("ok")
    except AmazonError as exc:
        outcomes.append(type(exc).__name__)

workers = [threading.Thread(target=caller) for _ in range(threads)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
print(json.dumps(outcomes))
"""


def test_twenty_concurrent_callers_stay_inside_the_bucket(sandbox_settings, settings, tmp_path):
    assert settings.REDIS_URL, "the shared bucket under test is the Redis one"
    sandbox_settings.configure(rate_limits={"getShipment": {"rate": RATE, "burst": BURST}})
    shipment_id = sandbox_settings.create_shipment(programme="easy_ship", marketplace="IN")["id"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "fulfillment.settings",
        "PACKBENCH_ENV": "test",
        "REDIS_URL": settings.REDIS_URL,
        # The callers record AmazonCall rows in a throwaway database of their own.
        "DATABASE_URL": f"sqlite:///{tmp_path / 'callers.sqlite3'}",
        "AMAZON_ENDPOINT": sandbox_settings.url,
        "AMAZON_LWA_TOKEN_URL": sandbox_settings.token_url,
        "AMAZON_SELLER_ACCOUNT": f"rl-sbx-{uuid.uuid4().hex[:10]}",
        "AMAZON_RATE_LIMITS": f"getShipment={RATE}/{BURST}",
        # What is under test is one bucket shared by every process. At 5/s the default 3% margin is
        # 6 ms, less than the scheduling jitter of twenty callers on a busy two-core machine.
        "AMAZON_RATE_LIMIT_HEADROOM": "0.1",
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    # The access token is shared through Redis: fetch it once now, as a running station would have.
    AccessTokens(Credentials.from_settings(), httpx.Client()).get()
    callers = [
        subprocess.Popen(
            [sys.executable, "-c", CALLER, shipment_id, str(THREADS_EACH)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for _ in range(PROCESSES)
    ]
    outcomes = []
    for caller in callers:
        out, err = caller.communicate(timeout=60)
        assert caller.returncode == 0, err
        outcomes += json.loads(out.strip().splitlines()[-1])

    assert outcomes == ["ok"] * (PROCESSES * THREADS_EACH)  # no 429 escaped any caller
    calls = sandbox_settings.calls(operation="getShipment", shipment_id=shipment_id)
    assert [c["status"] for c in calls].count(429) == 0
    assert len(calls) == PROCESSES * THREADS_EACH
    # However the calls bunched, no stretch of time holds more than the bucket allows (the log
    # stamps a call when it is answered, a few milliseconds after its token was taken).
    times = sorted(datetime.fromisoformat(c["at"]).timestamp() for c in calls)
    for i, first in enumerate(times):
        for j in range(i, len(times)):
            assert j - i + 1 <= BURST + RATE * (times[j] - first + 0.05)
    assert times[-1] - times[0] >= (len(times) - BURST) / RATE - 0.1
