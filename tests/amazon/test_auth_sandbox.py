"""Login with Amazon against the sandbox over real HTTP: a refused cached token, LWA answering
HTML, and processes contending for the refresh lock (Redis lock, and the file lock of an
embedded station)."""

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from django.core.cache import cache

from fulfillment.amazon import errors
from fulfillment.amazon.auth import AccessTokens, Credentials
from fulfillment.amazon.client import RetryPolicy, get_client
from fulfillment.amazon.models import AmazonCall

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def client(sandbox_settings, settings):
    settings.AMAZON_RATE_LIMITS = {"*": "1000/1000"}
    settings.AMAZON_SELLER_ACCOUNT = f"auth-{uuid.uuid4().hex[:8]}"
    client = get_client(retry=RetryPolicy(attempts=3, initial_wait=0.05, max_wait=0.2, rate_limit_wait=5))
    # The token cache is keyed by the app's credentials, shared by every test on the sandbox's: a token an
    # earlier test left there would spare this one its first LWA call (and fail the counts below).
    cache.delete(client.tokens.cache_key)
    yield client
    cache.delete(client.tokens.cache_key)


def test_a_revoked_cached_token_is_replaced_once(client, sandbox_settings):
    client.get_shipments(status="ACCEPTED", max_results=1)
    first = client.tokens.cached()
    # Refused for a reason other than expiry: the sandbox answers 403 with no "expired" in it.
    sandbox_settings.configure(revoke_tokens=True)
    time.sleep(1.1)  # the sandbox stamps tokens to the ms; a new one must come after the revocation
    client.get_shipments(status="ACCEPTED", max_results=1)
    assert client.tokens.cached() not in (None, first)
    calls = sandbox_settings.calls(operation="getShipments")
    assert [c["status"] for c in calls] == [200, 403, 200]
    assert "expired" not in json.dumps(calls[1])
    assert len(sandbox_settings.calls(operation="lwaToken")) == 2


def test_a_403_that_outlives_a_new_token_fails_naming_the_seller_account(client, sandbox_settings):
    client.get_shipments(status="ACCEPTED", max_results=1)
    sandbox_settings.configure(forbid_next_calls=5)
    with pytest.raises(errors.AmazonForbidden) as raised:
        client.get_shipments(status="ACCEPTED", max_results=1)
    account = client.credentials.seller_account
    assert f"seller account '{account}'" in raised.value.packer_message
    assert "even with a new access token" in raised.value.packer_message
    # One cached token, one new one, then it stops: no loop, no retry of the 403.
    assert [c["status"] for c in sandbox_settings.calls(operation="getShipments")] == [200, 403, 403]
    assert len(sandbox_settings.calls(operation="lwaToken")) == 2
    recorded = AmazonCall.objects.filter(seller_account=account, operation="getShipments", http_status=403)
    assert recorded.count() == 2


def test_lwa_answering_html_is_retried_not_a_crash(client, sandbox_settings):
    sandbox_settings.configure(lwa_html_next=2)
    page = client.get_shipments(status="ACCEPTED", max_results=1)
    assert page.shipments is not None
    lwa = sandbox_settings.calls(operation="lwaToken")
    assert [c["error_code"] for c in lwa] == ["html", "html", None]
    assert [c["status"] for c in sandbox_settings.calls(operation="getShipments")] == [200]
    assert AmazonCall.objects.filter(operation="lwaToken", error_code="AmazonServerError",
                                     seller_account=client.credentials.seller_account).count() == 2


def test_lwa_answering_html_every_time_ends_in_a_transient_error(client, sandbox_settings):
    sandbox_settings.configure(lwa_html_next=10)
    with pytest.raises(errors.AmazonServerError) as raised:
        client.process_shipment("NO-SUCH", "CONFIRM")
    assert raised.value.not_sent and "not its JSON (text/html)" in str(raised.value)
    assert "try again" in raised.value.packer_message.lower()
    assert len(sandbox_settings.calls(operation="lwaToken")) == 3  # the retry policy's attempts
    assert not sandbox_settings.calls(operation="processShipment")


# --- Two (three) processes and the refresh lock ------------------------------------------------

TOKEN_TAKER = """
import json, sys, time, django
django.setup()
import httpx
from fulfillment.amazon.auth import AccessTokens, Credentials
tokens = AccessTokens(Credentials.from_settings(), httpx.Client(timeout=30))
print("ready", flush=True)
time.sleep(max(0.0, float(sys.stdin.readline()) - time.time()))
token, fresh = tokens.token()
print(json.dumps({"token": token, "fresh": fresh}), flush=True)
"""


@pytest.mark.parametrize("lock", ["redis", "file"])
def test_processes_contending_for_the_refresh_lock_ask_lwa_once(lock, sandbox_settings, settings, tmp_path):
    """LWA takes 4 s, longer than the old 3 s lock: the waiters must not take (or delete) the
    owner's lock and ask LWA themselves; they wait and use the token the owner stored."""
    sandbox_settings.configure(lwa_latency_ms=4000)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "fulfillment.settings",
        "PACKBENCH_ENV": "test",
        "PACKBENCH_VAR_DIR": str(tmp_path / "var"),
        "AMAZON_ENDPOINT": sandbox_settings.url,
        "AMAZON_LWA_TOKEN_URL": sandbox_settings.token_url,
        "AMAZON_SELLER_ACCOUNT": f"lock-{uuid.uuid4().hex[:8]}",
        "AMAZON_LWA_CLIENT_ID": settings.AMAZON_LWA_CLIENT_ID,
        "AMAZON_LWA_CLIENT_SECRET": settings.AMAZON_LWA_CLIENT_SECRET,
        "AMAZON_LWA_REFRESH_TOKEN": settings.AMAZON_LWA_REFRESH_TOKEN,
    }
    if lock == "file":  # the embedded station: database cache, file lock
        env.update(REDIS_URL="", DATABASE_URL=f"sqlite:///{tmp_path / 'station.sqlite3'}")
        env.pop("CELERY_BROKER_URL", None)
        subprocess.run([sys.executable, "manage.py", "createcachetable"], cwd=ROOT, env=env, check=True)
    else:
        assert settings.REDIS_URL
        env["REDIS_URL"] = settings.REDIS_URL
    takers = [
        subprocess.Popen([sys.executable, "-c", TOKEN_TAKER], cwd=ROOT, env=env, text=True,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    for taker in takers:
        assert taker.stdout.readline().strip() == "ready", taker.stderr.read()
    start_at = time.time() + 0.3
    for taker in takers:
        taker.stdin.write(f"{start_at}\n")
        taker.stdin.flush()
    results = []
    for taker in takers:
        out, err = taker.communicate(timeout=60)
        assert taker.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))

    assert len(sandbox_settings.calls(operation="lwaToken")) == 1
    assert len({r["token"] for r in results}) == 1
    assert sorted(r["fresh"] for r in results) == [False, False, True]
    assert time.time() - start_at >= 4


def test_the_refresh_lock_outlives_an_lwa_call_and_only_its_owner_releases_it(sandbox_settings, settings):
    import redis

    from fulfillment.amazon import auth

    assert auth.refresh_lock_seconds() > 3 * settings.AMAZON_TIMEOUT_SECONDS
    tokens = AccessTokens(Credentials.from_settings(), httpx.Client(timeout=5))
    name = f"packbench:lwa-refresh:{tokens.credentials.cache_fingerprint[:32]}"
    server = redis.Redis.from_url(settings.REDIS_URL)
    server.delete(name)
    with tokens._refresh_lock():
        owner_token = server.get(name)
        assert owner_token and server.pttl(name) > 3 * settings.AMAZON_TIMEOUT_SECONDS * 1000
        # Another process cannot release it: redis-py's lock only deletes its own token.
        other = server.lock(name, timeout=5)
        other.local.token = b"not-the-owner"
        with pytest.raises(redis.exceptions.LockNotOwnedError):
            other.release()
        assert server.get(name) == owner_token
    assert server.get(name) is None
