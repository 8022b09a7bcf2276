"""Background work: Amazon steps, shipment syncs and the periodic housekeeping.

Steps are acks_late and idempotent (`services.run_step` returns a finished step untouched and leaves
one a live worker holds alone), so a redelivered message never sends an Amazon call twice. A step
whose worker died stays RUNNING until its heartbeat is a lease old; then `reconcile_steps_task`
(every SHIPMENT_RECONCILE_SECONDS) queues it again: resumed well within a minute. A Pack & label
chain's steps run one after the other in one task (`services.run_chain`), each written as a step
before it runs: a next step its dying worker never started is PENDING, queued again after a grace.

The sync reads Amazon per seller account (`services.sync_account`), one at a time per account.
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


# A hung step is killed after STEP_TIME_LIMIT: its row stays RUNNING, its lock and heartbeat end with
# it, and a lease later the reconciler hands it to another worker, which re-reads Amazon first.
STEP_TIME_LIMIT = 600
# A Pack & label chain runs its next steps in the task of its first (services.run_chain) for this
# long; after that (Amazon throttling it) each next step is queued, far from STEP_TIME_LIMIT.
CHAIN_IN_ONE_TASK_SECONDS = 60


@shared_task(acks_late=True, ignore_result=True, time_limit=STEP_TIME_LIMIT)
def run_step_task(step_id: int) -> None:
    from .models import ShipmentStep

    try:
        services.run_chain(step_id, seconds=CHAIN_IN_ONE_TASK_SECONDS)
    except ShipmentStep.DoesNotExist:  # deleted with its shipment while queued
        logger.warning("Step %s no longer exists", step_id)


@shared_task(acks_late=True, ignore_result=True, time_limit=STEP_TIME_LIMIT)
def refresh_shipment_task(shipment_id: str) -> None:
    try:
        services.refresh_shipment(shipment_id)
    except AmazonError as exc:
        logger.warning("Refresh of %s failed: %s", shipment_id, exc)


def _account_of(location_id: str) -> str:
    from fulfillment.stations.selectors import seller_account_name_for_location

    return seller_account_name_for_location(location_id)


@shared_task(ignore_result=True)
def sync_account_task(seller_account: str) -> None:
    # One sync per seller account at a time: a slow Amazon must not pile up overlapping syncs.
    lock = f"shipments:sync:{seller_account}"
    if not cache.add(lock, "1", SYNC_LOCK_SECONDS):
        cache.delete(f"shipments:sync-asked:{seller_account}")  # the sync running now answers the ask
        return
    try:
        try:
            services.sync_account(seller_account)
        except AmazonError as exc:
            logger.warning("Sync of seller account %s failed: %s", seller_account, exc)
        try:  # its seller-fulfilled orders: getOrders has its own (slow) plan, so its own interval
            services.sync_mfn_account(seller_account)
        except AmazonError as exc:
            logger.warning("Sync of seller account %s's MFN orders failed: %s", seller_account, exc)
    finally:
        cache.delete(lock)
        cache.delete(f"shipments:sync-asked:{seller_account}")


def sync_running(location_id: str) -> bool:
    """A sync of the location's seller account is running, or was asked for and not started yet."""
    account = _account_of(location_id)
    return bool(cache.get_many([f"shipments:sync:{account}", f"shipments:sync-asked:{account}"]))


def request_sync(location_id: str) -> bool:
    """The queue's "Sync now": queue a sync of the location's seller account unless one is already
    running or asked for. The ask is remembered until the task ends (at most SYNC_LOCK_SECONDS)."""
    account = _account_of(location_id)
    if not cache.add(f"shipments:sync-asked:{account}", "1", SYNC_LOCK_SECONDS):
        return False
    if cache.get(f"shipments:sync:{account}"):
        return False  # a periodic sync is running: it answers the ask and clears it
    sync_account_task.delay(account)
    return True


@shared_task(ignore_result=True)
def sync_stations_task() -> None:
    """Queue a sync of every seller account a station packs for."""
    from fulfillment.stations.selectors import locations_by_seller_account

    for account in sorted(locations_by_seller_account()):
        sync_account_task.delay(account)


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
        "schedule": float(getattr(settings, "SHIPMENT_RECONCILE_SECONDS", 10)),
    },
}


@beat_init.connect
def _sync_when_beat_starts(sender=None, **kwargs):
    # A freshly started station shows Amazon's shipments at once, not one interval later.
    sync_stations_task.delay()
