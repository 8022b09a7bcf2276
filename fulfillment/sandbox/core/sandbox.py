"""The sandbox's shared core: one lock, one clock and seed, settings, LWA, rate limits, faults, call log.

Plain Python, no HTTP: `core.http` turns requests into calls on one `Sandbox` and its answers into
responses, and tests can drive a `Sandbox` directly. A subclass names the APIs it serves
(`apis`); each becomes an attribute under its `name` (sandbox.orders, ...) and shares this
core's lock, clock, random generator and settings.

Settings (`/_sandbox/config`): the core's own below, plus each API's `config_defaults`.
"""

from __future__ import annotations

import copy
import random
import threading
from collections import deque
from datetime import UTC, datetime
from functools import cache
from typing import Any, ClassVar

from . import auth, faults, ratelimit
from .api import Api
from .operations import Operation, Registry

CORE_CONFIG = {
    "rate_limits": {},  # overrides of the usage plans, see core.ratelimit
    "token_ttl_seconds": 3600,
    "live": {"enabled": False, "interval_seconds": 45, "cancel_probability": 0.15},
    "lwa_clients": {auth.DEFAULT_CLIENT_ID: auth.DEFAULT_CLIENT_SECRET},
    "refresh_tokens": [auth.DEFAULT_REFRESH_TOKEN],
    "revoked_refresh_tokens": [],
    "forbid_next_calls": 0,  # the next N API calls answer 403 whatever their access token
    "lwa_html_next": 0,  # the next N LWA token requests answer 200 with an HTML page
    "lwa_latency_ms": 0,  # every LWA token request takes this long
}


@cache
def registry_for(api_classes: tuple[type[Api], ...]) -> Registry:
    return Registry(api_classes)


class Sandbox:
    """All sandbox state; every public method takes the lock."""

    apis: ClassVar[tuple[type[Api], ...]] = ()

    def __init__(
        self,
        *,
        seed_number: int = 40,
        config: dict | None = None,
        clock=None,
        **sizes: int,
    ):
        self.lock = threading.RLock()
        self.clock = clock or (lambda: datetime.now(UTC))
        self.registry = registry_for(self.apis)
        self.instances: dict[type[Api], Api] = {}
        for api_class in self.apis:
            instance = self.instances[api_class] = api_class(self)
            setattr(self, api_class.name, instance)
        self.sizes = self.default_sizes()
        defaults = copy.deepcopy(CORE_CONFIG)
        for api_class in self.apis:
            defaults.update(copy.deepcopy(api_class.config_defaults))
        self.base_config = self.merge_config(defaults, config or {})
        self.tokens_expired_at: int | None = None  # tokens issued up to then (epoch ms) are expired
        self.tokens_revoked_at: int | None = None  # tokens issued up to then (epoch ms) are refused
        self.calls: deque[dict] = deque(maxlen=5000)
        self.reset(seed_number=seed_number, **sizes)

    @classmethod
    def default_sizes(cls) -> dict[str, int]:
        return {a.size_key: a.default_size for a in cls.apis if a.size_key}

    def now(self) -> datetime:
        return self.clock().replace(microsecond=0)

    # --- control ---------------------------------------------------------------------------------

    def reset(self, *, seed_number: int | None = None, **sizes: int | None) -> dict:
        """Fresh seeded state, the start-up settings, no faults; access tokens issued before stay
        valid. `sizes`: how much each API seeds (count=shipments, orders=MFN orders)."""
        unknown = set(sizes) - set(self.sizes)
        if unknown:
            raise ValueError(f"unknown reset size(s): {', '.join(sorted(unknown))}")
        with self.lock:
            if seed_number is not None or not hasattr(self, "seed_number"):
                self.seed_number = int(seed_number if seed_number is not None else 40)
            self.sizes.update({k: int(v) for k, v in sizes.items() if v is not None})
            self.config = copy.deepcopy(self.base_config)
            self.tokens_expired_at = None
            self.tokens_revoked_at = None
            self.rng = random.Random(self.seed_number)
            self.buckets = ratelimit.Buckets()
            self.faults: list[faults.Fault] = []
            self.fault_ids = 0
            self.calls.clear()
            answer: dict[str, Any] = {"seed": self.seed_number}
            for api_class, instance in self.instances.items():
                seeded = instance.reset()
                if api_class.size_key:
                    answer[api_class.size_key] = seeded
            return answer

    def merge_config(self, current: dict, changes: dict) -> dict:
        """Validate and apply a /_sandbox/config body; ValueError names the bad key."""
        merged = copy.deepcopy(current)
        owners = {key: a for a in self.instances.values() for key in a.config_defaults}
        for key, value in changes.items():
            if key == "rate_limits":
                merged[key] = ratelimit.merge_overrides(self.registry, merged[key], value)
            elif key in {"token_ttl_seconds", "forbid_next_calls", "lwa_html_next", "lwa_latency_ms"}:
                if int(value) < 0:
                    raise ValueError(f"{key} must not be negative")
                merged[key] = int(value)
            elif key == "live":
                merged["live"].update({k: v for k, v in value.items() if k in merged["live"]})
            elif key == "lwa_clients":
                merged["lwa_clients"].update({str(k): str(v) for k, v in value.items()})
            elif key in {"refresh_tokens", "revoked_refresh_tokens"}:
                merged[key] = sorted(set(merged[key]) | {str(v) for v in value})
            elif key in owners:
                merged[key] = owners[key].check_config(key, value)
            else:
                raise ValueError(f"unknown setting {key!r}")
        return merged

    def configure(self, changes: dict) -> dict:
        with self.lock:
            changes = dict(changes)
            expire = changes.pop("expire_tokens", False)
            if changes.pop("revoke_tokens", False):
                self.tokens_revoked_at = int(self.clock().timestamp() * 1000)
            self.config = self.merge_config(self.config, changes)
            if "rate_limits" in changes:
                self.buckets.clear()
            if expire:
                self.tokens_expired_at = int(self.clock().timestamp() * 1000)
            return self.public_config()

    def public_config(self) -> dict:
        with self.lock:
            return copy.deepcopy(self.config)

    def operations(self) -> list[dict]:
        """Every operation served, with its usage plan and the limit it is held to now."""
        with self.lock:
            return [
                operation.describe()
                | {"limit": ratelimit.limit_for(operation, self.config["rate_limits"])}
                for operation in self.registry.operations.values()
            ]

    # --- faults and the call log -------------------------------------------------------------------

    def add_fault(self, spec: dict) -> dict:
        with self.lock:
            fault = faults.build_fault(self.fault_ids + 1, spec, self.registry, self.now())
            self.fault_ids += 1
            self.faults.append(fault)
            return fault.as_dict()

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def list_faults(self) -> list[dict]:
        with self.lock:
            return [f.as_dict() for f in self.faults]

    def plan_faults(self, operation: str) -> faults.FaultPlan:
        """What the active faults do to this request (rolls the dice once)."""
        with self.lock:
            name = self.registry.resolve(operation).name
            return faults.plan_faults(self.faults, name, self.now(), self.rng)

    def record_call(self, entry: dict) -> None:
        with self.lock:
            self.calls.append(entry)

    def call_log(
        self,
        operation: str | None = None,
        shipment_id: str | None = None,
        order_id: str | None = None,
    ) -> list[dict]:
        name = operation
        if operation is not None and operation in self.registry.aliases:
            name = self.registry.aliases[operation]
        with self.lock:
            return [
                c
                for c in self.calls
                if (name is None or c.get("operation") == name)
                and (shipment_id is None or c.get("shipment_id") == shipment_id)
                and (order_id is None or c.get("order_id") == order_id)
            ]

    def clear_calls(self) -> None:
        with self.lock:
            self.calls.clear()

    # --- LWA and rate limits ------------------------------------------------------------------------

    def grant_token(self, form: dict[str, str]) -> tuple[int, dict | str]:
        """LWA refresh-token grant: (status, JSON body) like api.amazon.com/auth/o2/token; a str body
        is an HTML page (the `lwa_html_next` fault)."""
        with self.lock:
            if self.config["lwa_html_next"] > 0:
                self.config["lwa_html_next"] -= 1
                return 200, "<html><body><h1>Service temporarily unavailable</h1></body></html>"
            return auth.grant_token(form, self.config, self.clock().timestamp())

    def authorize(self, token: str | None) -> str:
        """403 unless the x-amz-access-token is one this sandbox issued and it has not expired.
        Returns the seller the token acts for (its rate-limit buckets)."""
        with self.lock:
            if self.config["forbid_next_calls"] > 0:
                self.config["forbid_next_calls"] -= 1
                raise auth.ApiError(403, "Unauthorized", "Access to requested resource is denied.", "")
            return auth.authorize(token, self.clock().timestamp(), self.tokens_expired_at, self.tokens_revoked_at)

    def operation(self, name: str) -> Operation:
        return self.registry.resolve(name)

    def rate_limit(self, operation: str) -> float:
        """The operation's rate (for x-amzn-RateLimit-Limit)."""
        with self.lock:
            limit = ratelimit.limit_for(self.operation(operation), self.config["rate_limits"])
            return float(limit["rate"])

    def take_token(self, operation: str, at: float | None = None, seller: str = "") -> bool:
        """Spend a token of the seller's bucket for the operation at `at` (when the request arrived;
        default now). Amazon limits each selling partner on its own."""
        with self.lock:
            return self.buckets.take(
                self.operation(operation), self.config["rate_limits"],
                at if at is not None else self.clock().timestamp(), seller=seller,
            )

    # --- live mode --------------------------------------------------------------------------------

    def live_tick(self) -> dict:
        """Live mode: each API moves on as the marketplace would (new orders, cancellations)."""
        with self.lock:
            answer: dict[str, Any] = {}
            for instance in self.instances.values():
                answer.update(instance.live_tick())
            return answer
