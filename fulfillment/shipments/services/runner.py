"""Running a step against Amazon (the Celery task's body), safely more than once, and the
reconciler that finds steps nobody is working on.

What a step does is the step registry's (`step_kinds.STEP_KINDS`): its handler (in `handlers`), the
status its success leads to (`progress.advance`: no re-read of Amazon), and how a re-read shows
that Amazon already did it (only after an unclear answer: a timeout after sending, a 5xx, a 409).
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from fulfillment.amazon.client import get_client
from fulfillment.amazon.errors import AmazonConflict, AmazonError, AmazonThrottled

from ..models import ShipmentEvent, ShipmentStep
from ..step_kinds import STEP_KINDS
from ..workflow import ShipmentError
from . import handlers, leases, steps
from .chain import continue_chain
from .events import record_event
from .progress import advance
from .sync import seller_account_named

logger = logging.getLogger(__name__)

Kind = ShipmentStep.Kind
StepState = ShipmentStep.State

# Runs of a step's handler in one task while Amazon keeps throttling (429: it certainly did not act).
STEP_RUNS = 3


def run_step(step_id: int) -> ShipmentStep:
    """Execute one step against Amazon. Safe to call twice: a finished step is returned as is, a step
    another live process holds (its lock) is left alone. A step that ran before without finishing
    (its worker died, or the answer was unclear) first re-reads the shipment to see whether Amazon
    already did it. While it runs, its heartbeat keeps the reconciler away. The next step of its
    Pack & label chain is queued."""
    return _run(step_id, queue_next=True)[0]


def run_chain(step_id: int, *, seconds: float) -> ShipmentStep:
    """The task's body: run the step, then in this same process each next step of its Pack & label
    chain as the one before asks for it (a Celery message and task per step cost the worker more
    than the step's own work). Each step is written (PENDING) before it runs, so the chain lives on
    the steps as when queued: a worker lost mid-chain leaves a PENDING or RUNNING step the reconciler
    hands on, and every step runs under its own lock and checks as run_step's do. Once the task has
    run `seconds` (a chain slowed by throttling), the next step is queued instead: the task stays
    well inside its time limit. A message of a step that had already succeeded (redelivered after
    its pool process died mid-chain) goes on with the chain's open step at once, as that step's own
    message did when each step had one. Returns the last step run."""
    deadline = time.monotonic() + seconds
    step, following = _run(step_id, queue_next=False)
    while following is not None:
        if time.monotonic() >= deadline:
            steps.enqueue_step(following.pk)
            break
        step, following = _run(following.pk, queue_next=False)
    return step


def _run(step_id: int, *, queue_next: bool) -> tuple[ShipmentStep, ShipmentStep | None]:
    """Run the step; returns it and the chain's next step, when it asked for one without queuing it."""
    lock = leases.StepLock(step_id)
    if not lock.acquire():  # a duplicate message while a live worker runs the step
        return ShipmentStep.objects.select_related("shipment").get(pk=step_id), None
    try:
        return _run_held_step(step_id, queue_next)
    finally:
        lock.release()


def _run_held_step(step_id: int, queue_next: bool) -> tuple[ShipmentStep, ShipmentStep | None]:
    now = timezone.now()
    with transaction.atomic():
        # The step and its shipment locked as before; who asked for it read in the same query.
        step = (ShipmentStep.objects.select_for_update(of=("self", "shipment"))
                .select_related("shipment", "requested_by").get(pk=step_id))
        if step.status in {StepState.SUCCEEDED, StepState.FAILED}:
            return step, None if queue_next or step.status == StepState.FAILED else _open_in_chain(step)
        # RUNNING here means its runner died: we hold the lock it would hold if it lived.
        resumed = step.attempts > 0
        step.status, step.started_at, step.heartbeat_at = StepState.RUNNING, now, now
        step.attempts += 1
        step.save(update_fields=["status", "started_at", "heartbeat_at", "attempts", "updated_at"])
    user = step.requested_by
    try:
        with leases.Heartbeat(step.pk), get_client(seller_account_named(step.shipment.seller_account)) as client:
            if resumed and handlers.already_done(step, client):
                return _finish(step, {"recovered": True}, user, queue_next)
            result = _run_handler(step, client)
            result["status"] = advance(step, result)
            return _finish(step, result, user, queue_next)
    except _AlreadyDone:
        return _finish(step, {"recovered": True}, user, queue_next)
    except AmazonError as exc:
        return _fail(step, exc.error_code or type(exc).__name__, exc.packer_message, user)
    except ShipmentError as exc:
        return _fail(step, type(exc).__name__, exc.packer_message, user)
    except Exception as exc:  # printed to the log; the packer gets words, not a trace
        from fulfillment.documents.errors import DocumentError
        from fulfillment.printers.zebra import PrinterError

        if isinstance(exc, DocumentError | PrinterError):
            return _fail(step, type(exc).__name__, exc.packer_message, user)
        logger.exception("Step %s (%s) failed unexpectedly", step.pk, step.kind)
        return _fail(step, "INTERNAL", "Packbench hit an unexpected problem with this step. Try again; if it "
                     "keeps failing, tell your supervisor.", user)


def _open_in_chain(step: ShipmentStep) -> ShipmentStep | None:
    """The open step asked for after `step` in its chain: one its worker died on or before."""
    if not step.chain:
        return None
    return (ShipmentStep.objects.filter(shipment_id=step.shipment_id, status__in=ShipmentStep.OPEN_STATES,
                                        created_at__gte=step.created_at, payload__chain=step.chain)
            .exclude(pk=step.pk).order_by("created_at", "id").first())


class _AlreadyDone(Exception):
    """A re-read after an unclear answer or a 409 showed that Amazon did the step."""


def _handler(kind: str):
    """The registry's handler: a function of `handlers`, or "module.function" of this package (mfn)."""
    module, _, name = STEP_KINDS[kind].handler.rpartition(".")
    return getattr(import_module(f"{__package__}.{module}") if module else handlers, name)


def _run_handler(step: ShipmentStep, client) -> dict:
    """The step's handler. A write whose outcome is unknown, or that Amazon refused as out of order
    (409: a lost answer to an earlier attempt looks like this), is re-read: done means done, and
    not done (a 5xx or timeout before Amazon acted) means it is safe to send again. A throttle storm
    that outlasts the client's retries is waited out here too. Either way the handler runs at most
    STEP_RUNS times before the step goes back to the packer. A throttle may also hit the re-read
    after a write that went through, so after one the handler only runs again once the shipment
    says it is not done."""
    handler = _handler(step.kind)
    run, recheck = 1, False
    while True:
        try:
            if recheck and handlers.already_done(step, client):
                raise _AlreadyDone
            recheck = False
            return dict(handler(step, client) or {})
        except AmazonError as exc:
            not_done = False
            if (exc.outcome_unknown or isinstance(exc, AmazonConflict)) and not recheck:
                try:
                    done = handlers.already_done(step, client)
                except AmazonError:
                    logger.warning("Could not re-read shipment after unclear %s", step.kind, exc_info=True)
                    raise exc from None
                if done:
                    raise _AlreadyDone from exc
                not_done = exc.outcome_unknown
            throttled = isinstance(exc, AmazonThrottled)
            if run >= STEP_RUNS or not (throttled or not_done):
                raise
            recheck = throttled
            logger.info("Step %s (%s) %s; running it again", step.pk, step.kind,
                        "throttled by Amazon" if throttled else f"not done by Amazon ({type(exc).__name__})")
        run += 1
        time.sleep(float(getattr(settings, "AMAZON_RETRY_MAX_WAIT_SECONDS", 8.0)))


def _finish(step: ShipmentStep, result: dict, user, queue_next: bool = True) -> tuple[ShipmentStep, ShipmentStep | None]:
    step.status, step.result, step.finished_at = StepState.SUCCEEDED, result, timezone.now()
    step.error_code = step.error_message = ""
    step.save(update_fields=["status", "result", "finished_at", "error_code", "error_message", "updated_at"])
    label = STEP_KINDS[step.kind].label
    message = f"{label} done."
    if result.get("warning"):
        message += f" {result['warning']}"
    record_event(step.shipment, ShipmentEvent.Kind.STEP_SUCCEEDED, message, user=user,
                 data={"step": step.pk, "result": result})
    return step, continue_chain(step, queue=queue_next)


def _fail(step: ShipmentStep, code: str, message: str, user) -> tuple[ShipmentStep, None]:
    step.status, step.finished_at = StepState.FAILED, timezone.now()
    step.error_code, step.error_message = code[:100], message
    step.save(update_fields=["status", "finished_at", "error_code", "error_message", "updated_at"])
    record_event(step.shipment, ShipmentEvent.Kind.STEP_FAILED, f"{STEP_KINDS[step.kind].label} failed: {message}",
                 user=user, data={"step": step.pk, "code": code})
    return step, None


def stalled_step_ids() -> list[int]:
    """Steps nobody is working on: PENDING ones whose task was lost (queued longer ago than a grace
    period) and RUNNING ones whose heartbeat stopped a lease ago and that no live process holds
    (their worker died)."""
    now = timezone.now()
    grace = timedelta(seconds=getattr(settings, "SHIPMENT_STEP_PENDING_GRACE_SECONDS", 30))
    lost = set(ShipmentStep.objects.filter(status=StepState.PENDING).filter(
        Q(heartbeat_at__lt=now - grace) | Q(heartbeat_at__isnull=True, created_at__lt=now - grace),
    ).values_list("pk", flat=True))
    since = now - leases.lease()
    silent = set(ShipmentStep.objects.filter(status=StepState.RUNNING).filter(
        Q(heartbeat_at__lt=since) | Q(heartbeat_at__isnull=True, started_at__lt=since),
    ).values_list("pk", flat=True))
    return sorted(lost | (silent - leases.held(silent)))


def reconcile_steps() -> list[int]:
    """Queue the stalled steps again (run_step re-reads the shipment before resending). Returns their ids."""
    queued = stalled_step_ids()
    if queued:
        # Requeued now: a PENDING one waits another grace period before it counts as lost again.
        ShipmentStep.objects.filter(pk__in=queued, status=StepState.PENDING).update(heartbeat_at=timezone.now())
    for step_id in queued:
        steps.enqueue_step(step_id)
    leases.forget_finished_locks()
    return queued
