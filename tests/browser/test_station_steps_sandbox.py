"""The station's backend work against the real sandbox over HTTP, no browser: the Pack & label
chain the worker carries on by itself (the page is closed here), and a rejection with a reason
per line."""

import pytest

from fulfillment.amazon.client import AmazonClient
from fulfillment.documents.models import Document
from fulfillment.shipments import services, workflow
from fulfillment.shipments.models import Package, Shipment, ShipmentEvent, ShipmentStep
from fulfillment.stations.models import Station
from tests.shipments import factories

pytestmark = pytest.mark.django_db
LOCATION = "SANDBOX-LOC-1"
BOX = {"length": "30", "width": "25", "height": "15", "dimension_unit": "CM", "weight": "520", "weight_unit": "G"}


@pytest.fixture
def amazon(sandbox_settings, settings):
    settings.AMAZON_RATE_LIMITS = {"*": "1000/1000"}
    settings.AMAZON_RETRY_ATTEMPTS = 2
    settings.AMAZON_RETRY_INITIAL_WAIT_SECONDS = 0.01
    settings.AMAZON_RETRY_MAX_WAIT_SECONDS = 0.05
    return sandbox_settings


@pytest.fixture
def worker(monkeypatch, django_capture_on_commit_callbacks):
    """Plays the Celery worker: `worker(ask)` calls `ask()` (which requests a step), then runs every
    queued step in order, including those a finished step queues. Returns the steps it ran."""
    queued = []
    monkeypatch.setattr(services.steps, "enqueue_step", queued.append)

    def work(ask):
        with django_capture_on_commit_callbacks(execute=True):  # the test's transaction never commits
            ask()
        ran = []
        while queued:
            with django_capture_on_commit_callbacks(execute=True):
                ran.append(services.run_step(queued.pop(0)))
        return ran

    return work


@pytest.fixture
def packer(django_user_model):
    return django_user_model.objects.create_user("pat", password="x")


def _station(printer, **extra):
    host, port = printer.server_address
    return Station.objects.create(name="Bench 1", location_id=LOCATION, printer_host=host, printer_port=port, **extra)


def _new(amazon, **spec):
    made = amazon.create_shipment(location_id=LOCATION, **spec)
    return services.refresh_shipment(made["id"])


def _chain(shipment):
    steps = list(ShipmentStep.objects.filter(shipment=shipment).exclude(kind="REFRESH").order_by("-created_at", "-id"))
    events = list(ShipmentEvent.objects.filter(shipment=shipment).order_by("-created_at", "-id"))
    from django.utils import timezone

    return workflow.chain_progress(steps, events, chain=services.PACK_AND_LABEL, now=timezone.now())


def test_pack_and_label_runs_to_the_printed_label_without_the_page(amazon, worker, packer, label_printer):
    station = _station(label_printer)
    shipment = _new(amazon, programme="seller_flex", marketplace="IN", skus=["MILTON-THERMO-1000-SS"],
                    label_format="ZPL")
    ran = worker(lambda: services.start_pack_and_label(shipment, BOX, packer, station=station))
    assert [step.kind for step in ran] == ["CONFIRM", "CREATE_PACKAGES", "INVOICE", "LABELS"]
    assert all(step.status == "SUCCEEDED" and step.payload["chain"] == services.PACK_AND_LABEL for step in ran)
    assert all(step.requested_by == packer for step in ran)
    assert amazon.state(shipment.amazon_id)["shipment"]["status"] == "SHIPLABEL_GENERATED"
    package = Shipment.objects.get(pk=shipment.pk).packages.get()
    assert (package.length, package.weight, package.weight_unit) == (30, 520, "G")
    labels = [bytes(d.content) for d in Document.objects.filter(shipment=shipment, kind="LABEL", superseded=False)]
    assert label_printer.jobs == labels and labels[0].lstrip().startswith(b"^XA")
    package.refresh_from_db()
    assert package.label_printed_at is not None
    progress = _chain(shipment)
    assert not progress.running and progress.done
    assert progress.message == "Pack & label done: 1 label printed on Bench 1's printer."
    assert workflow.next_action(Shipment.objects.get(pk=shipment.pk)).kind == "SHIP"  # the packer ships it


def test_easy_ship_chain_takes_the_recommended_option_and_the_invoice(amazon, worker, packer, label_printer):
    station = _station(label_printer)
    shipment = _new(amazon, programme="easy_ship", marketplace="IN", skus=["MILTON-THERMO-1000-SS"],
                    label_format="ZPL")
    ran = worker(lambda: services.start_pack_and_label(shipment, BOX, packer, station=station))
    assert [step.kind for step in ran] == ["CONFIRM", "CREATE_PACKAGES", "SHIPPING_OPTIONS", "INVOICE", "LABELS"]
    shipment = Shipment.objects.get(pk=shipment.pk)
    assert shipment.selected_shipping_option.is_recommended
    assert len(label_printer.jobs) == 1 and _chain(shipment).done


def test_a_failed_step_ends_the_chain_and_nothing_more_is_sent(amazon, worker, packer, label_printer):
    station = _station(label_printer)
    shipment = _new(amazon, programme="seller_flex", marketplace="IN", skus=["MILTON-THERMO-1000-SS"])
    amazon.faults(operations=["generateInvoice"], error_rate=1, error_status=503, count=50)
    ran = worker(lambda: services.start_pack_and_label(shipment, BOX, packer, station=station))
    assert [(step.kind, step.status) for step in ran] == [
        ("CONFIRM", "SUCCEEDED"), ("CREATE_PACKAGES", "SUCCEEDED"), ("INVOICE", "FAILED")]
    assert not amazon.calls(operation="generateShipLabels", shipment_id=shipment.amazon_id)
    assert not label_printer.jobs and not _chain(shipment).running


def test_an_unreachable_printer_ends_the_chain_with_the_printers_words(amazon, worker, packer):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    station = Station.objects.create(name="Bench 2", location_id=LOCATION, printer_host="127.0.0.1", printer_port=port)
    shipment = _new(amazon, programme="seller_flex", marketplace="IN", skus=["MILTON-THERMO-1000-SS"],
                    label_format="ZPL")
    worker(lambda: services.start_pack_and_label(shipment, BOX, packer, station=station))
    progress = _chain(shipment)
    assert not progress.running and not progress.done
    assert progress.message.startswith("Pack & label: labels stored but not printed.")
    assert ShipmentEvent.objects.filter(shipment=shipment, kind="PRINT_FAILED").exists()
    assert workflow.next_action(Shipment.objects.get(pk=shipment.pk)).kind == "PRINT_LABELS"


def test_pdf_labels_go_to_the_zebra_as_zpl(amazon, worker, packer, label_printer):
    station = _station(label_printer)
    shipment = _new(amazon, programme="seller_flex", marketplace="IN", skus=["MILTON-THERMO-1000-SS"],
                    label_format="PDF")
    worker(lambda: services.start_pack_and_label(shipment, BOX, packer, station=station))
    progress = _chain(shipment)
    assert progress.done and progress.browser_labels == ()
    assert len(label_printer.jobs) == 1 and label_printer.jobs[0].startswith(b"^XA") and b"^GFA" in label_printer.jobs[0]
    assert Package.objects.get(shipment=shipment).label_printed_at is not None


def test_pdf_labels_are_left_for_the_page_to_print_without_a_label_printer(amazon, worker, packer):
    station = Station.objects.create(name="Bench 3", location_id=LOCATION)
    shipment = _new(amazon, programme="seller_flex", marketplace="IN", skus=["MILTON-THERMO-1000-SS"],
                    label_format="PDF")
    worker(lambda: services.start_pack_and_label(shipment, BOX, packer, station=station))
    progress = _chain(shipment)
    label = Document.objects.get(shipment=shipment, kind="LABEL", superseded=False)
    assert progress.done and progress.browser_labels == (label.pk,)


def test_rejection_sends_each_lines_own_reason_to_amazon(amazon, worker, packer, monkeypatch):
    shipment = _new(amazon, programme="easy_ship", marketplace="IN",
                    skus=["MILTON-THERMO-1000-SS", "CAMEL-ACRYLIC-24SET"], units=[1, 2])
    first, second = shipment.line_items.order_by("id")
    sent = []
    real_call = AmazonClient._call

    def spy(self, operation, **kwargs):  # what goes on the wire, as the client serialises it
        if operation == "processShipment":
            sent.append(kwargs["body"].model_dump(mode="json", by_alias=True, exclude_none=True))
        return real_call(self, operation, **kwargs)

    monkeypatch.setattr(AmazonClient, "_call", spy)
    reasons = {first.line_item_id: "OUT_OF_STOCK", second.line_item_id: "CUSTOMER_REQUESTED"}
    [step] = worker(lambda: services.request_step(shipment, "REJECT", packer,
                                                  {"reason": "OUT_OF_STOCK", "reasons": reasons}))
    assert step.status == "SUCCEEDED", step.error_message
    assert {item["lineItem"]["id"]: item["reason"] for item in sent[0]["lineItems"]} == reasons
    assert {item["lineItem"]["id"]: item["lineItem"]["quantity"] for item in sent[0]["lineItems"]} == {
        first.line_item_id: 1, second.line_item_id: 2}
    assert [c["status"] for c in amazon.calls(operation="processShipment", shipment_id=shipment.amazon_id)] == [204]
    assert amazon.state(shipment.amazon_id)["shipment"]["status"] == "CANCELLED"


def test_a_rejection_reason_amazon_does_not_know_is_refused_before_sending(packer):
    shipment = factories.shipment(lines=(("SKU-A", 1), ("SKU-B", 1)))
    with pytest.raises(workflow.StepNotAllowed, match="Choose why"):
        services.request_step(shipment, "REJECT", packer, {"reason": "OUT_OF_STOCK",
                                                            "reasons": {"1": "OUT_OF_STOCK", "2": "BORED"}})
