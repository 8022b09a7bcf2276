"""Injected faults: latency, 5xx errors (before or after the work is done), timeouts, throttle storms.

A fault covers the operations it names (any name the registry resolves) or every operation.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from .operations import Registry
from .timefmt import iso

FIELDS = {
    "operations",
    "latency_ms",
    "error_rate",
    "error_status",
    "timeout_rate",
    "timeout_seconds",
    "throttle_seconds",
    "count",
    "apply",
}


@dataclass
class Fault:
    id: int
    operations: set[str] | None = None
    latency_ms: int = 0
    error_rate: float = 0.0
    error_status: int = 503
    timeout_rate: float = 0.0
    timeout_seconds: float = 30.0
    throttle_until: datetime | None = None
    count: int | None = None  # how many more requests it may hit (errors/timeouts); None = no limit
    apply: bool | None = None  # do the work before failing (None: yes for timeouts, no for 5xx)

    def covers(self, operation: str) -> bool:
        return self.operations is None or operation in self.operations

    def as_dict(self) -> dict:
        data = {k: v for k, v in self.__dict__.items() if k not in {"operations", "throttle_until"}}
        data["operations"] = sorted(self.operations) if self.operations else None
        data["throttle_until"] = iso(self.throttle_until) if self.throttle_until else None
        return data


@dataclass
class FaultPlan:
    latency_seconds: float = 0.0
    throttled: bool = False
    error_status: int | None = None
    timeout_seconds: float | None = None
    apply: bool = False


def build_fault(fault_id: int, spec: dict, registry: Registry, now: datetime) -> Fault:
    """A Fault from a /_sandbox/faults body; ValueError names what is wrong."""
    unknown = set(spec) - FIELDS
    if unknown:
        raise ValueError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
    operations = spec.get("operations")
    if isinstance(operations, str):
        operations = [operations]
    names = {registry.resolve(operation).name for operation in operations or []}
    if int(spec.get("error_status", 503)) not in {500, 502, 503, 504}:
        raise ValueError("error_status must be 500, 502, 503 or 504")
    throttle = float(spec.get("throttle_seconds", 0))
    return Fault(
        id=fault_id,
        operations=names or None,
        latency_ms=int(spec.get("latency_ms", 0)),
        error_rate=float(spec.get("error_rate", 0)),
        error_status=int(spec.get("error_status", 503)),
        timeout_rate=float(spec.get("timeout_rate", 0)),
        timeout_seconds=float(spec.get("timeout_seconds", 30)),
        throttle_until=now + timedelta(seconds=throttle) if throttle else None,
        count=int(spec["count"]) if spec.get("count") is not None else None,
        apply=spec.get("apply"),
    )


def plan_faults(
    faults: list[Fault], operation: str, now: datetime, rng: random.Random
) -> FaultPlan:
    """What the active faults do to one request (rolls the dice once per fault)."""
    plan = FaultPlan()
    for fault in faults:
        if not fault.covers(operation):
            continue
        plan.latency_seconds += fault.latency_ms / 1000
        if fault.throttle_until and now < fault.throttle_until:
            plan.throttled = True
        if fault.count is not None and fault.count <= 0:
            continue
        hit = False
        if (
            plan.timeout_seconds is None
            and fault.timeout_rate
            and rng.random() < fault.timeout_rate
        ):
            plan.timeout_seconds, plan.apply, hit = (
                fault.timeout_seconds,
                fault.apply is not False,
                True,
            )
        elif plan.error_status is None and fault.error_rate and rng.random() < fault.error_rate:
            plan.error_status, plan.apply, hit = fault.error_status, bool(fault.apply), True
        if hit and fault.count is not None:
            fault.count -= 1
    return plan
