"""/_sandbox/ control endpoints for SmartConnect shipments, and the presigned label links.

POST /_sandbox/shipments                      a new shipment (see SandboxHandle.create_shipment)
GET  /_sandbox/shipments                      every shipment's summary
GET  /_sandbox/shipments/{id}                 everything the sandbox keeps about one
PATCH /_sandbox/shipments/{id}                change it as Amazon serves it {"set": {path: value}, "remove": [path]}
POST /_sandbox/shipments/{id}/cancel          the marketplace cancels it {"reason"}
POST /_sandbox/shipments/{id}/carrier-scan    the carrier scans its packages {"packageIds"}
GET  /_sandbox/labels/{labelId}?X-Amz-...     a label file (S3-style presigned link)
"""

from __future__ import annotations

import uuid

from django.http import HttpRequest, HttpResponse
from django.urls import path

from ..core.control import control
from ..core.http import base_url, current


def _api():
    return current().external_fulfillment


@control
def shipments(request, body):
    if request.method == "POST":
        return 201, _api().create_shipment(body)
    return 200, {"shipments": _api().summaries()}


@control
def shipment(request, body, shipment_id):
    if request.method == "PATCH":
        return 200, _api().tamper(shipment_id, body)
    return 200, _api().state(shipment_id, base_url(request))


@control
def cancel(request, body, shipment_id):
    if request.method != "POST":
        return 405, {"error": "Use POST"}
    return 200, _api().marketplace_cancel(
        shipment_id, body.get("reason", "Customer cancelled the order")
    )


@control
def carrier_scan(request, body, shipment_id):
    if request.method != "POST":
        return 405, {"error": "Use POST"}
    return 200, _api().carrier_scan(shipment_id, body.get("packageIds"))


def label_file(request: HttpRequest, label_id: str) -> HttpResponse:
    status, content_type, content = _api().label_file(label_id, request.GET.dict())
    response = HttpResponse(content, status=status, content_type=content_type)
    response["x-amz-request-id"] = uuid.uuid4().hex[:16].upper()
    return response


urlpatterns = [
    path("_sandbox/shipments", shipments),
    path("_sandbox/shipments/<str:shipment_id>", shipment),
    path("_sandbox/shipments/<str:shipment_id>/cancel", cancel),
    path("_sandbox/shipments/<str:shipment_id>/carrier-scan", carrier_scan),
    path("_sandbox/labels/<str:label_id>", label_file),
]
