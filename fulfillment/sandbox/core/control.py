"""The /_sandbox/ control API shared by every imitated API (tests and demos drive the sandbox here).

    POST   /_sandbox/reset        {"seed", "count", "orders"}: fresh seeded state, start-up settings
    GET    /_sandbox/config       the settings; POST changes some (see core.sandbox, each API's own)
    POST   /_sandbox/faults       add a fault (core.faults); GET lists them; DELETE clears them
    GET    /_sandbox/calls        the call log (?operation=&shipment_id=&order_id=); DELETE clears it
    GET    /_sandbox/operations   every operation served: name, path, usage plan, current limit
    POST   /_sandbox/live/tick    one live-mode step now

Bad input answers 400 {"error": "..."}; an Amazon-side refusal answers in Amazon's error shape.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, JsonResponse
from django.urls import path

from .errors import ApiError
from .http import current


def control(handler):
    """A control view: JSON object in, (status, JSON) out, errors as 400 with a message."""

    def view(request: HttpRequest, *args, **kwargs) -> JsonResponse:
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


@control
def reset(request, body):
    if request.method != "POST":
        return 405, {"error": "Use POST"}
    sizes = {k: body[k] for k in body if k != "seed"}
    return 200, current().reset(seed_number=body.get("seed"), **sizes)


@control
def config(request, body):
    if request.method == "POST":
        return 200, current().configure(body)
    return 200, current().public_config()


@control
def faults(request, body):
    sandbox = current()
    if request.method == "POST":
        return 201, sandbox.add_fault(body)
    if request.method == "DELETE":
        sandbox.clear_faults()
        return 200, {"faults": []}
    return 200, {"faults": sandbox.list_faults()}


@control
def calls(request, body):
    sandbox = current()
    if request.method == "DELETE":
        sandbox.clear_calls()
        return 200, {"calls": []}
    query = request.GET
    return 200, {
        "calls": sandbox.call_log(
            query.get("operation"), query.get("shipment_id"), query.get("order_id")
        )
    }


@control
def operations(request, body):
    return 200, {"operations": current().operations()}


@control
def live_tick(request, body):
    return 200, current().live_tick()


urlpatterns = [
    path("_sandbox/reset", reset),
    path("_sandbox/config", config),
    path("_sandbox/faults", faults),
    path("_sandbox/calls", calls),
    path("_sandbox/operations", operations),
    path("_sandbox/live/tick", live_tick),
]
