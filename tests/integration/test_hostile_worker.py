"""A label source that drips, against a real Celery worker with one slot: the label step gives the
slot back at its download deadline, the next packer's step runs right after, and Amazon is asked to
regenerate the label once, whatever the lease says."""

import time

import pytest

from fulfillment.documents.models import Document
from fulfillment.shipments import services
from fulfillment.shipments.models import Package, ShipmentStep
from tests.hostile import sources
from tests.shipments.factories import US
from tests.shipments.sandbox_helpers import create_shipment
from tests.shipments.test_flows_sandbox import work_through_until_labels

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
Kind, State = ShipmentStep.Kind, ShipmentStep.State
DEADLINE = 3


@pytest.fixture
def hostile(amazon, settings):
    proxy = sources.HostileAmazon(amazon.url)
    settings.AMAZON_ENDPOINT = proxy.url
    settings.AMAZON_LABEL_DOWNLOAD_SECONDS = DEADLINE
    yield proxy
    proxy.close()


def _wait(step, until, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        step.refresh_from_db()
        if until(step):
            return step
        time.sleep(0.1)
    raise AssertionError(f"step {step.pk} ({step.kind}) still {step.status} after {timeout} s")


def test_a_dripping_label_frees_the_only_worker_slot_at_its_deadline(amazon, hostile, workers, packer,
                                                                    django_capture_on_commit_callbacks):
    dripping = create_shipment(amazon, programme="EASY_SHIP", marketplace_id=US, label_format="ZPL")
    other = create_shipment(amazon, programme="EASY_SHIP", marketplace_id=US)
    work_through_until_labels(dripping, packer, django_capture_on_commit_callbacks)  # in-process, before the worker
    good = Document.objects.get(shipment=dripping, kind=Document.Kind.LABEL, superseded=False)

    workers.env.update(AMAZON_ENDPOINT=hostile.url, AMAZON_LABEL_DOWNLOAD_SECONDS=str(DEADLINE))
    workers.start(concurrency=1)
    hostile.serve_label(sources.drip(every=0.5))
    started = time.monotonic()
    label_step = services.request_step(dripping, Kind.LABELS, packer, {"operation": "REGENERATE", "reason": "torn"})
    _wait(label_step, lambda s: s.status == State.RUNNING, 20)
    refresh = services.request_step(other, Kind.REFRESH, packer)  # waits for the one slot

    label_step = _wait(label_step, lambda s: not s.is_open, DEADLINE + 10)
    refresh = _wait(refresh, lambda s: not s.is_open, 15)
    finished = time.monotonic() - started
    assert label_step.status == State.FAILED and "did not finish in time" in label_step.error_message
    assert refresh.status == State.SUCCEEDED
    # The slot was back within the deadline plus the step's own Amazon calls.
    assert finished < DEADLINE + 8, f"the next step finished {finished:.1f} s after the label step started"
    assert refresh.started_at >= label_step.finished_at  # it really waited for the slot
    regenerations = [c for c in amazon.calls("generateShipLabels", dripping.amazon_id)
                     if c["query"].get("operation") == "REGENERATE"]
    assert len(regenerations) == 1
    package = dripping.packages.get()
    assert package.label_status == Package.LabelStatus.FAILED
    assert list(Document.objects.filter(shipment=dripping, kind=Document.Kind.LABEL, superseded=False)) == [good]
