"""/_sandbox/ control endpoints for labels bought through Merchant Fulfillment.

GET  /_sandbox/mfn/shipments?order_id=           the labels bought (all, or one order's)
GET  /_sandbox/mfn/shipments/{id}                one label's shipment, as getShipment has it
POST /_sandbox/mfn/shipments/{id}/carrier-scan   the carrier accepts the package: a refund
                                                 asked for its label will be RefundRejected
"""

from __future__ import annotations

from django.urls import path

from ..core.control import control
from ..core.http import current


def _api():
    return current().merchant_fulfillment


@control
def shipments(request, body):
    return 200, {"shipments": _api().summaries(request.GET.get("order_id"))}


@control
def shipment(request, body, shipment_id):
    return 200, _api().state(shipment_id)


@control
def carrier_scan(request, body, shipment_id):
    if request.method != "POST":
        return 405, {"error": "Use POST"}
    return 200, _api().carrier_scan(shipment_id)


urlpatterns = [
    path("_sandbox/mfn/shipments", shipments),
    path("_sandbox/mfn/shipments/<str:shipment_id>", shipment),
    path("_sandbox/mfn/shipments/<str:shipment_id>/carrier-scan", carrier_scan),
]
