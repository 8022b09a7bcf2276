"""Against the real sandbox: answers that leave the outcome unknown, a package already shipped by
the carrier's scan, rejection, package changes after the invoice, and printing to a real socket."""

import threading
import time
from decimal import Decimal

import pytest

from fulfillment.documents.models import Document
from fulfillment.printers.virtual import VirtualPrinter
from fulfillment.printers.zebra import PrinterError
from fulfillment.shipments import selectors, services, workflow
from fulfillment.shipments.models import Package, ShipmentEvent, ShipmentStep
from fulfillment.stations.models import Station

from .factories import INDIA, US
from .sandbox_helpers import create_shipment, package_ids_at_amazon
from .test_flows_sandbox import one_box, run, work_through, work_through_until_labels

pytestmark = pytest.mark.django_db
Kind, State = ShipmentStep.Kind, ShipmentStep.State


def test_a_5xx_after_amazon_did_the_step_counts_as_done(amazon, packer, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    shipment = create_shipment(amazon, programme="EASY_SHIP", marketplace_id=INDIA)
    run(shipment, Kind.CONFIRM, packer, capture=capture)
    services.save_packages(shipment, one_box(shipment), packer)
    # Amazon stores the packages, then the answer is lost in a 503.
    amazon.faults(operations=["createPackages"], error_rate=1.0, error_status=503, apply=True, count=1)
    step = run(shipment, Kind.CREATE_PACKAGES, packer, capture=capture)
    assert step.result == {"recovered": True}
    assert shipment.status == "PACKAGE_CREATED"
    assert set(shipment.packages.values_list("state", flat=True)) == {Package.State.CONFIRMED}
    assert len(amazon.calls("createPackages", shipment.amazon_id)) == 1  # not sent again
    assert package_ids_at_amazon(amazon, shipment) == sorted(shipment.packages.values_list("package_id", flat=True))


def test_a_5xx_before_amazon_acted_is_re_read_and_sent_again(amazon, packer, django_capture_on_commit_callbacks):
    shipment = create_shipment(amazon, programme="EASY_SHIP", marketplace_id=INDIA)
    amazon.faults(operations=["processShipment"], error_rate=1.0, error_status=500, count=1)
    step = run(shipment, Kind.CONFIRM, packer, capture=django_capture_on_commit_callbacks)
    assert step.attempts == 1 and step.result == {"status": "CONFIRMED"}
    # Sent twice, done once: the re-read between them showed Amazon had not confirmed it.
    assert [c["status"] for c in amazon.calls("processShipment", shipment.amazon_id)] == [500, 204]
    history = [entry["by"] for entry in amazon.state(shipment.amazon_id)["history"]]
    assert history.count("processShipment CONFIRM") == 1


def test_a_5xx_that_persists_fails_the_step_and_keeps_the_request(amazon, packer,
                                                                  django_capture_on_commit_callbacks):
    shipment = create_shipment(amazon, programme="EASY_SHIP", marketplace_id=INDIA)
    amazon.faults(operations=["processShipment"], error_rate=1.0, error_status=500, count=services.STEP_RUNS)
    failed = run(shipment, Kind.REJECT, packer, {"reason": "OUT_OF_STOCK"}, expect=State.FAILED,
                 capture=django_capture_on_commit_callbacks)
    assert failed.payload == {"reason": "OUT_OF_STOCK"} and "Amazon" in failed.error_message
    assert len(amazon.calls("processShipment", shipment.amazon_id)) == services.STEP_RUNS
    assert shipment.status == "ACCEPTED"
    assert shipment.events.filter(kind=ShipmentEvent.Kind.STEP_FAILED).exists()
    run(shipment, Kind.REJECT, packer, {"reason": "OUT_OF_STOCK"}, capture=django_capture_on_commit_callbacks)
    assert shipment.status == "CANCELLED" and shipment.cancellation_type == "SELLER_REJECTED"
    assert workflow.next_action(shipment) is None


def test_package_already_shipped_by_the_carrier_scan_counts_as_shipped(amazon, packer,
                                                                       django_capture_on_commit_callbacks):
    shipment = create_shipment(amazon, programme="SELLER_FLEX", marketplace_id=INDIA)
    work_through_until_labels(shipment, packer, django_capture_on_commit_callbacks)
    amazon.carrier_scan(shipment.amazon_id)  # Amazon marks it shipped at pickup; we do not know yet
    step = run(shipment, Kind.SHIP, packer, capture=django_capture_on_commit_callbacks)
    assert shipment.status == "SHIPPED" and step.result["packages"] == [shipment.packages.get().package_id]
    assert shipment.packages.get().is_shipped


def test_changing_a_package_after_the_invoice_walks_back_and_ships(amazon, packer,
                                                                   django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    shipment = create_shipment(amazon, programme="EASY_SHIP", marketplace_id=INDIA)
    while shipment.status != "INVOICE_GENERATED":
        work_through_step(shipment, packer, capture)
    package = shipment.packages.get()
    changed = one_box(shipment)
    changed[0].weight, changed[0].package_id = Decimal("650"), package.package_id
    with capture(execute=False):
        step = services.submit_packages(shipment, changed, packer)
    assert step.kind == Kind.UPDATE_PACKAGE
    services.run_step(step.pk)
    shipment.refresh_from_db()
    assert shipment.status == "PACKAGE_CREATED" and shipment.selected_shipping_option is None
    at_amazon = amazon.state(shipment.amazon_id)["shipment"]["packages"][0]
    assert at_amazon["id"] == package.package_id and Decimal(str(at_amazon["weight"]["value"])) == Decimal("650")
    assert not selectors.current_documents(shipment, Document.Kind.INVOICE).exists()  # the old one is void
    done = work_through(shipment, packer, capture)
    assert done[:3] == [Kind.SHIPPING_OPTIONS, Kind.INVOICE, Kind.LABELS] and shipment.status == "SHIPPED"


def work_through_step(shipment, user, capture):
    action = workflow.next_action(shipment)
    if action.kind in {workflow.VERIFY, workflow.PACK}:
        services.save_packages(shipment, one_box(shipment), user)
    elif action.kind == workflow.CHOOSE_OPTION:
        services.choose_shipping_option(shipment, shipment.shipping_options.first(), user)
    else:
        run(shipment, action.kind, user, capture=capture)


@pytest.fixture
def printer(tmp_path):
    server = VirtualPrinter(("127.0.0.1", 0), tmp_path)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, tmp_path
    server.shutdown()
    server.server_close()


def test_zpl_label_goes_to_the_station_printer(amazon, packer, printer, django_capture_on_commit_callbacks):
    server, folder = printer
    shipment = create_shipment(amazon, programme="SELF_SHIP", marketplace_id=INDIA, label_format="ZPL")
    work_through_until_labels(shipment, packer, django_capture_on_commit_callbacks, courier={
        "carrier_name": "DTDC", "tracking_id": "D1234"})
    label = Document.objects.get(shipment=shipment, kind=Document.Kind.LABEL, superseded=False)
    assert label.is_zpl and label.tracking_id == "D1234"
    station = Station.objects.create(name="Bench 9", location_id=shipment.location_id,
                                     printer_host="127.0.0.1", printer_port=server.server_address[1])
    services.print_label(label, station=station, user=packer)
    deadline = time.monotonic() + 5  # the printer stores the job once the connection closes
    while not (jobs := list(folder.glob("*.zpl"))) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(jobs) == 1 and jobs[0].read_bytes() == bytes(label.content)
    assert shipment.packages.get().label_printed_at is not None
    assert workflow.next_action(shipment).kind == Kind.SHIP
    station.printer_port = 9  # nothing listens there
    with pytest.raises(PrinterError) as raised:
        services.print_label(label, station=station, user=packer)
    assert raised.value.packer_message
    assert shipment.events.filter(kind=ShipmentEvent.Kind.PRINT_FAILED).exists()


def test_easy_ship_outside_india_gets_our_packing_slip(amazon, packer, django_capture_on_commit_callbacks):
    shipment = create_shipment(amazon, programme="EASY_SHIP", marketplace_id=US)
    assert workflow.packing_slip_needed(shipment) and not workflow.invoice_needed(shipment)
    work_through_until_labels(shipment, packer, django_capture_on_commit_callbacks)
    slip = Document.objects.get(shipment=shipment, kind=Document.Kind.PACKING_SLIP, superseded=False)
    assert bytes(slip.content).startswith(b"%PDF") and slip.pdf() == bytes(slip.content)
    assert not amazon.calls("generateInvoice", shipment.amazon_id)
