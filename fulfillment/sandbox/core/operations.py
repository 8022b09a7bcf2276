"""Every operation the sandbox serves, under one name each, with the usage plan it is held to.

An operation's name is its operationId, unless an API registered before it already uses that
operationId: then it is `<model>.<operationId>` (Merchant Fulfillment's getShipment is
`merchantFulfillmentV0.getShipment`, Orders 2026-01-01's getOrder is
`orders_2026-01-01.getOrder`). The qualified form is accepted for every operation. Names key the
rate-limit buckets, the faults and the call log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .model import Model


@dataclass(frozen=True)
class Operation:
    name: str
    qualified: str
    operation_id: str
    model: Model
    api: type  # the Api class that serves it
    handler: Callable  # handler(api instance, Call) -> (status, JSON body or None)
    method: str
    path: str
    plan: tuple[float, int]  # Amazon's usage plan: (requests per second, burst)

    def describe(self) -> dict:
        return {
            "name": self.name,
            "operationId": self.operation_id,
            "model": self.model.name,
            "api": self.api.name,
            "method": self.method,
            "path": self.path,
            "usage_plan": {"rate": self.plan[0], "burst": self.plan[1]},
        }


class Registry:
    """The operations of the given Api classes, in their order (earlier ones keep bare names)."""

    def __init__(self, api_classes):
        self.operations: dict[str, Operation] = {}
        self.aliases: dict[str, str] = {}
        for api in api_classes:
            for (model, operation_id), handler in api.handlers.items():
                spec = model.operations()[operation_id]
                qualified = f"{model.name}.{operation_id}"
                name = operation_id if operation_id not in self.operations else qualified
                operation = Operation(
                    name=name,
                    qualified=qualified,
                    operation_id=operation_id,
                    model=model,
                    api=api,
                    handler=handler,
                    method=spec["method"],
                    path=spec["path"],
                    plan=model.usage_plan(operation_id) or api.default_plan,
                )
                self.operations[name] = operation
                self.aliases[qualified] = name

    def resolve(self, name: str) -> Operation:
        """The operation a name (bare or qualified) means; ValueError names an unknown one."""
        canonical = name if name in self.operations else self.aliases.get(name)
        if canonical is None:
            raise ValueError(f"unknown operation {name!r}")
        return self.operations[canonical]

    def routes(self) -> dict[str, dict[str, Operation]]:
        """model path -> HTTP method -> operation."""
        found: dict[str, dict[str, Operation]] = {}
        for operation in self.operations.values():
            found.setdefault(operation.path, {})[operation.method] = operation
        return found
