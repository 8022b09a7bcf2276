"""Errors in Amazon's shape: {"errors": [{"code", "message", "details"}]} with an HTTP status."""

from __future__ import annotations


class ApiError(Exception):
    """An answer in Amazon's error shape."""

    def __init__(self, status: int, code: str, message: str, details: str = ""):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details

    def body(self) -> dict:
        return {"errors": [{"code": self.code, "message": self.message, "details": self.details}]}


def bad_request(message: str, details: str = "") -> ApiError:
    return ApiError(400, "InvalidInput", message, details)


def unprocessable(message: str, details: str = "") -> ApiError:
    return ApiError(422, "InvalidInput", message, details)


def not_found(message: str) -> ApiError:
    return ApiError(404, "NotFound", message)


def wrong_state(message: str, details: str = "") -> ApiError:
    return ApiError(409, "InvalidState", message, details)


def check_body(model, operation_id: str, body) -> None:
    """400 when the body does not match the model's schema for this operation."""
    validator = model.body_validator(operation_id)
    if validator is None:
        return
    problems = model.schema_errors(validator, body)
    if problems:
        raise bad_request("The request body does not match the model.", "; ".join(problems[:5]))
