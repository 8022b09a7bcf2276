"""Rate-limit buckets: shared per seller account and operation, first come first served across
processes, background work yielding to packers, and requests spaced when they really leave.

Each behaviour runs on both stores: Redis (production) and the SQLite file (embedded station)."""

import multiprocessing
import time
import uuid
from itertools import pairwise

import pytest
from django.core.exceptions import ImproperlyConfigured

from fulfillment.amazon import ratelimit


def _account():
    return f"rl-{uuid.uuid4().hex[:10]}"


@pytest.fixture(params=["redis", "sqlite"])
def store(request, settings, tmp_path):
    if request.param == "sqlite":
        settings.REDIS_URL = ""
        settings.AMAZON_RATE_LIMIT_DB = tmp_path / "ratelimit.sqlite3"
    else:
        assert settings.REDIS_URL, "runs against the real Redis"
    settings.AMAZON_RATE_LIMIT_HEADROOM = 0
    return request.param


def test_limits_parse_and_default(settings):
    settings.AMAZON_RATE_LIMITS = {"getShipments": "0.5/2"}
    assert ratelimit.configured_limit("getShipments") == ratelimit.OperationLimit(0.5, 2)
    assert ratelimit.configured_limit("getShipment") == ratelimit.OperationLimit(1.0, 1)
    for bad in ("fast", "0/1", "1/0", "inf/1"):
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


def _go(account, operation="getShipment", timeout=5, background=False):
    slot = ratelimit.acquire(account, operation, timeout=timeout, background=background)
    assert slot is not None
    slot.go()
    return time.time()


def test_callers_are_paced_to_the_rate_and_burst(store, settings):
    settings.AMAZON_RATE_LIMITS = {"getShipment": "20/1", "getShipments": "20/3"}
    account = _account()
    stamps = [_go(account) for _ in range(6)]
    gaps = [b - a for a, b in pairwise(stamps)]
    assert min(gaps) >= 0.045  # 1 at once, then one every 50 ms
    # A burst of 3 goes at once, then the rate.
    stamps = [_go(account, "getShipments") for _ in range(5)]
    assert stamps[2] - stamps[0] < 0.04
    assert stamps[4] - stamps[0] >= 0.095


def test_a_turn_further_away_than_the_timeout_is_not_taken(store, settings):
    settings.AMAZON_RATE_LIMITS = {"getShipment": "2/1"}
    account = _account()
    first = _go(account)
    started = time.monotonic()
    assert ratelimit.acquire(account, "getShipment", timeout=0.1) is None
    assert time.monotonic() - started < 0.1  # it says so at once instead of sleeping
    # The refused caller reserved nothing: the next one still gets the slot 0.5 s after the first.
    second = _go(account, timeout=2)
    assert 0.45 <= second - first < 0.7
    # Another operation of the same account has its own bucket.
    assert ratelimit.acquire(account, "getShipments", timeout=0.05) is not None


def test_a_request_that_left_late_pushes_the_next_one_back(store, settings):
    """Spacing is kept between the moments requests leave, not the moments turns were given."""
    settings.AMAZON_RATE_LIMITS = {"getShipment": "5/1"}  # 200 ms apart
    account = _account()
    late = ratelimit.acquire(account, "getShipment", timeout=5)
    on_time = ratelimit.acquire(account, "getShipment", timeout=5)  # slept until its own slot
    time.sleep(0.15)  # the first caller opens a slow connection before its bytes leave
    late.go()
    late_left = time.time()
    on_time.go()
    assert time.time() - late_left >= 0.19


def _asker(account, delay, background, start_at, out):
    ratelimit._buckets()  # a new process opens its store first, as a running station's has
    ratelimit.effective_limit(account, "createPackages")
    time.sleep(max(0.0, start_at + delay - time.time()))
    asked = time.time()
    slot = ratelimit.acquire(account, "createPackages", timeout=20, background=background)
    slot.go()
    out.append((delay, background, asked, time.time()))


def _run_askers(account, askers):
    ctx = multiprocessing.get_context("fork")
    with ctx.Manager() as manager:
        out = manager.list()
        start_at = time.time() + 1.5
        processes = [ctx.Process(target=_asker, args=(account, delay, bg, start_at, out)) for delay, bg in askers]
        for process in processes:
            process.start()
        for process in processes:
            process.join(40)
        assert [process.exitcode for process in processes] == [0] * len(processes)
        return sorted(out, key=lambda row: row[3])


def test_waiters_in_several_processes_are_served_first_come_first_served(store, settings):
    settings.AMAZON_RATE_LIMITS = {"createPackages": "4/1"}  # 250 ms apart
    account = _account()
    # Six processes ask 100 ms apart while the bucket is busy: each must go in the order it asked
    # (pyrate-limiter's retry loop, used before, served whoever woke first).
    askers = [(i * 0.1, False) for i in range(6)]
    served = _run_askers(account, askers)
    assert [row[2] for row in served] == sorted(row[2] for row in served)  # served as they asked
    gaps = [b[3] - a[3] for a, b in pairwise(served)]
    assert min(gaps) >= 0.245


def test_background_work_waits_while_a_packer_is_queued(store, settings):
    settings.AMAZON_RATE_LIMITS = {"createPackages": "5/1"}  # 200 ms apart
    account = _account()
    # Two packers queue, then background work asks, then two more packers ask after it.
    askers = [(0.0, False), (0.03, False), (0.06, True), (0.09, False), (0.25, False)]
    served = _run_askers(account, askers)
    assert [row[1] for row in served] == [False, False, False, False, True]
    background = served[-1]
    assert background[3] - served[-2][3] >= 0.19


def test_background_work_goes_at_once_when_no_packer_waits(store, settings):
    settings.AMAZON_RATE_LIMITS = {"createPackages": "5/1"}
    account = _account()
    started = time.time()
    _go(account, "createPackages", background=True)
    assert time.time() - started < 0.1
    # ...and gives up within its timeout when packers keep the bucket busy.
    assert ratelimit.acquire(account, "createPackages", timeout=5) is not None  # a packer queued 200 ms out
    started = time.monotonic()
    assert ratelimit.acquire(account, "createPackages", timeout=0.1, background=True) is None
    assert time.monotonic() - started < 0.3
