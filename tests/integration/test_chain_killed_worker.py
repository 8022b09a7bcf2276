"""A Pack & label chain on a real prefork worker (Redis broker, the real PostgreSQL database, the
sandbox over HTTP): its steps run in the one task of its first step, and a worker SIGKILLed in the
middle of the chain (inside Amazon's createPackages) costs nothing but time: the reconciler hands
the orphaned step to a new worker, which re-reads Amazon, and the chain goes on to its labels with
every write accepted once."""

import time
from collections import Counter

import pytest

from fulfillment.shipments import services
from fulfillment.shipments.models import ShipmentEvent, ShipmentStep

from .conftest import LEASE_SECONDS

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]
State = ShipmentStep.State
SKU = "MILTON-THERMO-1000-SS"
BOX = {"length": "30", "width": "25", "height": "15", "dimension_unit": "CM", "weight": "520", "weight_unit": "G"}
EASY_SHIP_CHAIN = ["CONFIRM", "CREATE_PACKAGES", "SHIPPING_OPTIONS", "INVOICE", "LABELS"]


def _wait(condition, what, workers, process, seconds=30):
    deadline = time.monotonic() + seconds
    while not condition():
        assert process.poll() is None, f"worker died:\n{workers.log(process)}"
        assert time.monotonic() < deadline, f"still waiting for {what}:\n{workers.log(process)}"
        time.sleep(0.1)


def _steps(shipment):
    return list(ShipmentStep.objects.filter(shipment=shipment).order_by("created_at", "id"))


def test_a_chain_runs_in_one_task_and_survives_its_worker_killed_mid_chain(amazon, workers, packer):
    calm = services.refresh_shipment(amazon.create_shipment(programme="easy_ship", marketplace="IN", skus=[SKU])["id"])
    worker = workers.start(concurrency=1)
    services.start_pack_and_label(calm, BOX, packer)  # queued on commit (no transaction here)
    _wait(lambda: ShipmentEvent.objects.filter(shipment=calm, data__chain_ended=True).exists(), "the chain's end",
          workers, worker)
    ran = _steps(calm)
    assert [(s.kind, s.status, s.attempts) for s in ran] == [(kind, State.SUCCEEDED, 1) for kind in EASY_SHIP_CHAIN]
    log = workers.log(worker, tail=10**6)
    assert log.count("run_step_task[") == 2 and "succeeded" in log  # one task: received, succeeded

    shipment = services.refresh_shipment(amazon.create_shipment(programme="easy_ship", marketplace="IN",
                                                                skus=[SKU])["id"])
    amazon.faults(operations=["createPackages"], latency_ms=(LEASE_SECONDS + 4) * 1000)  # the worker dies in it
    services.start_pack_and_label(shipment, BOX, packer)
    _wait(lambda: ShipmentStep.objects.filter(shipment=shipment, kind="CREATE_PACKAGES", status=State.RUNNING).exists(),
          "createPackages in flight", workers, worker)
    time.sleep(1)  # the request is at Amazon, which is slow to answer
    workers.kill(worker)
    amazon.clear_faults()
    confirm, orphan = _steps(shipment)
    assert (confirm.kind, confirm.status) == ("CONFIRM", State.SUCCEEDED)
    assert (orphan.kind, orphan.status) == ("CREATE_PACKAGES", State.RUNNING)  # the chain lives on its steps
    new = workers.start(concurrency=1)
    deadline = time.monotonic() + 90
    while not ShipmentEvent.objects.filter(shipment=shipment, data__chain_ended=True).exists():
        assert time.monotonic() < deadline, [(s.kind, s.status, s.attempts) for s in _steps(shipment)]
        assert new.poll() is None, workers.log(new)
        services.reconcile_steps()  # beat's reconcile-steps
        time.sleep(1)
    ran = _steps(shipment)
    assert [(s.kind, s.status) for s in ran] == [(kind, State.SUCCEEDED) for kind in EASY_SHIP_CHAIN]
    assert ran[1].attempts == 2  # taken over once, after its lease
    history = Counter(entry["by"] for entry in amazon.state(shipment.amazon_id)["history"])
    assert history["createPackages"] == 1 and set(history.values()) == {1}, history  # every write once
    assert amazon.state(shipment.amazon_id)["shipment"]["status"] == "SHIPLABEL_GENERATED"
