"""/_sandbox/ control endpoints for MFN orders (see the package docstring).

POST /_sandbox/orders                    a new order (SandboxHandle.create_order); its state
GET  /_sandbox/orders                    every order's summary
GET  /_sandbox/orders/{id}               its state: order, items, units, confirmations, history
POST /_sandbox/orders/{id}/cancel        the buyer cancels {"reason", "request_only"}
POST /_sandbox/orders/{id}/authorize     the payment clears: Pending -> Unshipped
"""

from __future__ import annotations

from django.urls import path

from ..core.control import control
from ..core.http import current


def _api():
    return current().orders


@control
def orders(request, body):
    if request.method == "POST":
        return 201, _api().create_order(body)
    return 200, {"orders": _api().summaries()}


@control
def order(request, body, order_id):
    return 200, _api().state(order_id)


@control
def cancel(request, body, order_id):
    if request.method != "POST":
        return 405, {"error": "Use POST"}
    reason = body.get("reason") or "Buyer cancelled the order"
    return 200, _api().cancel_order(order_id, reason, bool(body.get("request_only")))


@control
def authorize(request, body, order_id):
    if request.method != "POST":
        return 405, {"error": "Use POST"}
    return 200, _api().authorize(order_id)


urlpatterns = [
    path("_sandbox/orders", orders),
    path("_sandbox/orders/<str:order_id>", order),
    path("_sandbox/orders/<str:order_id>/cancel", cancel),
    path("_sandbox/orders/<str:order_id>/authorize", authorize),
]
