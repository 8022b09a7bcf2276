"""HTTP face of the sandbox: Amazon's paths, the LWA token endpoint and the /_sandbox/ control API.

Views only translate between HTTP and `engine.Sandbox`. Served by `manage.py runsandbox` with the
sandbox's own urlconf and no middleware (no sessions, CSRF or login: this is Amazon, not Packbench).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from .engine import ApiError, Sandbox, bad_request

log = logging.getLogger(__name__)

_sandbox: Sandbox | None = None


def install(sandbox: Sandbox) -> None:
    global _sandbox
    _sandbox = sandbox


def current() -> Sandbox:
    global _sandbox
    if _sandbox is None:
        _sandbox = Sandbox()
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

# (path kind, HTTP method) -> operationId
ROUTES = {
    ("shipments", "GET"): "getShipments",
    ("shipment", "GET"): "getShipment",
    ("shipment", "POST"): "processShipment",
    ("packages", "POST"): "createPackages",
    ("package", "PUT"): "updatePackage",
    ("package", "PATCH"): "updatePackageStatus",
    ("shippingOptions", "GET"): "retrieveShippingOptions",
    ("invoice", "POST"): "generateInvoice",
    ("invoice", "GET"): "retrieveInvoice",
    ("shipLabels", "PUT"): "generateShipLabels",
}


def _json(status: int, body: Any, request_id: str, rate: float | None = None) -> HttpResponse:
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


def _read_json(request: HttpRequest) -> Any:
    if not request.body.strip():
        return None
    try:
        return json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise bad_request("The request body is not valid JSON.") from None


def _base_url(request: HttpRequest) -> str:
    return f"{request.scheme}://{request.get_host()}"


def _run(
    sandbox: Sandbox, operation: str, request: HttpRequest, params: dict[str, str]
) -> tuple[int, Any]:
    query = request.GET.dict()
    body = _read_json(request)
    if operation in {"createPackages", "updatePackage"} and body is None:
        raise bad_request("The request body is required.")
    static = sandbox.static_case(operation, {**query, **params}, body)
    if static is not None:
        return static
    sid, pid = params.get("shipmentId"), params.get("packageId")
    if operation == "getShipments":
        return 200, sandbox.get_shipments(query)
    if operation == "getShipment":
        return 200, sandbox.get_shipment(sid)
    if operation == "processShipment":
        sandbox.process_shipment(sid, query.get("operation"), body)
        return 204, None
    if operation == "createPackages":
        sandbox.create_packages(sid, body)
        return 204, None
    if operation == "updatePackage":
        sandbox.update_package(sid, pid, body)
        return 204, None
    if operation == "updatePackageStatus":
        sandbox.update_package_status(sid, pid, query, body)
        return 204, None
    if operation == "retrieveShippingOptions":
        return 200, sandbox.retrieve_shipping_options(sid, query.get("packageId"))
    if operation == "generateInvoice":
        return 200, sandbox.generate_invoice(sid)
    if operation == "retrieveInvoice":
        return 200, sandbox.retrieve_invoice(sid)
    if operation == "generateShipLabels":
        return 200, sandbox.generate_ship_labels(sid, query, body, base_url=_base_url(request))
    raise AssertionError(operation)


def api(
    request: HttpRequest, kind: str, shipment_id: str | None = None, package_id: str | None = None
) -> HttpResponse:
    arrived_at = datetime.now(UTC)  # before any work: Amazon's throttle counts a request when it arrives
    request.sandbox_arrived = arrived_at.timestamp()
    sandbox = current()
    request_id = str(uuid.uuid4())
    operation = ROUTES.get((kind, request.method))
    params = {
        k: v for k, v in (("shipmentId", shipment_id), ("packageId", package_id)) if v is not None
    }
    started = time.monotonic()
    if operation is None:
        error = ApiError(
            405, "MethodNotAllowed", f"{request.method} is not supported on {request.path}."
        )
        return _json(405, error.body(), request_id, None)
    rate = sandbox.rate_limit(operation)
    plan = sandbox.plan_faults(operation)
    if plan.latency_seconds:
        time.sleep(plan.latency_seconds)
    status, body = _answer(sandbox, operation, request, params, plan)
    sandbox.record_call(
        {
            "at": datetime.now(UTC).isoformat(),
            "arrived_at": arrived_at.isoformat(),
            "operation": operation,
            "method": request.method,
            "path": request.path,
            "query": request.GET.dict(),
            "shipment_id": shipment_id,
            "package_id": package_id or request.GET.get("packageId"),
            "status": status,
            "request_id": request_id,
            "duration_ms": int((time.monotonic() - started) * 1000),
            "error_code": body["errors"][0]["code"]
            if status >= 400 and isinstance(body, dict) and body.get("errors")
            else None,
        }
    )
    return _json(status, body, request_id, rate)


def _answer(
    sandbox: Sandbox, operation: str, request: HttpRequest, params: dict, plan
) -> tuple[int, Any]:
    try:
        sandbox.authorize(request.headers.get("x-amz-access-token"))
    except ApiError as error:
        return error.status, error.body()
    if plan.throttled or not sandbox.take_token(operation, at=getattr(request, "sandbox_arrived", None)):
        return 429, QUOTA_EXCEEDED
    if plan.error_status and not plan.apply:
        return plan.error_status, _server_error(plan.error_status)
    if plan.timeout_seconds is not None and not plan.apply:
        time.sleep(plan.timeout_seconds)
        return 504, _server_error(504)
    try:
        status, body = _run(sandbox, operation, request, params)
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
        return _json(405, {"error": "invalid_request", "error_description": "Use POST"}, request_id)
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
    response = _json(status, body, request_id)
    response["Cache-Control"] = "no-store"
    return response


# --- /_sandbox/ control API -------------------------------------------------------------------------


def _control(handler):
    def view(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            body = json.loads(request.body) if request.body.strip() else {}
            if not isinstance(body, dict):
                raise TypeError("the body must be a JSON object")
            status, answer = handler(request, body, *args, **kwargs)
        except ApiError as error:
            status, answer = error.status, error.body()
        except (ValueError, TypeError, KeyError) as error:
            status, answer = 400, {"error": str(error)}
        return JsonResponse(answer, status=status, safe=False)

    return view


@_control
def control_reset(request, body):
    if request.method != "POST":
        return 405, {"error": "Use POST"}
    return 200, current().reset(seed_number=body.get("seed"), count=body.get("count"))


@_control
def control_config(request, body):
    if request.method == "POST":
        return 200, current().configure(body)
    return 200, current().public_config()


@_control
def control_faults(request, body):
    sandbox = current()
    if request.method == "POST":
        return 201, sandbox.add_fault(body)
    if request.method == "DELETE":
        sandbox.clear_faults()
        return 200, {"faults": []}
    return 200, {"faults": sandbox.list_faults()}


@_control
def control_shipments(request, body):
    sandbox = current()
    if request.method == "POST":
        return 201, sandbox.create_shipment(body)
    return 200, {"shipments": sandbox.summaries()}


@_control
def control_shipment(request, body, shipment_id):
    return 200, current().state(shipment_id, _base_url(request))


@_control
def control_cancel(request, body, shipment_id):
    if request.method != "POST":
        return 405, {"error": "Use POST"}
    return 200, current().marketplace_cancel(
        shipment_id, body.get("reason", "Customer cancelled the order")
    )


@_control
def control_carrier_scan(request, body, shipment_id):
    if request.method != "POST":
        return 405, {"error": "Use POST"}
    return 200, current().carrier_scan(shipment_id, body.get("packageIds"))


@_control
def control_calls(request, body):
    sandbox = current()
    if request.method == "DELETE":
        sandbox.clear_calls()
        return 200, {"calls": []}
    return 200, {
        "calls": sandbox.call_log(request.GET.get("operation"), request.GET.get("shipment_id"))
    }


@_control
def control_live_tick(request, body):
    return 200, current().live_tick()


def label_file(request: HttpRequest, label_id: str) -> HttpResponse:
    status, content_type, content = current().label_file(label_id, request.GET.dict())
    response = HttpResponse(content, status=status, content_type=content_type)
    response["x-amz-request-id"] = uuid.uuid4().hex[:16].upper()
    return response


def not_found(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    error = ApiError(404, "NotFound", f"No resource at {request.path}.")
    return _json(404, error.body(), str(uuid.uuid4()))
