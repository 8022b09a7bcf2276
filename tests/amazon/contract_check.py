"""Checks every SP-API request the client sends and every answer it gets against Amazon's model.

Plugged into the client's httpx.Client as event hooks (test-only). Token and label requests are
not SP-API operations and are left alone. SmartConnect is checked with the client's own reader
of its model (contract_schema); the Orders (v0, 2026-01-01) and Merchant Fulfillment models with
the same rules, read by fulfillment.sandbox.core.model until the client has readers of its own.
An operationId that an earlier model already has is named `<model>.<operationId>` (as the
sandbox names it): Merchant Fulfillment's getShipment is `merchantFulfillmentV0.getShipment`.
"""

import json
import re
from decimal import Decimal

import httpx

from fulfillment.amazon import contract_schema
from fulfillment.sandbox.core.model import Model

MODELS = (
    contract_schema,
    Model("ordersV0"),
    Model("orders_2026-01-01"),
    Model("merchantFulfillmentV0"),
)


def _routes():
    """(name, reader, operationId, method, path regex with named groups), in model order."""
    routes, seen = [], set()
    for reader in MODELS:
        for operation_id, spec in reader.operations().items():
            name = operation_id if operation_id not in seen else f"{reader.name}.{operation_id}"
            seen.add(operation_id)
            pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(spec["path"]))
            routes.append((name, reader, operation_id, spec["method"], re.compile(f"^{pattern}$")))
    return routes


ROUTES = _routes()


def _route(method: str, path: str):
    for name, reader, operation_id, route_method, pattern in ROUTES:
        match = pattern.match(path) if route_method == method else None
        if match:
            return name, reader, operation_id, match.groupdict()
    return None


class ContractCheck:
    def __init__(self):
        self.problems: list[str] = []
        self.checked: list[tuple[str, int]] = []  # (operation name, status) of every exchange

    def hooks(self) -> dict:
        return {"request": [self.on_request], "response": [self.on_response]}

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(event_hooks=self.hooks(), **kwargs)

    def on_request(self, request: httpx.Request) -> None:
        route = _route(request.method, request.url.path)
        if route is None:
            return
        name, reader, operation_id, path_values = route
        if reader is contract_schema:
            query = dict(request.url.params)
        else:
            query = {key: request.url.params.get_list(key) for key in request.url.params}
            self.problems += [
                f"{name} request: query parameter {key} is repeated; Amazon takes arrays "
                "comma-separated"
                for key, values in query.items()
                if len(values) > 1
            ]
            self.problems += [
                f"{name} request: {p}"
                for p in reader.parameter_problems(operation_id, "path", path_values)
            ]
        self.problems += [
            f"{name} request: {p}" for p in reader.parameter_problems(operation_id, "query", query)
        ]
        body = json.loads(request.content, parse_float=Decimal) if request.content else None
        if body is not None:
            self.problems += [
                f"{name} request: {p}" for p in reader.body_problems(operation_id, body)
            ]
        if "x-amz-access-token" not in request.headers:
            self.problems.append(f"{name} request: no x-amz-access-token")

    def on_response(self, response: httpx.Response) -> None:
        route = _route(response.request.method, response.request.url.path)
        if route is None:
            return
        name, reader, operation_id, _ = route
        response.read()
        status = response.status_code
        spec = reader.operations()[operation_id]
        if str(status) not in spec["responses"]:
            self.problems.append(f"{name} answered {status}, which the model does not list")
        content = response.content.strip()
        body = json.loads(response.content, parse_float=Decimal) if content else None
        if body is not None:
            self.problems += [
                f"{name} {status} response: {p}"
                for p in reader.response_problems(operation_id, status, body)
            ]
        elif reader.response_validator(operation_id, status) is not None and status != 200:
            self.problems.append(f"{name} {status} response has no body")
        self.checked.append((name, status))
