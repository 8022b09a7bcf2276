"""Rate-limit buckets: shared per seller account and operation, waiting instead of 429s."""

import multiprocessing
import time
import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured

from fulfillment.amazon import ratelimit


def _account():
    return f"rl-{uuid.uuid4().hex[:10]}"


def test_limits_parse_and_default(settings):
    settings.AMAZON_RATE_LIMITS = {"getShipments": "0.5/2"}
    assert ratelimit.configured_limit("getShipments") == ratelimit.OperationLimit(0.5, 2)
    assert ratelimit.configured_limit("getShipment") == ratelimit.OperationLimit(1.0, 1)
    for bad in ("fast", "0/1", "1/0"):
        with pytest.raises(ImproperlyConfigured):
            ratelimit.OperationLimit.parse(bad)


def test_amazons_header_replaces_the_configured_rate_for_every_process(settings):
    settings.AMAZON_RATE_LIMITS = {"getShipment": "1/3"}
    account = _account()
    ratelimit.observe_rate_limit_header(account, "getShipment", "10.0")
    assert ratelimit.effective_limit(account, "getShipment") == ratelimit.OperationLimit(10.0, 3)
    assert ratelimit.effective_limit(_account(), "getShipment") == ratelimit.OperationLimit(1.0, 3)
    ratelimit.observe_rate_limit_header(account, "getShipment", "garbage")
    assert ratelimit.effective_limit(account, "getShipment").rate == 10.0
    ratelimit.forget_learned_limit(account, "getShipment")


def test_redis_bucket_paces_callers_to_the_rate(settings):
    assert settings.REDIS_URL, "runs against the real Redis"
    settings.AMAZON_RATE_LIMITS = {"getShipment": "20/1"}
    account = _account()
    started = time.monotonic()
    for _ in range(11):
        assert ratelimit.acquire(account, "getShipment", timeout=5)
    # 1 immediately, then one every 50 ms.
    assert time.monotonic() - started >= 0.45


def test_bounded_wait_gives_up(settings):
    settings.AMAZON_RATE_LIMITS = {"getShipment": "1/1"}
    account = _account()
    assert ratelimit.acquire(account, "getShipment", timeout=1)
    started = time.monotonic()
    assert ratelimit.acquire(account, "getShipment", timeout=0.2) is False
    assert time.monotonic() - started < 0.6
    # Another operation of the same account has its own bucket.
    assert ratelimit.acquire(account, "getShipments", timeout=0.2)


def _acquire_many(account, count, stamps):
    for _ in range(count):
        assert ratelimit.acquire(account, "createPackages", timeout=10)
        stamps.append(time.time())


def test_sqlite_bucket_is_shared_between_processes(settings, tmp_path):
    settings.REDIS_URL = ""
    settings.AMAZON_RATE_LIMIT_DB = tmp_path / "ratelimit.sqlite3"
    settings.AMAZON_RATE_LIMITS = {"createPackages": "10/2"}
    account = _account()
    ctx = multiprocessing.get_context("fork")
    with ctx.Manager() as manager:
        stamps = manager.list()
        workers = [ctx.Process(target=_acquire_many, args=(account, 4, stamps)) for _ in range(3)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(20)
        assert [worker.exitcode for worker in workers] == [0, 0, 0]
        times = sorted(stamps)
    assert len(times) == 12
    # Never more than the burst (2) inside any window of burst/rate = 0.2 s (less a margin for
    # the time between a process getting its token and noting the time).
    for first, third in zip(times, times[2:]):
        assert third - first >= 0.15
    assert times[-1] - times[0] >= 1.0
