"""Amazon's models as JSON Schema, to check what we send (and, in tests, what comes back).

The Swagger 2.0 definitions are JSON Schema draft 4, so jsonschema validates against them
directly; `$ref`s resolve inside the contract file. One `Contract` per model file; the
module-level functions are SmartConnect's (External Fulfillment), the first model the client had.

Operations are named as the client (and its rate-limit buckets and call log) names them: the
operationId, or `<model>.<operationId>` when an earlier model already has that operationId
(Merchant Fulfillment's getShipment is `merchantFulfillmentV0.getShipment`).
"""

from __future__ import annotations

import json
import re
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator

CONTRACT_DIR = Path(__file__).parent / "contract"
MODEL_NAMES = ("externalFulfillmentShipments_2024-09-11", "ordersV0", "orders_2026-01-01", "merchantFulfillmentV0")
CONTRACT = CONTRACT_DIR / f"{MODEL_NAMES[0]}.json"
_PARAMETER_KEYS = ("type", "enum", "maxLength", "minLength", "minimum", "maximum", "pattern")
_PLAN = re.compile(
    r"\|\s*Rate \(requests per second\)\s*\|\s*Burst\s*\|\s*\n\|[-\s|]+\|\s*\n\|\s*([\d.]+)\s*\|\s*(\d+)\s*\|"
)


class Contract:
    """One model file (Swagger 2.0) read for checking requests and answers."""

    def __init__(self, name: str):
        self.name = name
        self.path = CONTRACT_DIR / f"{name}.json"

    def __repr__(self) -> str:
        return f"Contract({self.name!r})"

    @cached_property
    def document(self) -> dict[str, Any]:
        return json.loads(self.path.read_text())

    @cached_property
    def _operations(self) -> dict[str, dict[str, Any]]:
        found = {}
        for path, item in self.document["paths"].items():
            shared = item.get("parameters", [])
            for method, operation in item.items():
                if method == "parameters":
                    continue
                found[operation["operationId"]] = {
                    "method": method.upper(),
                    "path": path,
                    "parameters": shared + operation.get("parameters", []),
                    "responses": operation["responses"],
                    "description": operation.get("description", ""),
                }
        return found

    def operations(self) -> dict[str, dict[str, Any]]:
        """operationId -> {"method", "path", "parameters", "responses", "description"}."""
        return self._operations

    def usage_plan(self, operation_id: str) -> tuple[float, int] | None:
        """(requests per second, burst) from the operation's "Usage Plan" table, if it has one."""
        match = _PLAN.search(self.operations()[operation_id]["description"])
        return (float(match[1]), int(match[2])) if match else None

    def _validator(self, schema: dict[str, Any]) -> Draft4Validator:
        return Draft4Validator({**schema, "definitions": self.document.get("definitions", {})})

    def body_validator(self, operation_id: str) -> Draft4Validator | None:
        for parameter in self.operations()[operation_id]["parameters"]:
            if parameter["in"] == "body":
                return self._validator(parameter["schema"])
        return None

    def response_validator(self, operation_id: str, status: int) -> Draft4Validator | None:
        response = self.operations()[operation_id]["responses"].get(str(status))
        if not response or "schema" not in response:
            return None
        return self._validator(response["schema"])

    def parameter_problems(self, operation_id: str, location: str, values: dict[str, Any]) -> list[str]:
        """What is wrong with the query (or path) parameters, as read from the wire (strings;
        arrays comma-separated, as Amazon takes them)."""
        problems = []
        declared = {p["name"]: p for p in self.operations()[operation_id]["parameters"] if p["in"] == location}
        for name, parameter in declared.items():
            if parameter.get("required") and values.get(name) in (None, ""):
                problems.append(f"{location} parameter {name} is required")
        for name, value in values.items():
            parameter = declared.get(name)
            if parameter is None:
                problems.append(f"{location} parameter {name} is not in the model")
                continue
            if parameter.get("type") == "array":
                items = [part for part in str(value).split(",") if part]
                if "maxItems" in parameter and len(items) > parameter["maxItems"]:
                    problems.append(f"{location} parameter {name}: more than {parameter['maxItems']} values")
                schema = {key: parameter.get("items", {})[key] for key in _PARAMETER_KEYS
                          if key in parameter.get("items", {}) and key != "type"}
                for item in items:
                    problems.extend(f"{location} parameter {name}: {error.message}"
                                    for error in self._validator(schema).iter_errors(item))
                continue
            if parameter.get("type") == "integer":
                try:
                    value = int(value)
                except (TypeError, ValueError):
                    problems.append(f"{location} parameter {name}={value!r} is not an integer")
                    continue
            if parameter.get("type") == "boolean":
                if str(value).lower() not in {"true", "false"}:
                    problems.append(f"{location} parameter {name}={value!r} is not true or false")
                continue
            schema = {key: parameter[key] for key in _PARAMETER_KEYS if key in parameter}
            problems.extend(f"{location} parameter {name}: {error.message}"
                            for error in self._validator(schema).iter_errors(value))
        return problems

    def body_problems(self, operation_id: str, body: Any) -> list[str]:
        validator = self.body_validator(operation_id)
        if validator is None:
            return [] if body is None else [f"{operation_id} takes no body"]
        return [f"{'/'.join(map(str, error.absolute_path)) or 'body'}: {error.message}"
                for error in validator.iter_errors(body)]

    def response_problems(self, operation_id: str, status: int, body: Any) -> list[str]:
        validator = self.response_validator(operation_id, status)
        if validator is None:
            return []
        return [f"{'/'.join(map(str, error.absolute_path)) or 'body'}: {error.message}"
                for error in validator.iter_errors(body)]


@cache
def model(name: str) -> Contract:
    return Contract(name)


@cache
def named_operations() -> dict[str, tuple[Contract, str]]:
    """The client's operation name -> (model, operationId), across every model, in model order."""
    found: dict[str, tuple[Contract, str]] = {}
    for name in MODEL_NAMES:
        reader = model(name)
        for operation_id in reader.operations():
            key = operation_id if operation_id not in found else f"{name}.{operation_id}"
            found[key] = (reader, operation_id)
    return found


def resolve(operation: str) -> tuple[Contract, str]:
    return named_operations()[operation]


def usage_plan(operation: str) -> tuple[float, int] | None:
    """Amazon's usage plan for the client's operation name, where its model states one."""
    try:
        reader, operation_id = resolve(operation)
    except KeyError:
        return None
    return reader.usage_plan(operation_id)


# --- SmartConnect (External Fulfillment), as the first client used them --------------------------

_EF = model(MODEL_NAMES[0])


def contract() -> dict[str, Any]:
    return _EF.document


operations = _EF.operations
body_validator = _EF.body_validator
response_validator = _EF.response_validator
parameter_problems = _EF.parameter_problems
body_problems = _EF.body_problems
response_problems = _EF.response_problems
