"""An MFN package's confirmation when its worker is SIGKILLed after it stored the packageReferenceId
and before confirmShipment reached Amazon: nothing is lost and Amazon confirms the package once,
under the reference id stored first. Real PostgreSQL, Redis, Celery workers and the sandbox."""

import time

import pytest

from fulfillment.amazon import ratelimit
from fulfillment.sandbox.core.catalogue import LOCATIONS
from fulfillment.shipments import services
from fulfillment.shipments.models import Package, Shipment, ShipmentStep, Status
from fulfillment.shipments.workflow import PackageInput, PackageItemInput

from .conftest import RATE_LIMIT

Kind, State = ShipmentStep.Kind, ShipmentStep.State
# confirmShipment's turns come 10 s apart here: the worker stores the reference id, then waits for
# its turn (the test took the one free now), and is killed while it waits.
CONFIRM_LIMIT = "0.1/1"


@pytest.fixture(autouse=True)
def _fresh_confirm_bucket(settings):
    """confirmShipment's bucket starts empty and is left empty, with no rate learned from an earlier
    answer: the slow turns of one test must not hold back the next one's confirmation, and a rate
    the sandbox announced earlier must not replace this test's."""
    import redis

    def forget():
        redis.Redis.from_url(settings.REDIS_URL).delete(
            f"packbench:ratelimit:{ratelimit._digest('default', 'confirmShipment')}")
        ratelimit.forget_learned_limit("default", "confirmShipment")

    forget()
    yield
    forget()


def wait_for(condition, what, workers, worker, seconds=40):
    deadline = time.monotonic() + seconds
    while not condition():
        assert worker.poll() is None, f"worker died:\n{workers.log(worker)}"
        assert time.monotonic() < deadline, f"still waiting for {what}:\n{workers.log(worker)}"
        time.sleep(0.1)


def _packed_order_with_its_label(amazon, workers, packer):
    """A synced one-unit MFN order, packed in one package whose label a real worker has bought."""
    amazon.configure(orders_list_lag_seconds=0)
    state = amazon.create_order(marketplace="US", skus=["LEGO-60337-CITY"], location_id=LOCATIONS[0])
    services.sync_mfn_account("default", locations={LOCATIONS[0]}, force=True)
    order = Shipment.objects.get(amazon_id=state["order"]["AmazonOrderId"])
    [line] = order.line_items.all()
    services.save_packages(order, [PackageInput(length=30, width=20, height=10, weight=900,
                                                items=[PackageItemInput(line.line_item_id, 1)])], packer)
    package = order.packages.get()
    worker = workers.start(concurrency=1)
    buy = services.request_step(order, Kind.MFN_BUY_LABEL, packer, {"package": package.pk})
    wait_for(lambda: ShipmentStep.objects.get(pk=buy.pk).status == State.SUCCEEDED, "the label", workers, worker)
    return order, package, worker


@pytest.mark.integration
def test_a_worker_killed_between_storing_the_reference_and_confirming_confirms_once(amazon, workers, packer,
                                                                                    settings):
    settings.AMAZON_RATE_LIMITS = {"confirmShipment": CONFIRM_LIMIT, "*": RATE_LIMIT}
    workers.env["AMAZON_RATE_LIMITS"] = f"confirmShipment={CONFIRM_LIMIT},*={RATE_LIMIT}"
    order, package, worker = _packed_order_with_its_label(amazon, workers, packer)

    assert ratelimit.acquire("default", "confirmShipment", timeout=5) is not None  # the free turn is ours
    confirm = services.request_step(order, Kind.MFN_CONFIRM, packer, {"package": package.pk})
    wait_for(lambda: Package.objects.get(pk=package.pk).reference_id, "the stored reference id", workers, worker)
    workers.kill(worker)
    assert Package.objects.get(pk=package.pk).reference_id == "1"
    assert amazon.calls(operation="confirmShipment", order_id=order.amazon_id) == []  # it never left
    assert ShipmentStep.objects.get(pk=confirm.pk).status == State.RUNNING

    new = workers.start(concurrency=1)
    deadline = time.monotonic() + 90
    while ShipmentStep.objects.filter(pk=confirm.pk, status__in=ShipmentStep.OPEN_STATES).exists():
        assert time.monotonic() < deadline, workers.log(new)
        assert new.poll() is None, workers.log(new)
        services.reconcile_steps()  # beat's reconcile-steps
        time.sleep(1)
    step = ShipmentStep.objects.get(pk=confirm.pk)
    assert (step.status, step.attempts) == (State.SUCCEEDED, 2), step.error_message
    package.refresh_from_db()
    order.refresh_from_db()
    assert package.reference_id == "1" and package.is_shipped and order.status == Status.SHIPPED
    held = amazon.order_state(order.amazon_id)
    assert list(held["confirmations"]) == ["1"] and held["order"]["OrderStatus"] == "Shipped"
    accepted = [c for c in amazon.calls(operation="confirmShipment", order_id=order.amazon_id) if c["status"] < 300]
    assert len(accepted) == 1


@pytest.mark.integration
def test_a_worker_killed_while_amazon_confirms_is_recovered_by_reading_the_order(amazon, workers, packer):
    order, package, worker = _packed_order_with_its_label(amazon, workers, packer)

    amazon.faults(operations=["confirmShipment"], latency_ms=1500, count=1)  # Amazon is slow to answer
    confirm = services.request_step(order, Kind.MFN_CONFIRM, packer, {"package": package.pk})
    wait_for(lambda: Package.objects.get(pk=package.pk).reference_id, "the stored reference id", workers, worker)
    time.sleep(0.5)  # the request is in Amazon's hands
    workers.kill(worker)
    new = workers.start(concurrency=1)
    deadline = time.monotonic() + 90
    while ShipmentStep.objects.filter(pk=confirm.pk, status__in=ShipmentStep.OPEN_STATES).exists():
        assert time.monotonic() < deadline, workers.log(new)
        services.reconcile_steps()
        time.sleep(1)
    step = ShipmentStep.objects.get(pk=confirm.pk)
    assert (step.status, step.attempts, step.result) == (State.SUCCEEDED, 2, {"recovered": True}), step.error_message
    package.refresh_from_db()
    order.refresh_from_db()
    assert package.reference_id == "1" and package.is_shipped and order.status == Status.SHIPPED
    assert list(amazon.order_state(order.amazon_id)["confirmations"]) == ["1"]
    assert len(amazon.calls(operation="confirmShipment", order_id=order.amazon_id)) == 1  # never sent again
