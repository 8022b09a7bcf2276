"""Background work: Amazon steps, shipment syncs and the periodic housekeeping.

Steps are acks_late and idempotent (`services.run_step` returns a finished step untouched), so a
redelivered message never sends an Amazon call twice. A step whose worker died stays RUNNING
until its lease ends; then `reconcile_steps_task` queues it again.
"""

import logging

from celery import shared_task
from celery.signals import beat_init
from django.conf import settings
from django.core.cache import cache

from fulfillment.amazon.errors import AmazonError
from fulfillment.celery import app

from . import services

logger = logging.getLogger(__name__)

SYNC_LOCK_SECONDS = 600


# A hung step is killed after STEP_TIME_LIMIT: its row stays RUNNING, and once the lease is over the
# reconciler hands it to another worker, which re-reads Amazon before sending anything again.
STEP_TIME_LIMIT = 600


@shared_task(acks_late=True, ignore_result=True, time_limit=STEP_TIME_LIMIT)
def run_step_task(step_id: int) -> None:
    from .models import ShipmentStep

    try:
        services.run_step(step_id)
    except ShipmentStep.DoesNotExist:  # deleted with its shipment while queued
        logger.warning("Step %s no longer exists", step_id)


@shared_task(acks_late=True, ignore_result=True, time_limit=STEP_TIME_LIMIT)
def refresh_shipment_task(shipment_id: str) -> None:
    try:
        services.refresh_shipment(shipment_id)
    except AmazonError as exc:
        logger.warning("Refresh of %s failed: %s", shipment_id, exc)


@shared_task(ignore_result=True)
def sync_location_task(location_id: str) -> None:
    # One sync per location at a time: a slow Amazon must not pile up overlapping syncs.
    lock = f"shipments:sync:{location_id}"
    if not cache.add(lock, "1", SYNC_LOCK_SECONDS):
        cache.delete(f"shipments:sync-asked:{location_id}")  # the sync running now answers the ask
        return
    try:
        services.sync_location(location_id)
    except AmazonError as exc:
        logger.warning("Sync of %s failed: %s", location_id, exc)
    finally:
        cache.delete(lock)
        cache.delete(f"shipments:sync-asked:{location_id}")


def sync_running(location_id: str) -> bool:
    """A sync of the location is running, or was asked for and not started yet."""
    return bool(cache.get_many([f"shipments:sync:{location_id}", f"shipments:sync-asked:{location_id}"]))


def request_sync(location_id: str) -> bool:
    """The queue's "Sync now": queue a sync unless one is already running or asked for.
    The ask is remembered until the task ends (at most SYNC_LOCK_SECONDS)."""
    if not cache.add(f"shipments:sync-asked:{location_id}", "1", SYNC_LOCK_SECONDS):
        return False
    if cache.get(f"shipments:sync:{location_id}"):
        return False  # a periodic sync is running: it answers the ask and clears it
    sync_location_task.delay(location_id)
    return True


@shared_task(ignore_result=True)
def sync_stations_task() -> None:
    """Queue a sync for every location a station packs for."""
    from fulfillment.stations.models import Station

    for location_id in Station.objects.values_list("location_id", flat=True).distinct():
        sync_location_task.delay(location_id)


@shared_task(ignore_result=True)
def reconcile_steps_task() -> None:
    queued = services.reconcile_steps()
    if queued:
        logger.info("Re-queued stalled steps %s", queued)


app.conf.beat_schedule = {
    **(app.conf.beat_schedule or {}),
    "sync-stations": {
        "task": "fulfillment.shipments.tasks.sync_stations_task",
        "schedule": float(getattr(settings, "SHIPMENT_SYNC_INTERVAL_SECONDS", 30)),
    },
    "reconcile-steps": {
        "task": "fulfillment.shipments.tasks.reconcile_steps_task",
        "schedule": 60.0,
    },
}


@beat_init.connect
def _sync_when_beat_starts(sender=None, **kwargs):
    # A freshly started station shows Amazon's shipments at once, not one interval later.
    sync_stations_task.delay()
