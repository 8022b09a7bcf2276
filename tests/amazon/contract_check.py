"""Checks every SP-API request the client sends and every answer it gets against Amazon's model.

Plugged into the client's httpx.Client as event hooks (test-only). Token and label requests are
not SP-API operations and are left alone.
"""

import json
import re
from decimal import Decimal

import httpx

from fulfillment.amazon import contract_schema


def _route(method: str, path: str):
    for operation_id, spec in contract_schema.operations().items():
        if spec["method"] != method:
            continue
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(spec["path"])) + "$"
        if re.match(pattern, path):
            return operation_id
    return None


class ContractCheck:
    def __init__(self):
        self.problems: list[str] = []
        self.checked: list[tuple[str, int]] = []  # (operationId, status) of every checked exchange

    def hooks(self) -> dict:
        return {"request": [self.on_request], "response": [self.on_response]}

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(event_hooks=self.hooks(), **kwargs)

    def on_request(self, request: httpx.Request) -> None:
        operation_id = _route(request.method, request.url.path)
        if operation_id is None:
            return
        query = dict(request.url.params)
        self.problems += [f"{operation_id} request: {p}" for p in contract_schema.parameter_problems(operation_id, "query", query)]
        body = json.loads(request.content, parse_float=Decimal) if request.content else None
        if body is not None:
            self.problems += [f"{operation_id} request: {p}" for p in contract_schema.body_problems(operation_id, body)]
        if "x-amz-access-token" not in request.headers:
            self.problems.append(f"{operation_id} request: no x-amz-access-token")

    def on_response(self, response: httpx.Response) -> None:
        operation_id = _route(response.request.method, response.request.url.path)
        if operation_id is None:
            return
        response.read()
        status = response.status_code
        spec = contract_schema.operations()[operation_id]
        if str(status) not in spec["responses"]:
            self.problems.append(f"{operation_id} answered {status}, which the model does not list")
        body = json.loads(response.content, parse_float=Decimal) if response.content.strip() else None
        if body is not None:
            self.problems += [f"{operation_id} {status} response: {p}" for p in contract_schema.response_problems(operation_id, status, body)]
        elif contract_schema.response_validator(operation_id, status) is not None and status != 200:
            self.problems.append(f"{operation_id} {status} response has no body")
        self.checked.append((operation_id, status))
