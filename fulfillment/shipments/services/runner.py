"""Running a step against Amazon (the Celery task's body), safely more than once, and the
reconciler that finds steps nobody is working on."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from fulfillment.amazon.client import get_client
from fulfillment.amazon.errors import AmazonConflict, AmazonError, AmazonThrottled

from ..models import ShipmentEvent, ShipmentStep
from ..workflow import ShipmentError
from . import steps
from .chain import CHAIN_KEYS, continue_chain
from .events import record_event
from .handlers import HANDLERS, already_done
from .sync import seller_account_named

logger = logging.getLogger(__name__)

Kind = ShipmentStep.Kind
StepState = ShipmentStep.State


def _lease() -> timedelta:
    return timedelta(seconds=getattr(settings, "SHIPMENT_STEP_LEASE_SECONDS", 300))


# On PostgreSQL the worker running a step holds a session advisory lock on it. The lock ends with
# the worker's database connection, so a RUNNING step nobody holds a lock on belongs to a dead
# worker, and a live step that outlasts its lease is never run a second time beside itself.
STEP_LOCK_NAMESPACE = 0x5042
# Runs of a step's handler in one task while Amazon keeps throttling (429: it certainly did not act).
STEP_RUNS = 3


def _step_lock_key(step_id: int) -> int:
    return step_id % 2**31


def _step_locks_available() -> bool:
    return connection.vendor == "postgresql"


def _try_lock_step(step_id: int) -> bool:
    if not _step_locks_available():
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [STEP_LOCK_NAMESPACE, _step_lock_key(step_id)])
        return bool(cursor.fetchone()[0])


def _unlock_step(step_id: int) -> None:
    if not _step_locks_available():
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [STEP_LOCK_NAMESPACE, _step_lock_key(step_id)])
    except DatabaseError:  # the connection is gone, and its locks with it
        logger.warning("Could not release the lock of step %s", step_id, exc_info=True)


def _locked_step_keys() -> set[int]:
    """Lock keys of the steps some live worker is running now."""
    if not _step_locks_available():
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid::bigint = %s AND objsubid = 2",
            [STEP_LOCK_NAMESPACE],
        )
        return {row[0] for row in cursor.fetchall()}


def run_step(step_id: int) -> ShipmentStep:
    """Execute one step against Amazon. Safe to call twice: a finished step is returned as is,
    a step another worker holds (its lock, or RUNNING within its lease) is left alone. A step that
    ran before without finishing (worker lost, unclear answer) first re-reads the shipment to see
    whether Amazon already did it."""
    if not _try_lock_step(step_id):  # a duplicate message while a live worker runs the step
        return ShipmentStep.objects.select_related("shipment").get(pk=step_id)
    try:
        return _run_held_step(step_id)
    finally:
        _unlock_step(step_id)


def _run_held_step(step_id: int) -> ShipmentStep:
    now = timezone.now()
    with transaction.atomic():
        step = ShipmentStep.objects.select_for_update().select_related("shipment").get(pk=step_id)
        if step.status in {StepState.SUCCEEDED, StepState.FAILED}:
            return step
        if step.status == StepState.RUNNING and step.started_at and now - step.started_at < _lease():
            return step
        resumed = step.attempts > 0
        step.status, step.started_at, step.attempts = StepState.RUNNING, now, step.attempts + 1
        step.save(update_fields=["status", "started_at", "attempts", "updated_at"])
    user = step.requested_by
    try:
        with get_client(seller_account_named(step.shipment.seller_account)) as client:
            if resumed and already_done(step, client):
                return _finish(step, {"recovered": True}, user)
            return _finish(step, _run_handler(step, client), user)
    except _AlreadyDone:
        return _finish(step, {"recovered": True}, user)
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


class _AlreadyDone(Exception):
    """A re-read after an unclear answer or a 409 showed that Amazon did the step."""


def _run_handler(step: ShipmentStep, client) -> dict:
    """The step's handler. A write whose outcome is unknown, or that Amazon refused as out of order
    (409: a lost answer to an earlier attempt looks like this), is re-read: done means done, and
    not done (a 5xx or timeout before Amazon acted) means it is safe to send again. A throttle storm
    that outlasts the client's retries is waited out here too. Either way the handler runs at most
    STEP_RUNS times before the step goes back to the packer. A throttle may also hit the re-read
    after a write that went through, so after one the handler only runs again once the shipment
    says it is not done."""
    run, recheck = 1, False
    while True:
        try:
            if recheck and already_done(step, client):
                raise _AlreadyDone
            recheck = False
            return HANDLERS[step.kind](step, client) or {}
        except AmazonError as exc:
            not_done = False
            if (exc.outcome_unknown or isinstance(exc, AmazonConflict)) and not recheck:
                try:
                    done = already_done(step, client)
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
        step.started_at = timezone.now()  # still working on it: renew the lease
        ShipmentStep.objects.filter(pk=step.pk).update(started_at=step.started_at)


def _finish(step: ShipmentStep, result: dict, user) -> ShipmentStep:
    step.status, step.result, step.finished_at = StepState.SUCCEEDED, result, timezone.now()
    step.error_code = step.error_message = ""
    step.save(update_fields=["status", "result", "finished_at", "error_code", "error_message", "updated_at"])
    message = f"{step.get_kind_display()} done."
    if result.get("warning"):
        message += f" {result['warning']}"
    record_event(step.shipment, ShipmentEvent.Kind.STEP_SUCCEEDED, message, user=user,
                 data={"step": step.pk, "result": result})
    if result.get("stale"):
        _queue_refresh(step)
    else:
        continue_chain(step)
    return step


def _queue_refresh(step: ShipmentStep) -> None:
    """Catch up with Amazon's status after a write whose re-read failed. The Refresh step carries a
    Pack & label chain on, which goes on from the status it reads."""
    payload = {key: step.payload[key] for key in CHAIN_KEYS if key in step.payload}
    try:
        steps.request_step(step.shipment, Kind.REFRESH, step.requested_by, payload)
    except Exception:  # the page offers "Refresh from Amazon" and the location sync catches up anyway
        logger.exception("Could not queue a refresh of %s after step %s", step.shipment.amazon_id, step.pk)


def _fail(step: ShipmentStep, code: str, message: str, user) -> ShipmentStep:
    step.status, step.finished_at = StepState.FAILED, timezone.now()
    step.error_code, step.error_message = code[:100], message
    step.save(update_fields=["status", "finished_at", "error_code", "error_message", "updated_at"])
    record_event(step.shipment, ShipmentEvent.Kind.STEP_FAILED, f"{step.get_kind_display()} failed: {message}",
                 user=user, data={"step": step.pk, "code": code})
    return step


def stalled_step_ids() -> list[int]:
    """Steps nobody is working on: PENDING ones whose task was lost (older than a grace period)
    and RUNNING ones past their lease that no live worker holds (their worker died)."""
    now = timezone.now()
    grace = timedelta(seconds=getattr(settings, "SHIPMENT_STEP_PENDING_GRACE_SECONDS", 60))
    lost = set(ShipmentStep.objects.filter(status=StepState.PENDING, created_at__lt=now - grace)
               .values_list("pk", flat=True))
    held = _locked_step_keys()
    stalled = {pk for pk in ShipmentStep.objects.filter(status=StepState.RUNNING, started_at__lt=now - _lease())
               .values_list("pk", flat=True) if _step_lock_key(pk) not in held}
    return sorted(lost | stalled)


def reconcile_steps() -> list[int]:
    """Queue the stalled steps again (run_step re-reads the shipment before resending). Returns their ids."""
    queued = stalled_step_ids()
    for step_id in queued:
        steps.enqueue_step(step_id)
    return queued
