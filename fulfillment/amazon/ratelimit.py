"""One token bucket per seller account and operation, shared by every process.

Amazon allows each operation 1 request/s with a burst of 1 unless it says otherwise, and
answers 429 beyond that. Callers wait here for a token instead. The buckets are pyrate-limiter's:
a Redis token bucket (GCRA, one small hash per key, atomic in Lua) when REDIS_URL is set, or a
file-locked SQLite sliding-window log (same rate and burst) at AMAZON_RATE_LIMIT_DB on an
embedded station. Limits come from AMAZON_RATE_LIMITS ("operation": "rate/burst") and are
replaced by the rate Amazon reports in `x-amzn-RateLimit-Limit`; that learned rate is kept in the
shared cache so every process follows it.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from pyrate_limiter import (
    AbstractBucket,
    BucketFactory,
    Limiter,
    Rate,
    RateItem,
    RedisStateStore,
    SQLiteBucket,
    StateBucket,
    TokenBucket,
)

logger = logging.getLogger(__name__)

DEFAULT_LIMIT = "1/1"
DEFAULT_HEADROOM = 0.03  # fraction of the spacing between requests added as a safety margin
LEARNED_RATE_TTL_SECONDS = 24 * 3600


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
        if rate <= 0 or burst < 1:
            raise ImproperlyConfigured(f"{source}: {text!r} needs a rate above 0 and a burst of at least 1")
        return cls(rate, burst)

    def _spacing_ms(self) -> float:
        # A little slower than Amazon's rate: requests reach Amazon with some jitter, and one
        # arriving a few ms "early" for Amazon's bucket would earn a 429.
        headroom = float(getattr(settings, "AMAZON_RATE_LIMIT_HEADROOM", DEFAULT_HEADROOM))
        return 1000 / self.rate * (1 + max(0.0, headroom))

    def token_bucket(self) -> Rate:
        # GCRA admits one unit every interval/limit ms; burst units may go at once.
        return Rate(1, max(1, math.ceil(self._spacing_ms())), burst=self.burst)

    def sliding_window(self) -> Rate:
        # The window log admits at most `burst` per `burst / rate` seconds: the same sustained
        # rate and the same largest burst as the token bucket.
        return Rate(self.burst, max(1, math.ceil(self.burst * self._spacing_ms())))


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def _learned_key(seller_account: str, operation: str) -> str:
    return f"amazon:ratelimit:{_digest(seller_account, operation)}"


def configured_limit(operation: str) -> OperationLimit:
    limits = getattr(settings, "AMAZON_RATE_LIMITS", {}) or {}
    return OperationLimit.parse(limits.get(operation, limits.get("*", DEFAULT_LIMIT)))


def effective_limit(seller_account: str, operation: str) -> OperationLimit:
    """The configured limit, with Amazon's reported rate in place of the configured one."""
    limit = configured_limit(operation)
    try:
        learned = cache.get(_learned_key(seller_account, operation))
    except Exception:  # noqa: BLE001 - a broken cache must not stop calls
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
    except Exception:  # noqa: BLE001
        logger.warning("Cache unavailable; Amazon's rate-limit header not shared", exc_info=True)


class _NowOnPut:
    """Stamp each attempt with the real time. pyrate-limiter's blocking loop advances the item's
    timestamp by the sleep it planned, but a sleeping thread wakes late; with several processes
    sharing one bucket that drift would let entries expire early and calls bunch up."""

    def put(self, item: RateItem):
        item.timestamp = time.time_ns() // 1_000_000
        return super().put(item)


class SharedTokenBucket(_NowOnPut, StateBucket):
    """Redis GCRA token bucket."""


class SharedSQLiteBucket(_NowOnPut, SQLiteBucket):
    """File-locked SQLite sliding-window log."""


class _AccountOperationBuckets(BucketFactory):
    """Routes `account|operation` names to a shared bucket whose rate follows the current limit."""

    def __init__(self):
        self._buckets: dict[str, AbstractBucket] = {}
        self._lock = threading.Lock()
        self._redis = None
        if settings.REDIS_URL:
            import redis

            self._redis = redis.Redis.from_url(settings.REDIS_URL)

    def wrap_item(self, name: str, weight: int = 1) -> RateItem:
        # Wall-clock milliseconds: every process on the machine (and Redis' state) shares it.
        return RateItem(name, time.time_ns() // 1_000_000, weight=weight)

    def get(self, item: RateItem) -> AbstractBucket:
        seller_account, _, operation = item.name.rpartition("|")
        limit = effective_limit(seller_account, operation)
        with self._lock:
            bucket = self._buckets.get(item.name)
            if bucket is None:
                bucket = self._create(item.name, limit)
                self._buckets[item.name] = bucket
            else:
                wanted = self._rate(limit)
                current = bucket.rates[0]
                if (current.limit, current.interval, current.burst) != (wanted.limit, wanted.interval, wanted.burst):
                    bucket.rates = [wanted]
        return bucket

    def _rate(self, limit: OperationLimit) -> Rate:
        return limit.token_bucket() if self._redis is not None else limit.sliding_window()

    def _create(self, name: str, limit: OperationLimit) -> AbstractBucket:
        digest = _digest(name)
        if self._redis is not None:
            store = RedisStateStore(self._redis, key=f"packbench:ratelimit:{digest}")
            return SharedTokenBucket([self._rate(limit)], algorithm=TokenBucket(), store=store)
        db_path = Path(getattr(settings, "AMAZON_RATE_LIMIT_DB"))
        db_path.parent.mkdir(parents=True, exist_ok=True)
        bucket = SharedSQLiteBucket.init_from_file(
            [self._rate(limit)], table=f"rl_{digest}", db_path=str(db_path), use_file_lock=True
        )
        self.schedule_leak(bucket)  # trims the log of entries older than the window
        return bucket

    def owned_buckets(self) -> list[AbstractBucket]:
        return list(self._buckets.values())


_limiter: Limiter | None = None
_limiter_key: tuple | None = None
_limiter_lock = threading.Lock()


def _shared_limiter() -> Limiter:
    """One limiter per process; rebuilt after a fork (Celery prefork) or a settings change."""
    global _limiter, _limiter_key
    key = (os.getpid(), settings.REDIS_URL, str(getattr(settings, "AMAZON_RATE_LIMIT_DB", "")))
    with _limiter_lock:
        if _limiter is None or _limiter_key != key:
            _limiter = Limiter(_AccountOperationBuckets(), buffer_ms=5)
            _limiter_key = key
        return _limiter


def acquire(seller_account: str, operation: str, timeout: float) -> bool:
    """Wait (at most `timeout` seconds) for a token; False when none came in time."""
    name = f"{seller_account}|{operation}"
    return bool(_shared_limiter().try_acquire(name, blocking=True, timeout=timeout))


def forget_learned_limit(seller_account: str, operation: str) -> None:
    cache.delete(_learned_key(seller_account, operation))
