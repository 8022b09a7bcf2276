"""Asking for an Amazon step: written as a ShipmentStep, queued for a worker once committed.

The step runner (`runner`) executes it; this module is what views, the chain and packages call.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from fulfillment.celery import app

from .. import workflow
from ..models import Shipment, ShipmentEvent, ShipmentStep
from ..step_kinds import STEP_KINDS
from ..workflow import StepNotAllowed
from .events import record_event

logger = logging.getLogger(__name__)

Kind = ShipmentStep.Kind
# The task that runs a step, by name: importing `tasks` here would make a cycle (tasks call services).
RUN_STEP_TASK = "fulfillment.shipments.tasks.run_step_task"


def request_step(shipment: Shipment, kind: str, user, payload: dict | None = None, *,
                 queue: bool = True) -> ShipmentStep:
    """Ask for an Amazon step. Idempotent: while a step of this kind is open for the shipment,
    that step is returned and nothing new is queued (a double click sends one call). Refuses
    (StepNotAllowed) when the workflow does not allow it now or another step is still running.
    The Celery task is queued only after the transaction commits; with `queue=False` the caller
    runs the step itself (a worker going on with its chain), and should it die first, the step is
    PENDING with nothing queued: the reconciler queues it after its grace period."""
    payload = dict(payload or {})
    if kind not in STEP_KINDS:
        raise StepNotAllowed(f"Unknown step {kind}.")
    with transaction.atomic():
        locked = Shipment.objects.select_for_update().get(pk=shipment.pk)
        open_steps = list(locked.steps.filter(status__in=ShipmentStep.OPEN_STATES))
        for step in open_steps:
            if step.kind == kind:
                return step
        busy = [s for s in open_steps if not STEP_KINDS[s.kind].background]
        if busy and not STEP_KINDS[kind].background:
            raise StepNotAllowed(f"Wait: “{STEP_KINDS[busy[0].kind].label}” is still running for this shipment.")
        workflow.check_step_allowed(locked, kind, payload)
        try:
            with transaction.atomic():
                step = ShipmentStep.objects.create(
                    shipment=locked, kind=kind, payload=payload, heartbeat_at=timezone.now(),
                    requested_by=user if getattr(user, "is_authenticated", False) else None,
                )
        except IntegrityError:  # a concurrent request won the race: use its step
            return locked.steps.get(kind=kind, status__in=ShipmentStep.OPEN_STATES)
        record_event(locked, ShipmentEvent.Kind.STEP_REQUESTED, f"{STEP_KINDS[kind].label} requested.", user=user,
                     data={"step": step.pk, "payload": payload})
        if queue:
            transaction.on_commit(lambda: enqueue_step(step.pk))
    return step


def request_label_regeneration(shipment: Shipment, user, reason: str) -> ShipmentStep:
    """REGENERATE the labels (the old ones become invalid): only on explicit request, with a reason."""
    return request_step(shipment, Kind.LABELS, user, {"operation": "REGENERATE", "reason": (reason or "").strip()})


def enqueue_step(step_id: int) -> None:
    try:
        app.tasks[RUN_STEP_TASK].delay(step_id)
    except Exception:  # broker down: the step stays PENDING and the reconciler queues it again
        logger.exception("Could not queue step %s; the reconciler will retry it", step_id)
