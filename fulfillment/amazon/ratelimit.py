"""One request budget per seller account and operation, shared by every process.

Amazon allows each operation 1 request/s with a burst of 1 unless it says otherwise, and answers
429 beyond that. Amazon counts a request when it *arrives*, so spacing requests when they leave is
not enough: a caller that takes its turn and then spends 200 ms opening a TLS connection reaches
Amazon right beside the next caller. Waiting therefore has two phases:

1. **Reserve** a slot (`acquire`): the bucket is GCRA, and each caller atomically reserves its own
   future slot, so waiters are served first come, first served across processes. A packer's step
   (foreground) always queues; background work (the sync, a refresh a page asked for) takes a slot
   only when one is free right now and no foreground caller is queued, so a packer never waits
   behind it.
2. **Go** (`Slot.go`), called the moment the request's bytes are about to leave, after the
   connection is open: a second GCRA over the times requests really went out. A caller that
   reached its slot late pushes the next one back by as much, so requests arrive spaced even when
   one of them was slow to leave; and one whose bytes took long to write after that stamp (its
   process was not scheduled) moves the next turn again once they are out (`Slot.left`).

Both live in one small Redis hash per account and operation (two Lua scripts; no library serves
reservations in first-come order with priorities), or, on an embedded station with no Redis, in
a SQLite file (AMAZON_RATE_LIMIT_DB) updated in IMMEDIATE transactions. Limits come from
AMAZON_RATE_LIMITS ("operation": "rate/burst") and are replaced by the rate Amazon reports in
`x-amzn-RateLimit-Limit`; that learned rate is kept in the shared cache so every process follows it.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

DEFAULT_LIMIT = "1/1"
DEFAULT_HEADROOM = 0.03  # fraction of the spacing between requests added as a safety margin
LEARNED_RATE_TTL_SECONDS = 24 * 3600
#: Longest a background caller sleeps before looking at the bucket again.
BACKGROUND_POLL_SECONDS = 0.5
#: A request whose bytes took longer than this to leave after its send-time stamp pushes the next one back.
LATE_AFTER_SECONDS = 0.005
#: A bucket's state outlives its last reservation by this long (Redis key expiry).
STATE_TTL_MS = 600_000


@dataclass(frozen=True)
class OperationLimit:
    """Sustained requests per second and how many may go at once."""

    rate: float
    burst: int

    @classmethod
    def parse(cls, text: str, *, source: str = "AMAZON_RATE_LIMITS") -> OperationLimit:
        try:
            rate_text, _, burst_text = str(text).partition("/")
            rate, burst = float(rate_text), int(burst_text or 1)
        except ValueError:
            raise ImproperlyConfigured(f"{source}: {text!r} is not 'rate/burst', e.g. '1/1' or '0.5/2'") from None
        if rate <= 0 or burst < 1 or not math.isfinite(rate):
            raise ImproperlyConfigured(f"{source}: {text!r} needs a rate above 0 and a burst of at least 1")
        return cls(rate, burst)

    def spacing_ms(self) -> float:
        # A little slower than Amazon's rate: the network and Amazon's own front end add jitter
        # after the moment we stamp, and a request arriving a few ms "early" earns a 429.
        headroom = float(getattr(settings, "AMAZON_RATE_LIMIT_HEADROOM", DEFAULT_HEADROOM))
        return 1000 / self.rate * (1 + max(0.0, headroom))


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def _learned_key(seller_account: str, operation: str) -> str:
    return f"amazon:ratelimit:{_digest(seller_account, operation)}"


def configured_limit(operation: str) -> OperationLimit:
    """AMAZON_RATE_LIMITS for this operation, else its "*", else the usage plan the operation's
    model states (Orders, Merchant Fulfillment), else Amazon's default of 1/s, burst 1."""
    limits = getattr(settings, "AMAZON_RATE_LIMITS", {}) or {}
    if operation in limits or "*" in limits:
        return OperationLimit.parse(limits.get(operation, limits.get("*")))
    from .contract_schema import usage_plan

    plan = usage_plan(operation)
    if plan is not None:
        return OperationLimit(*plan)
    return OperationLimit.parse(DEFAULT_LIMIT)


def effective_limit(seller_account: str, operation: str) -> OperationLimit:
    """The configured limit, with Amazon's reported rate in place of the configured one."""
    limit = configured_limit(operation)
    try:
        learned = cache.get(_learned_key(seller_account, operation))
    except Exception:
        logger.warning("Cache unavailable for learned rate limits", exc_info=True)
        learned = None
    if learned:
        return OperationLimit(float(learned), limit.burst)
    return limit


def observe_rate_limit_header(seller_account: str, operation: str, header: str | None) -> None:
    """Remember the rate Amazon reports for this account and operation, for every process."""
    if not header:
        return
    try:
        rate = float(header)
    except ValueError:
        return
    if rate <= 0 or not math.isfinite(rate):
        return
    key = _learned_key(seller_account, operation)
    try:
        if cache.get(key) != rate:
            cache.set(key, rate, LEARNED_RATE_TTL_SECONDS)
            logger.info("Amazon rate limit for %s/%s is now %s request/s", seller_account, operation, rate)
    except Exception:
        logger.warning("Cache unavailable; Amazon's rate-limit header not shared", exc_info=True)


def forget_learned_limit(seller_account: str, operation: str) -> None:
    cache.delete(_learned_key(seller_account, operation))


# --- The shared state --------------------------------------------------------------------------
# Per bucket: `tat` (GCRA theoretical arrival time of the reservations), `fg` (the latest slot a
# foreground caller reserved: while it lies ahead, a foreground caller is queued) and `sent` (GCRA
# theoretical arrival time of the requests that really went out). All times in ms.

_RESERVE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local interval, tau = tonumber(ARGV[1]), tonumber(ARGV[2])
local background, max_wait = ARGV[3] == '1', tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tat', 'fg')
local tat, fg = tonumber(state[1]) or 0, tonumber(state[2]) or 0
local slot = math.max(now, tat - tau)
if background then
  if slot > now or fg > now then
    return {0, tostring(math.max(slot, fg) - now)}
  end
elseif slot - now > max_wait then
  return {0, tostring(slot - now)}
end
tat = math.max(tat, slot) + interval
if not background then fg = math.max(fg, slot) end
redis.call('HSET', KEYS[1], 'tat', tostring(tat), 'fg', tostring(fg))
redis.call('PEXPIRE', KEYS[1], math.floor(tat - now) + tonumber(ARGV[5]))
return {1, tostring(slot - now)}
"""

_GO_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local interval, tau = tonumber(ARGV[1]), tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'sent', 'tat')
local sent, tat = tonumber(state[1]) or 0, tonumber(state[2]) or 0
if now < sent - tau then
  return tostring(sent - tau - now)
end
sent = math.max(sent, now) + interval
-- A late request pushes later reservations back, so new callers queue behind the real spacing.
redis.call('HSET', KEYS[1], 'sent', tostring(sent), 'tat', tostring(math.max(tat, sent)))
redis.call('PEXPIRE', KEYS[1], math.floor(math.max(tat, sent) - now) + tonumber(ARGV[3]))
return '0'
"""


_LEFT_LATE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local state = redis.call('HMGET', KEYS[1], 'sent', 'tat')
local sent, tat = tonumber(state[1]) or 0, tonumber(state[2]) or 0
local later = now + tonumber(ARGV[1])
if later > sent then
  redis.call('HSET', KEYS[1], 'sent', tostring(later), 'tat', tostring(math.max(tat, later)))
  redis.call('PEXPIRE', KEYS[1], math.floor(math.max(tat, later) - now) + tonumber(ARGV[2]))
end
return 0
"""


class RateLimitUnavailable(Exception):
    """The shared bucket store (Redis or the SQLite file) could not be used."""


class _RedisBuckets:
    def __init__(self, url: str):
        import redis

        self.redis = redis.Redis.from_url(url)
        self._reserve = self.redis.register_script(_RESERVE_LUA)
        self._go = self.redis.register_script(_GO_LUA)
        self._left_late = self.redis.register_script(_LEFT_LATE_LUA)

    def reserve(self, key: str, interval: float, tau: float, background: bool, max_wait_ms: float) -> tuple[bool, float]:
        granted, wait = self._reserve(
            keys=[key], args=[interval, tau, "1" if background else "0", max_wait_ms, STATE_TTL_MS]
        )
        return bool(int(granted)), float(wait) / 1000

    def go(self, key: str, interval: float, tau: float) -> float:
        return float(self._go(keys=[key], args=[interval, tau, STATE_TTL_MS])) / 1000

    def left_late(self, key: str, interval: float) -> None:
        self._left_late(keys=[key], args=[interval, STATE_TTL_MS])


class _SQLiteBuckets:
    """The same state machine in a SQLite file shared by the processes of one machine."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._transaction() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS bucket (key TEXT PRIMARY KEY, tat REAL NOT NULL DEFAULT 0,"
                " fg REAL NOT NULL DEFAULT 0, sent REAL NOT NULL DEFAULT 0)"
            )

    def _connection(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            # No fsync: a commit that waits on the disk would let the request leave late after its
            # stamp; the state is worth nothing after a power cut anyway.
            db.execute("PRAGMA synchronous=OFF")
            self._local.db = db
        return db

    def _transaction(self):
        db = self._connection()

        class _Tx:
            def __enter__(self_inner):
                db.execute("BEGIN IMMEDIATE")  # one writer at a time across processes
                return db

            def __exit__(self_inner, exc_type, *exc):
                db.execute("ROLLBACK" if exc_type else "COMMIT")

        return _Tx()

    def _state(self, db, key: str) -> tuple[float, float, float]:
        row = db.execute("SELECT tat, fg, sent FROM bucket WHERE key = ?", (key,)).fetchone()
        return row if row else (0.0, 0.0, 0.0)

    def reserve(self, key: str, interval: float, tau: float, background: bool, max_wait_ms: float) -> tuple[bool, float]:
        with self._transaction() as db:
            now = time.time() * 1000
            tat, fg, sent = self._state(db, key)
            slot = max(now, tat - tau)
            if background and (slot > now or fg > now):
                return False, (max(slot, fg) - now) / 1000
            if not background and slot - now > max_wait_ms:
                return False, (slot - now) / 1000
            tat = max(tat, slot) + interval
            if not background:
                fg = max(fg, slot)
            db.execute(
                "INSERT INTO bucket (key, tat, fg, sent) VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE"
                " SET tat = excluded.tat, fg = excluded.fg",
                (key, tat, fg, sent),
            )
            return True, (slot - now) / 1000

    def go(self, key: str, interval: float, tau: float) -> float:
        with self._transaction() as db:
            now = time.time() * 1000
            tat, fg, sent = self._state(db, key)
            if now < sent - tau:
                return (sent - tau - now) / 1000
            sent = max(sent, now) + interval
            db.execute(
                "INSERT INTO bucket (key, tat, fg, sent) VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE"
                " SET tat = excluded.tat, sent = excluded.sent",
                (key, max(tat, sent), fg, sent),
            )
            return 0.0

    def left_late(self, key: str, interval: float) -> None:
        with self._transaction() as db:
            later = time.time() * 1000 + interval
            tat, _fg, sent = self._state(db, key)
            if later > sent:
                db.execute("UPDATE bucket SET sent = ?, tat = ? WHERE key = ?", (later, max(tat, later), key))


_store: tuple[tuple, _RedisBuckets | _SQLiteBuckets] | None = None
_store_lock = threading.Lock()


def _buckets() -> _RedisBuckets | _SQLiteBuckets:
    """One store per process; rebuilt after a fork (Celery prefork) or a settings change."""
    global _store
    db_path = str(getattr(settings, "AMAZON_RATE_LIMIT_DB", ""))
    key = (os.getpid(), settings.REDIS_URL, db_path)
    with _store_lock:
        if _store is None or _store[0] != key:
            _store = (key, _RedisBuckets(settings.REDIS_URL) if settings.REDIS_URL else _SQLiteBuckets(Path(db_path)))
        return _store[1]


@dataclass
class Slot:
    """A reserved turn. `go()` is called right before the request's bytes leave."""

    key: str
    interval_ms: float
    tau_ms: float
    deadline: float  # time.monotonic() after which go() stops waiting
    went_at: float | None = field(default=None)  # time.monotonic() of the send-time stamp

    def go(self) -> None:
        """Wait, if an earlier request went out late, until this one keeps the spacing; then stamp it.

        Raises RateLimitUnavailable when it cannot keep the spacing before the deadline."""
        if self.went_at is not None:
            return
        while True:
            asked = time.monotonic()  # the stamp is taken somewhere inside the call: count from its start
            try:
                wait = _buckets().go(self.key, self.interval_ms, self.tau_ms)
            except Exception as exc:  # Redis or SQLite trouble
                raise RateLimitUnavailable(f"rate-limit store unavailable: {type(exc).__name__}") from exc
            if wait <= 0:
                self.went_at = asked
                return
            if time.monotonic() + wait > self.deadline:
                raise RateLimitUnavailable("no send slot before the deadline")
            time.sleep(wait)

    def left(self) -> None:
        """Called once the request's bytes are written. If that took longer than it should (the
        process was not scheduled, a big body), the next request is spaced from now instead."""
        if self.went_at is None or time.monotonic() - self.went_at < LATE_AFTER_SECONDS:
            return
        try:
            _buckets().left_late(self.key, self.interval_ms)
        except Exception:
            logger.warning("Could not note a late request in the rate-limit store", exc_info=True)


def acquire(seller_account: str, operation: str, timeout: float, *, background: bool = False) -> Slot | None:
    """Wait (at most `timeout` seconds) for this caller's turn; None when none came in time.

    Foreground callers reserve the next free slot (first come, first served) and sleep until it;
    a slot further away than `timeout` is not reserved at all. Background callers take a slot
    only when one is free now and no foreground caller is queued, and look again until `timeout`."""
    limit = effective_limit(seller_account, operation)
    interval = limit.spacing_ms()
    tau = (limit.burst - 1) * interval
    key = f"packbench:ratelimit:{_digest(seller_account, operation)}"
    deadline = time.monotonic() + max(0.0, timeout)
    while True:
        remaining = deadline - time.monotonic()
        try:
            granted, wait = _buckets().reserve(key, interval, tau, background, max(0.0, remaining) * 1000)
        except Exception as exc:
            raise RateLimitUnavailable(f"rate-limit store unavailable: {type(exc).__name__}") from exc
        if granted:
            if wait > 0:
                time.sleep(wait)
            # The send-time check may hold this request back by another interval or so.
            return Slot(key, interval, tau, deadline=time.monotonic() + max(remaining, 0) + 2 * interval / 1000)
        if not background or wait > remaining:
            return None
        time.sleep(min(max(wait, 0.005), BACKGROUND_POLL_SECONDS, remaining))
