"""One of Amazon's models (Swagger 2.0) as the sandbox reads it.

Operations, their parameter rules, JSON Schema validators for bodies and answers, the static
sandbox cases and the usage plan each operation's description states. Swagger 2.0 definitions
are JSON Schema draft 4: `$ref`s resolve against the model document.

Query parameters arrive as text; arrays are comma-separated (Swagger's default collectionFormat,
as Amazon sends them) or repeated keys.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft4Validator

from fulfillment.amazon.contract_schema import Contract


class Model(Contract):
    """A model file as the sandbox reads it: `Model("ordersV0")` is fulfillment/amazon/contract/ordersV0.json.
    Reading the file, its operations and usage plans is the client's `Contract`; the sandbox adds the
    checks it answers 400 with and the static sandbox cases."""

    def __init__(self, name: str):
        super().__init__(name)
        self._validators: dict[str, Draft4Validator] = {}

    # --- schemas -----------------------------------------------------------------------------------

    def validator(self, schema: dict[str, Any]) -> Draft4Validator:
        key = json.dumps(schema, sort_keys=True)
        if key not in self._validators:
            self._validators[key] = Draft4Validator(
                {**schema, "definitions": self.document["definitions"]}
            )
        return self._validators[key]

    def definition_validator(self, name: str) -> Draft4Validator:
        return self.validator({"$ref": f"#/definitions/{name}"})

    def body_validator(self, operation_id: str) -> Draft4Validator | None:
        for parameter in self.operations()[operation_id]["parameters"]:
            if parameter["in"] == "body":
                return self.validator(parameter["schema"])
        return None

    def body_required(self, operation_id: str) -> bool:
        return any(
            p["in"] == "body" and p.get("required")
            for p in self.operations()[operation_id]["parameters"]
        )

    def response_validator(self, operation_id: str, status: int) -> Draft4Validator | None:
        response = self.operations()[operation_id]["responses"].get(str(status))
        if not response or "schema" not in response:
            return None
        return self.validator(response["schema"])

    @staticmethod
    def schema_errors(validator: Draft4Validator, document: Any) -> list[str]:
        """Readable messages naming where in the document each problem is."""
        messages = []
        for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path)):
            where = "/".join(str(part) for part in error.absolute_path) or "body"
            messages.append(f"{where}: {error.message}")
        return messages

    def body_problems(self, operation_id: str, body: Any) -> list[str]:
        validator = self.body_validator(operation_id)
        if validator is None:
            return [] if body is None else [f"{operation_id} takes no body"]
        return self.schema_errors(validator, body)

    def response_problems(self, operation_id: str, status: int, body: Any) -> list[str]:
        validator = self.response_validator(operation_id, status)
        return [] if validator is None else self.schema_errors(validator, body)

    # --- parameters -----------------------------------------------------------------------------

    def query_parameters(self, operation_id: str) -> list[dict[str, Any]]:
        return [p for p in self.operations()[operation_id]["parameters"] if p["in"] == "query"]

    def check_query(
        self, operation_id: str, query: Mapping[str, str | list[str]]
    ) -> tuple[dict[str, Any], list[str]]:
        """Apply the model's query parameter rules (required, type, enum, bounds, array size);
        return typed values (arrays as lists) and the problems, as Amazon words them."""
        values: dict[str, Any] = {}
        problems: list[str] = []
        for parameter in self.query_parameters(operation_id):
            name = parameter["name"]
            raw = _joined(query.get(name))
            if raw is None or raw == "":
                if parameter.get("required"):
                    problems.append(f"Missing required parameter '{name}'.")
                continue
            value, problem = _typed(parameter, name, raw)
            if problem:
                problems.append(problem)
            else:
                values[name] = value
        return values, problems

    def parameter_problems(
        self, operation_id: str, location: str, values: Mapping[str, str | list[str]]
    ) -> list[str]:
        """What is wrong with the query (or path) parameters as read from the wire."""
        problems = []
        declared = {
            p["name"]: p
            for p in self.operations()[operation_id]["parameters"]
            if p["in"] == location
        }
        for name, parameter in declared.items():
            if parameter.get("required") and _joined(values.get(name)) in (None, ""):
                problems.append(f"{location} parameter {name} is required")
        for name, raw in values.items():
            parameter = declared.get(name)
            if parameter is None:
                problems.append(f"{location} parameter {name} is not in the model")
                continue
            _, problem = _typed(parameter, name, _joined(raw) or "")
            if problem:
                problems.append(f"{location} parameter {problem}")
            elif parameter.get("pattern") and not re.search(parameter["pattern"], _joined(raw)):
                problems.append(
                    f"{location} parameter {name} does not match {parameter['pattern']}"
                )
        return problems

    # --- sandbox cases and usage plans -----------------------------------------------------------

    def static_cases(self, operation_id: str) -> list[tuple[int, dict[str, Any], Any]]:
        """Amazon's static sandbox cases for one operation: (status, request parameters, response)."""
        cases = []
        for status, response in self.operations()[operation_id]["responses"].items():
            for case in response.get("x-amzn-api-sandbox", {}).get("static", []):
                cases.append(
                    (int(status), case["request"].get("parameters", {}), case.get("response"))
                )
        return cases


def _joined(raw: str | list[str] | None) -> str | None:
    if isinstance(raw, list):
        return ",".join(raw) if raw else None
    return raw


def _typed(parameter: dict, name: str, raw: str) -> tuple[Any, str | None]:
    """(typed value, None) or (None, problem) for one query parameter's text."""
    kind = parameter.get("type")
    if kind == "array":
        items = [part.strip() for part in raw.split(",") if part.strip()]
        if "maxItems" in parameter and len(items) > parameter["maxItems"]:
            return None, (
                f"Invalid input for parameter '{name}': at most {parameter['maxItems']} values."
            )
        allowed = parameter.get("items", {}).get("enum")
        wrong = [item for item in items if allowed and item not in allowed]
        if wrong:
            return None, (
                f"Invalid input '{wrong[0]}' for parameter '{name}': "
                f"must be one of {', '.join(allowed)}."
            )
        return items, None
    value: Any = raw
    if kind == "integer":
        try:
            value = int(raw)
        except ValueError:
            return None, f"Invalid input '{raw}' for parameter '{name}': must be an integer."
        if "minimum" in parameter and value < parameter["minimum"]:
            return None, (
                f"Invalid input '{raw}' for parameter '{name}': "
                f"must be at least {parameter['minimum']}."
            )
        if "maximum" in parameter and value > parameter["maximum"]:
            return None, (
                f"Invalid input '{raw}' for parameter '{name}': "
                f"must be at most {parameter['maximum']}."
            )
    elif kind == "boolean":
        if raw not in {"true", "false"}:
            return None, f"Invalid input '{raw}' for parameter '{name}': must be true or false."
        value = raw == "true"
    if "enum" in parameter and value not in parameter["enum"]:
        return None, (
            f"Invalid input '{raw}' for parameter '{name}': "
            f"must be one of {', '.join(parameter['enum'])}."
        )
    if "maxLength" in parameter and len(raw) > parameter["maxLength"]:
        return None, (
            f"Invalid input for parameter '{name}': longer than {parameter['maxLength']} characters."
        )
    return value, None
