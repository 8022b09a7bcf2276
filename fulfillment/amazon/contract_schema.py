"""Amazon's model as JSON Schema, to check what we send (and, in tests, what comes back).

The Swagger 2.0 definitions are JSON Schema draft 4, so jsonschema validates against them
directly; `$ref`s resolve inside the contract file.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator

CONTRACT = Path(__file__).parent / "contract" / "externalFulfillmentShipments_2024-09-11.json"
_PARAMETER_KEYS = ("type", "enum", "maxLength", "minLength", "minimum", "maximum", "pattern")


@cache
def contract() -> dict[str, Any]:
    return json.loads(CONTRACT.read_text())


@cache
def operations() -> dict[str, dict[str, Any]]:
    """operationId -> {"method", "path", "parameters", "responses"}."""
    found = {}
    for path, item in contract()["paths"].items():
        shared = item.get("parameters", [])
        for method, operation in item.items():
            if method == "parameters":
                continue
            found[operation["operationId"]] = {
                "method": method.upper(),
                "path": path,
                "parameters": shared + operation.get("parameters", []),
                "responses": operation["responses"],
            }
    return found


def _validator(schema: dict[str, Any]) -> Draft4Validator:
    return Draft4Validator({**schema, "definitions": contract()["definitions"]})


@cache
def body_validator(operation_id: str) -> Draft4Validator | None:
    for parameter in operations()[operation_id]["parameters"]:
        if parameter["in"] == "body":
            return _validator(parameter["schema"])
    return None


@cache
def response_validator(operation_id: str, status: int) -> Draft4Validator | None:
    response = operations()[operation_id]["responses"].get(str(status))
    if not response or "schema" not in response:
        return None
    return _validator(response["schema"])


def parameter_problems(operation_id: str, location: str, values: dict[str, Any]) -> list[str]:
    """What is wrong with the query (or path) parameters, as read from the wire (strings)."""
    problems = []
    declared = {p["name"]: p for p in operations()[operation_id]["parameters"] if p["in"] == location}
    for name, parameter in declared.items():
        if parameter.get("required") and values.get(name) in (None, ""):
            problems.append(f"{location} parameter {name} is required")
    for name, value in values.items():
        parameter = declared.get(name)
        if parameter is None:
            problems.append(f"{location} parameter {name} is not in the model")
            continue
        if parameter.get("type") == "integer":
            try:
                value = int(value)
            except (TypeError, ValueError):
                problems.append(f"{location} parameter {name}={value!r} is not an integer")
                continue
        schema = {key: parameter[key] for key in _PARAMETER_KEYS if key in parameter}
        problems.extend(f"{location} parameter {name}: {error.message}" for error in _validator(schema).iter_errors(value))
    return problems


def body_problems(operation_id: str, body: Any) -> list[str]:
    validator = body_validator(operation_id)
    if validator is None:
        return [] if body is None else [f"{operation_id} takes no body"]
    return [f"{'/'.join(map(str, error.absolute_path)) or 'body'}: {error.message}" for error in validator.iter_errors(body)]


def response_problems(operation_id: str, status: int, body: Any) -> list[str]:
    validator = response_validator(operation_id, status)
    if validator is None:
        return []
    return [f"{'/'.join(map(str, error.absolute_path)) or 'body'}: {error.message}" for error in validator.iter_errors(body)]
