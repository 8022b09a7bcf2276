"""Server-side throttling: one token bucket per operation, at the operation's usage plan.

Config `rate_limits` overrides the plans: {"default": {"rate", "burst"}} for every operation,
{"<operation>": {...}} for one (which wins over default); null removes an override.
"""

from __future__ import annotations

from .operations import Operation, Registry


class TokenBucket:
    """`rate` tokens per second, at most `burst` saved up."""

    def __init__(self, rate: float, burst: int):
        self.rate, self.burst = float(rate), max(1, int(burst))
        self.tokens, self.stamp = float(self.burst), None

    def take(self, now: float) -> bool:
        if self.stamp is not None:
            now = max(now, self.stamp)  # requests handled out of their arrival order
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def limit_for(operation: Operation, overrides: dict) -> dict:
    """{"rate", "burst"} the operation is held to under these overrides."""
    chosen = overrides.get(operation.name) or overrides.get("default")
    if chosen:
        return chosen
    return {"rate": operation.plan[0], "burst": operation.plan[1]}


def merge_overrides(registry: Registry, current: dict, changes: dict) -> dict:
    """Validate a `rate_limits` change; ValueError names what is wrong."""
    merged = dict(current)
    for name, limit in changes.items():
        key = name if name == "default" else registry.resolve(name).name
        if limit is None:
            merged.pop(key, None)
            continue
        rate, burst = float(limit["rate"]), int(limit["burst"])
        if rate <= 0 or burst < 1:
            raise ValueError("rate_limits: rate must be > 0 and burst >= 1")
        merged[key] = {"rate": rate, "burst": burst}
    return merged


class Buckets:
    def __init__(self):
        self.buckets: dict[tuple[str, str], TokenBucket] = {}

    def clear(self) -> None:
        self.buckets.clear()

    def take(self, operation: Operation, overrides: dict, now: float, seller: str = "") -> bool:
        """One bucket per selling partner and operation, as Amazon counts."""
        bucket = self.buckets.get((seller, operation.name))
        if bucket is None:
            limit = limit_for(operation, overrides)
            bucket = self.buckets[(seller, operation.name)] = TokenBucket(limit["rate"], limit["burst"])
        return bucket.take(now)  # full precision: buckets refill continuously
