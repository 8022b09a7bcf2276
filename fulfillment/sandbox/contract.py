"""Amazon's model, read by the sandbox: operations, parameter rules, body/response schemas, static cases.

The model file and its operation index come from the client's `contract_schema` (reading JSON is
not where the two sides could misread the model); the rules the sandbox enforces are its own.
Swagger 2.0 definitions are JSON Schema draft 4: `$ref`s resolve against the model document.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from jsonschema import Draft4Validator

from fulfillment.amazon.contract_schema import contract as model
from fulfillment.amazon.contract_schema import operations

API_PREFIX = "/externalFulfillment/2024-09-11"


@cache
def validator_for(schema_json: str) -> Draft4Validator:
    schema = json.loads(schema_json)
    return Draft4Validator({**schema, "definitions": model()["definitions"]})


def definition_validator(name: str) -> Draft4Validator:
    return validator_for(json.dumps({"$ref": f"#/definitions/{name}"}))


def body_validator(operation_id: str) -> Draft4Validator | None:
    for parameter in operations()[operation_id]["parameters"]:
        if parameter["in"] == "body":
            return validator_for(json.dumps(parameter["schema"]))
    return None


def body_required(operation_id: str) -> bool:
    return any(
        p["in"] == "body" and p.get("required") for p in operations()[operation_id]["parameters"]
    )


def response_validator(operation_id: str, status: int) -> Draft4Validator | None:
    response = operations()[operation_id]["responses"].get(str(status))
    if not response or "schema" not in response:
        return None
    return validator_for(json.dumps(response["schema"]))


def schema_errors(validator: Draft4Validator, document: Any) -> list[str]:
    """Readable messages naming where in the document each problem is."""
    messages = []
    for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(part) for part in error.absolute_path) or "body"
        messages.append(f"{where}: {error.message}")
    return messages


def query_parameters(operation_id: str) -> list[dict[str, Any]]:
    return [p for p in operations()[operation_id]["parameters"] if p["in"] == "query"]


def check_query(operation_id: str, query: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """Apply the model's query parameter rules (required, type, enum, bounds); return typed values and problems."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    for parameter in query_parameters(operation_id):
        name = parameter["name"]
        raw = query.get(name)
        if raw is None or raw == "":
            if parameter.get("required"):
                problems.append(f"Missing required parameter '{name}'.")
            continue
        value: Any = raw
        if parameter.get("type") == "integer":
            try:
                value = int(raw)
            except ValueError:
                problems.append(
                    f"Invalid input '{raw}' for parameter '{name}': must be an integer."
                )
                continue
            if "minimum" in parameter and value < parameter["minimum"]:
                problems.append(
                    f"Invalid input '{raw}' for parameter '{name}': must be at least {parameter['minimum']}."
                )
                continue
            if "maximum" in parameter and value > parameter["maximum"]:
                problems.append(
                    f"Invalid input '{raw}' for parameter '{name}': must be at most {parameter['maximum']}."
                )
                continue
        if "enum" in parameter and value not in parameter["enum"]:
            problems.append(
                f"Invalid input '{raw}' for parameter '{name}': must be one of {', '.join(parameter['enum'])}."
            )
            continue
        if "maxLength" in parameter and len(raw) > parameter["maxLength"]:
            problems.append(
                f"Invalid input for parameter '{name}': longer than {parameter['maxLength']} characters."
            )
            continue
        values[name] = value
    return values, problems


@cache
def static_cases(operation_id: str) -> list[tuple[int, dict[str, Any], Any]]:
    """Amazon's static sandbox cases for one operation: (status, request parameters, response)."""
    cases = []
    for status, response in operations()[operation_id]["responses"].items():
        for case in response.get("x-amzn-api-sandbox", {}).get("static", []):
            cases.append((int(status), case["request"].get("parameters", {}), case.get("response")))
    return cases
