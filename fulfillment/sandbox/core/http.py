"""HTTP face of the sandbox: Amazon's paths for every operation, the LWA token endpoint, 404s.

Views only translate between HTTP and the one installed `Sandbox`. Every SP-API request goes
the same way: route to its operation (405 for a method the path does not take), access token
(403), rate limit and throttle faults (429 QuotaExceeded), injected 5xx/timeouts, the operation,
the call log. Every answer carries x-amzn-RequestId and x-amzn-RateLimit-Limit.
Served by `manage.py runsandbox` with the sandbox's own urlconf and no middleware.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path

from .api import Call
from .errors import ApiError, bad_request
from .operations import Operation, Registry
from .sandbox import Sandbox

_sandbox: Sandbox | None = None


def install(sandbox: Sandbox) -> None:
    global _sandbox
    _sandbox = sandbox


def current() -> Sandbox:
    global _sandbox
    if _sandbox is None:
        from ..engine import Sandbox as Default

        _sandbox = Default()
    return _sandbox


SERVER_ERRORS = {
    500: ("InternalFailure", "We encountered an internal error. Please try again."),
    502: ("InternalFailure", "We encountered an internal error. Please try again."),
    503: ("ServiceUnavailable", "Service temporarily unavailable. Please try again."),
    504: ("ServiceUnavailable", "Service temporarily unavailable. Please try again."),
}
QUOTA_EXCEEDED = {
    "errors": [
        {"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource."}
    ]
}


def operation_urls(registry: Registry) -> list:
    """One Django path per model path: `{name}` becomes a captured segment."""
    patterns = []
    for model_path, by_method in registry.routes().items():
        route = re.sub(r"\{(\w+)\}", r"<str:\1>", model_path.lstrip("/"))
        patterns.append(path(route, operation_view, {"_routes": by_method}))
    return patterns


def json_response(
    status: int, body: Any, request_id: str, rate: float | None = None
) -> HttpResponse:
    response = (
        HttpResponse(status=status)
        if body is None or status == 204  # a 204 has no body: bytes after it would corrupt a kept-alive connection
        else JsonResponse(body, status=status, safe=False)
    )
    response["x-amzn-RequestId"] = request_id
    if rate is not None:
        response["x-amzn-RateLimit-Limit"] = str(rate)
    # With its length known the development server keeps the connection open, as Amazon does;
    # without it every call would open a new connection and wait for a new server thread.
    response["Content-Length"] = str(len(response.content))
    return response


def base_url(request: HttpRequest) -> str:
    return f"{request.scheme}://{request.get_host()}"


def _read_json(request: HttpRequest) -> Any:
    if not request.body.strip():
        return None
    try:
        return json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise bad_request("The request body is not valid JSON.") from None


def operation_view(request: HttpRequest, _routes: dict[str, Operation], **params: str):
    arrived_at = datetime.now(UTC)  # before any work: Amazon's throttle counts a request when it arrives
    request.sandbox_arrived = arrived_at.timestamp()
    sandbox = current()
    request_id = str(uuid.uuid4())
    operation = _routes.get(request.method)
    started = time.monotonic()
    if operation is None:
        error = ApiError(
            405, "MethodNotAllowed", f"{request.method} is not supported on {request.path}."
        )
        return json_response(405, error.body(), request_id, None)
    api = sandbox.instances[operation.api]
    rate = sandbox.rate_limit(operation.name)
    plan = sandbox.plan_faults(operation.name)
    if plan.latency_seconds:
        time.sleep(plan.latency_seconds)
    call = Call(
        path=params,
        query=request.GET.dict(),
        lists={key: request.GET.getlist(key) for key in request.GET},
        base_url=base_url(request),
    )
    status, body = _answer(sandbox, api, operation, request, call, plan)
    ids = {"shipment_id": None, "package_id": None, "order_id": None}
    try:
        ids.update(api.call_ids(operation.operation_id, call))
    except (AttributeError, KeyError, TypeError):
        pass  # a malformed body names nothing
    sandbox.record_call(
        {
            "at": datetime.now(UTC).isoformat(),
            "arrived_at": arrived_at.isoformat(),
            "operation": operation.name,
            "method": request.method,
            "path": request.path,
            "query": request.GET.dict(),
            **ids,
            "status": status,
            "request_id": request_id,
            "duration_ms": int((time.monotonic() - started) * 1000),
            "error_code": body["errors"][0]["code"]
            if status >= 400 and isinstance(body, dict) and body.get("errors")
            else None,
        }
    )
    return json_response(status, body, request_id, rate)


def _answer(sandbox, api, operation: Operation, request, call: Call, plan) -> tuple[int, Any]:
    try:
        seller = sandbox.authorize(request.headers.get("x-amz-access-token"))
    except ApiError as error:
        return error.status, error.body()
    arrived = getattr(request, "sandbox_arrived", None)
    if plan.throttled or not sandbox.take_token(operation.name, at=arrived, seller=seller):
        return 429, QUOTA_EXCEEDED
    if plan.error_status and not plan.apply:
        return plan.error_status, _server_error(plan.error_status)
    if plan.timeout_seconds is not None and not plan.apply:
        time.sleep(plan.timeout_seconds)
        return 504, _server_error(504)
    call.seller = seller
    try:
        call.body = _read_json(request)
        static = api.static_case(operation.operation_id, call)
        if static is not None:
            status, body = static
        else:
            status, body = operation.handler(api, call)
    except ApiError as error:
        status, body = error.status, error.body()
    if plan.error_status:  # the work was done, the caller only sees a failure: outcome unknown
        return plan.error_status, _server_error(plan.error_status)
    if plan.timeout_seconds is not None:
        time.sleep(plan.timeout_seconds)
    return status, body


def _server_error(status: int) -> dict:
    code, message = SERVER_ERRORS[status]
    return {"errors": [{"code": code, "message": message, "details": ""}]}


def token(request: HttpRequest) -> HttpResponse:
    sandbox = current()
    request_id = str(uuid.uuid4())
    if request.method != "POST":
        return json_response(
            405, {"error": "invalid_request", "error_description": "Use POST"}, request_id
        )
    latency = sandbox.public_config()["lwa_latency_ms"]
    if latency:
        time.sleep(latency / 1000)
    status, body = sandbox.grant_token(request.POST.dict())
    if isinstance(body, str):  # a fault: a proxy's HTML page instead of LWA's JSON
        sandbox.record_call({"at": datetime.now(UTC).isoformat(), "operation": "lwaToken", "method": "POST",
                             "path": request.path, "status": status, "request_id": request_id, "error_code": "html"})
        return HttpResponse(body, status=status, content_type="text/html")
    sandbox.record_call(
        {
            "at": datetime.now(UTC).isoformat(),
            "operation": "lwaToken",
            "method": "POST",
            "path": request.path,
            "status": status,
            "request_id": request_id,
            "error_code": body.get("error"),
        }
    )
    response = json_response(status, body, request_id)
    response["Cache-Control"] = "no-store"
    return response


def not_found(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    error = ApiError(404, "NotFound", f"No resource at {request.path}.")
    return json_response(404, error.body(), str(uuid.uuid4()))
