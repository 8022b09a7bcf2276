"""A Pack & label chain runs its steps in the task of its first step (`services.run_chain`), each
written as a step before it runs: nothing is queued between them, a chain slowed past its time is
handed back to the queue, and a worker lost mid-chain leaves a PENDING step the reconciler queues
again. Against the real sandbox over HTTP; the Celery queue is a list here."""

from datetime import timedelta

import pytest
from django.utils import timezone

from fulfillment.amazon.models import AmazonCall
from fulfillment.shipments import services
from fulfillment.shipments.models import ShipmentEvent, ShipmentStep
from fulfillment.shipments.services import runner

from .factories import INDIA
from .sandbox_helpers import create_shipment

pytestmark = pytest.mark.django_db
State = ShipmentStep.State
BOX = {"length": "30", "width": "25", "height": "15", "dimension_unit": "CM", "weight": "520", "weight_unit": "G"}
EASY_SHIP_CHAIN = ["CONFIRM", "CREATE_PACKAGES", "SHIPPING_OPTIONS", "INVOICE", "LABELS"]


@pytest.fixture
def queued(monkeypatch):
    """The Celery queue: step ids enqueue_step was given."""
    ids = []
    monkeypatch.setattr(services.steps, "enqueue_step", ids.append)
    return ids


def _start(amazon, packer, queued, capture):
    shipment = create_shipment(amazon, programme="EASY_SHIP", marketplace_id=INDIA)
    with capture(execute=True):
        first = services.start_pack_and_label(shipment, BOX, packer)
    assert queued == [first.pk]
    queued.clear()
    return shipment, first


def _steps(shipment):
    return list(ShipmentStep.objects.filter(shipment=shipment).order_by("created_at", "id"))


def _writes(shipment, operation):
    return AmazonCall.objects.filter(shipment_id=shipment.amazon_id, operation=operation, http_status__lt=300).count()


def test_the_chain_runs_to_its_labels_in_one_task_with_nothing_queued(amazon, packer, queued,
                                                                      django_capture_on_commit_callbacks):
    shipment, first = _start(amazon, packer, queued, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        last = services.run_chain(first.pk, seconds=60)
    assert queued == []
    ran = _steps(shipment)
    assert [s.kind for s in ran] == EASY_SHIP_CHAIN
    assert all(s.status == State.SUCCEEDED and s.attempts == 1 and s.requested_by == packer for s in ran)
    assert last.pk == ran[-1].pk
    shipment.refresh_from_db()
    assert shipment.status == "SHIPLABEL_GENERATED"
    ended = ShipmentEvent.objects.filter(shipment=shipment, data__chain_ended=True).get()
    assert ended.message.startswith("Pack & label done")
    assert _writes(shipment, "createPackages") == 1 and _writes(shipment, "generateShipLabels") == 1


def test_a_chain_past_its_time_queues_its_next_step(amazon, packer, queued, django_capture_on_commit_callbacks):
    shipment, first = _start(amazon, packer, queued, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        services.run_chain(first.pk, seconds=0)
    confirm, packages = _steps(shipment)
    assert (confirm.kind, confirm.status) == ("CONFIRM", State.SUCCEEDED)
    assert (packages.kind, packages.status) == ("CREATE_PACKAGES", State.PENDING)
    assert queued == [packages.pk]


class WorkerLost(BaseException):
    """The worker process dies (SIGKILL, OOM): nothing after this point runs in it."""


def _lose_the_worker_after_the_first_step(monkeypatch, first, django_capture_on_commit_callbacks):
    run = runner._run

    def dies_before_the_second_step(step_id, **kwargs):
        if step_id != first.pk:
            raise WorkerLost
        return run(step_id, **kwargs)

    monkeypatch.setattr(runner, "_run", dies_before_the_second_step)
    with pytest.raises(WorkerLost), django_capture_on_commit_callbacks(execute=True):
        services.run_chain(first.pk, seconds=60)
    monkeypatch.setattr(runner, "_run", run)


def test_the_redelivered_message_of_a_chain_goes_on_with_its_open_step(amazon, packer, queued, monkeypatch,
                                                                      django_capture_on_commit_callbacks):
    """Celery redelivers the task of a pool process that died (acks_late, reject on worker lost):
    its first step is done, so it goes on with the step the dead process left open."""
    shipment, first = _start(amazon, packer, queued, django_capture_on_commit_callbacks)
    _lose_the_worker_after_the_first_step(monkeypatch, first, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        last = services.run_chain(first.pk, seconds=60)
    assert queued == []
    ran = _steps(shipment)
    assert [s.kind for s in ran] == EASY_SHIP_CHAIN and all(s.status == State.SUCCEEDED for s in ran)
    assert last.pk == ran[-1].pk and ran[0].attempts == 1  # the first step was not run again
    assert _writes(shipment, "processShipment") == 1 and _writes(shipment, "createPackages") == 1
    calls = AmazonCall.objects.filter(shipment_id=shipment.amazon_id).count()
    with django_capture_on_commit_callbacks(execute=True):  # once more: the chain is over, nothing runs
        assert services.run_chain(first.pk, seconds=60).pk == first.pk
    assert AmazonCall.objects.filter(shipment_id=shipment.amazon_id).count() == calls


def test_a_worker_lost_mid_chain_leaves_a_pending_step_the_reconciler_queues(amazon, packer, queued, settings,
                                                                              monkeypatch,
                                                                              django_capture_on_commit_callbacks):
    settings.SHIPMENT_STEP_PENDING_GRACE_SECONDS = 30
    shipment, first = _start(amazon, packer, queued, django_capture_on_commit_callbacks)
    _lose_the_worker_after_the_first_step(monkeypatch, first, django_capture_on_commit_callbacks)
    confirm, packages = _steps(shipment)
    assert confirm.status == State.SUCCEEDED
    assert (packages.kind, packages.status, packages.attempts) == ("CREATE_PACKAGES", State.PENDING, 0)
    assert queued == []  # its message was never sent: the chain lives on the step row
    assert packages.pk not in services.stalled_step_ids()  # within its grace period
    ShipmentStep.objects.filter(pk=packages.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=31))
    assert services.reconcile_steps() == [packages.pk]
    assert queued == [packages.pk]
    with django_capture_on_commit_callbacks(execute=True):  # a live worker takes the message
        services.run_chain(queued.pop(), seconds=60)
    assert queued == []
    ran = _steps(shipment)
    assert [s.kind for s in ran] == EASY_SHIP_CHAIN and all(s.status == State.SUCCEEDED for s in ran)
    assert _writes(shipment, "processShipment") == 1 and _writes(shipment, "createPackages") == 1
