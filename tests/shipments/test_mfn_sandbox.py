"""Seller-fulfilled (MFN) Amazon orders at the station, against the real sandbox over HTTP: the sync
brings them into the queue, a label is bought (the cheapest in time), the package confirmed under a
reference id stored first, two packages one by one, store pickup, voiding and correcting."""

import pytest

from fulfillment.amazon.client import get_client
from fulfillment.amazon.models import AmazonCall
from fulfillment.documents.models import Document
from fulfillment.sandbox.core.catalogue import LOCATIONS
from fulfillment.shipments import selectors, services, workflow
from fulfillment.shipments.models import Channel, Package, Programme, Shipment, ShipmentStep, Status
from fulfillment.shipments.workflow import PackageInput, PackageItemInput

pytestmark = pytest.mark.django_db
Kind, State = ShipmentStep.Kind, ShipmentStep.State


def run(shipment, kind, user, payload=None, *, expect=State.SUCCEEDED, capture):
    with capture(execute=False):
        step = services.request_step(shipment, kind, user, payload)
    step = services.run_step(step.pk)
    assert step.status == expect, step.error_message
    shipment.refresh_from_db()
    return step


def sync(**kw):
    return services.sync_mfn_account("default", locations={LOCATIONS[0], LOCATIONS[1]}, force=True, **kw)


def new_order(amazon, **shape):
    """A new order in the sandbox, listed at once (no listing lag), read into our tables by the sync."""
    amazon.configure(orders_list_lag_seconds=0)
    state = amazon.create_order(**shape)
    sync()
    return state, Shipment.objects.get(amazon_id=state["order"]["AmazonOrderId"])


def boxes(shipment, *split):
    """One package per entry of `split` ({sku: units}); default: everything in one box."""
    lines = {line.merchant_sku: line for line in shipment.line_items.all()}
    split = split or ({sku: line.number_of_units for sku, line in lines.items()},)
    packages = []
    for box in split:
        items = [PackageItemInput(lines[sku].line_item_id, n,
                                  [f"SN-{shipment.amazon_id}-{sku}-{len(packages)}-{k}" for k in range(n)]
                                  if lines[sku].serials_required else [])
                 for sku, n in box.items()]
        packages.append(PackageInput(length=30, width=20, height=10, weight=900, items=items))
    return packages


def test_the_sync_brings_mfn_orders_into_the_queue_and_reads_items_once(amazon, packer):
    result = sync()
    orders = Shipment.objects.filter(channel=Channel.MFN)
    assert result.created == orders.count() > 5
    assert set(orders.values_list("status", flat=True)) <= {Status.UNSHIPPED, Status.PARTIALLY_SHIPPED}
    assert set(orders.values_list("programme", flat=True)) == {Programme.MFN}
    two_units = orders.get(raw__order__MarketplaceId="A21TJRUUN4KGV", units_count=2, is_store_pickup=False,
                           line_items__merchant_sku="MILTON-THERMO-1000-SS")
    assert two_units.line_items.get().number_of_units == 2
    assert orders.filter(is_store_pickup=True).count() == 2
    queue = selectors.queue_for_location(LOCATIONS[0])
    assert any(s.programme == Programme.MFN for s in queue.shipments)
    item_reads = AmazonCall.objects.filter(operation="getOrderItems").count()
    assert item_reads == result.created
    again = sync()
    assert again.created == 0 and AmazonCall.objects.filter(operation="getOrderItems").count() == item_reads


def test_one_package_label_bought_cheapest_in_time_printed_and_confirmed(amazon, packer, django_capture_on_commit_callbacks):
    state, order = new_order(amazon, marketplace="US", skus=["LEGO-60337-CITY"], ship_by_hours=30)
    assert workflow.next_action(order).kind == workflow.PACK
    services.save_packages(order, boxes(order), packer)
    [package] = order.packages.all()
    assert workflow.next_action(order).kind == Kind.MFN_BUY_LABEL

    run(order, Kind.MFN_SERVICES, packer, {"package": package.pk}, capture=django_capture_on_commit_callbacks)
    offers = list(package.shipping_options.all())
    in_time = [o for o in offers if o.raw["in_time"]]
    cheapest = min(in_time, key=lambda o: float(o.raw["rate"]))
    assert [o for o in offers if o.is_recommended] == [cheapest]

    run(order, Kind.MFN_BUY_LABEL, packer, {"package": package.pk}, capture=django_capture_on_commit_callbacks)
    package.refresh_from_db()
    assert package.service_id == cheapest.option_id and package.label_status == Package.LabelStatus.READY
    assert package.tracking_id and package.label_shipment_id and not package.reference_id
    [label] = selectors.current_documents(order, Document.Kind.LABEL)
    assert label.original_format in {"ZPL", "PNG", "PDF"} and label.tracking_id == package.tracking_id
    [bought] = amazon.mfn_shipments(order.amazon_id)
    assert bought["TrackingId"] == package.tracking_id
    assert workflow.next_action(order).kind == workflow.PRINT_LABELS
    services.record_label_printed(label, packer)
    assert workflow.next_action(order).kind == Kind.MFN_CONFIRM

    step = run(order, Kind.MFN_CONFIRM, packer, {"package": package.pk}, capture=django_capture_on_commit_callbacks)
    package.refresh_from_db()
    assert package.reference_id == "1" and step.result["reference_id"] == "1" and package.is_shipped
    assert order.status == Status.SHIPPED and workflow.next_action(order) is None
    held = amazon.order_state(order.amazon_id)
    assert held["order"]["OrderStatus"] == "Shipped"
    assert list(held["confirmations"]) == ["1"]
    assert len(amazon.calls(operation="confirmShipment", order_id=order.amazon_id)) == 1


def test_a_label_that_confirms_the_order_is_adopted_not_confirmed_again(amazon, packer,
                                                                       django_capture_on_commit_callbacks):
    amazon.configure(mfn_label_confirms_shipment=True)
    _, order = new_order(amazon, marketplace="US", skus=["LEGO-60337-CITY"], units=2, ship_by_hours=30)
    services.save_packages(order, boxes(order, {"LEGO-60337-CITY": 1}, {"LEGO-60337-CITY": 1}), packer)
    first, second = order.packages.order_by("position")
    run(order, Kind.MFN_BUY_LABEL, packer, {"package": second.pk}, capture=django_capture_on_commit_callbacks)
    run(order, Kind.MFN_BUY_LABEL, packer, {"package": first.pk}, capture=django_capture_on_commit_callbacks)
    # Amazon confirmed "1" for the second package's label and "2" for the first: both are adopted.
    run(order, Kind.MFN_CONFIRM, packer, {"package": first.pk}, capture=django_capture_on_commit_callbacks)
    first.refresh_from_db()
    assert first.reference_id == "2" and first.is_shipped
    run(order, Kind.MFN_CONFIRM, packer, {"package": second.pk}, capture=django_capture_on_commit_callbacks)
    second.refresh_from_db()
    assert second.reference_id == "1" and order.status == Status.SHIPPED
    assert sorted(amazon.order_state(order.amazon_id)["confirmations"]) == ["1", "2"]
    assert amazon.calls(operation="confirmShipment", order_id=order.amazon_id) == []


def test_two_packages_confirmed_one_by_one(amazon, packer, django_capture_on_commit_callbacks):
    _, order = new_order(amazon, marketplace="IN", skus=["MILTON-THERMO-1000-SS"], units=2, ship_by_hours=40)
    services.save_packages(order, boxes(order, {"MILTON-THERMO-1000-SS": 1}, {"MILTON-THERMO-1000-SS": 1}), packer)
    first, second = order.packages.order_by("position")
    for package, status in ((first, Status.PARTIALLY_SHIPPED), (second, Status.SHIPPED)):
        run(order, Kind.MFN_BUY_LABEL, packer, {"package": package.pk}, capture=django_capture_on_commit_callbacks)
        package.refresh_from_db()
        services.record_label_printed(package.documents.get(superseded=False), packer)
        run(order, Kind.MFN_CONFIRM, packer, {"package": package.pk}, capture=django_capture_on_commit_callbacks)
        assert order.status == status
        assert amazon.order_state(order.amazon_id)["order"]["OrderStatus"] == {
            Status.PARTIALLY_SHIPPED: "PartiallyShipped", Status.SHIPPED: "Shipped"}[status]
    assert sorted(order.packages.values_list("reference_id", flat=True)) == ["1", "2"]


def test_void_label_then_buy_again_and_correct_a_confirmation(amazon, packer, django_capture_on_commit_callbacks):
    _, order = new_order(amazon, marketplace="US", skus=["LEGO-60337-CITY"], ship_by_hours=30)
    services.save_packages(order, boxes(order), packer)
    [package] = order.packages.all()
    run(order, Kind.MFN_BUY_LABEL, packer, {"package": package.pk}, capture=django_capture_on_commit_callbacks)
    package.refresh_from_db()
    voided_id = package.label_shipment_id
    run(order, Kind.MFN_VOID_LABEL, packer, {"package": package.pk}, capture=django_capture_on_commit_callbacks)
    package.refresh_from_db()
    assert package.label_voided_at and not selectors.current_documents(order, Document.Kind.LABEL).exists()
    assert {s["ShipmentId"]: s["Status"] for s in amazon.mfn_shipments(order.amazon_id)}[voided_id] == "RefundPending"
    with pytest.raises(services.StepNotAllowed):
        services.request_step(order, Kind.MFN_CONFIRM, packer, {"package": package.pk})  # no live label
    run(order, Kind.MFN_BUY_LABEL, packer, {"package": package.pk}, capture=django_capture_on_commit_callbacks)
    run(order, Kind.MFN_CONFIRM, packer, {"package": package.pk}, capture=django_capture_on_commit_callbacks)
    correction = {"package": package.pk, "carrier_code": "UPS", "tracking_number": "1Z999AA10123456784"}
    run(order, Kind.MFN_CORRECT, packer, correction, capture=django_capture_on_commit_callbacks)
    held = amazon.order_state(order.amazon_id)["confirmations"]["1"]
    assert held["trackingNumber"] == "1Z999AA10123456784"
    package.refresh_from_db()
    assert package.tracking_id == "1Z999AA10123456784" and package.reference_id == "1"


def test_store_pickup_goes_ready_then_picked_up(amazon, packer, django_capture_on_commit_callbacks):
    _, order = new_order(amazon, marketplace="US", skus=["TPLINK-ARCHER-C6"], store_pickup=True)
    assert workflow.next_action(order).kind == Kind.MFN_READY_FOR_PICKUP
    with pytest.raises(services.StepNotAllowed):
        services.request_step(order, Kind.MFN_BUY_LABEL, packer, {"package": 1})
    run(order, Kind.MFN_READY_FOR_PICKUP, packer, capture=django_capture_on_commit_callbacks)
    assert order.status == Status.READY_FOR_PICKUP
    sync()  # Amazon still lists it Unshipped: the sync does not move it back
    order.refresh_from_db()
    assert order.status == Status.READY_FOR_PICKUP
    run(order, Kind.MFN_PICKED_UP, packer, capture=django_capture_on_commit_callbacks)
    assert order.status == Status.SHIPPED
    assert amazon.order_state(order.amazon_id)["order"]["OrderStatus"] == "Shipped"


def test_store_pickup_refused_by_the_buyer_ends_cancelled(amazon, packer, django_capture_on_commit_callbacks):
    _, order = new_order(amazon, marketplace="US", skus=["TPLINK-ARCHER-C6"], store_pickup=True)
    with pytest.raises(services.StepNotAllowed):
        services.request_step(order, Kind.MFN_REFUSED, packer)  # not ready yet
    run(order, Kind.MFN_READY_FOR_PICKUP, packer, capture=django_capture_on_commit_callbacks)
    run(order, Kind.MFN_REFUSED, packer, capture=django_capture_on_commit_callbacks)
    assert order.status == Status.CANCELLED and workflow.next_action(order) is None
    assert amazon.order_state(order.amazon_id)["order"]["OrderStatus"] == "Canceled"


def test_a_bought_label_whose_file_was_refused_is_fetched_again_not_bought_again(amazon, packer, monkeypatch,
                                                                               django_capture_on_commit_callbacks):
    from fulfillment.documents import formats
    from fulfillment.documents.errors import UnreadableDocument

    _, order = new_order(amazon, marketplace="US", skus=["LEGO-60337-CITY"], ship_by_hours=30)
    services.save_packages(order, boxes(order), packer)
    [package] = order.packages.all()

    def refuse(content):  # the seam: what the label bytes are is formats' call
        raise UnreadableDocument("The label file is incomplete or damaged.")

    monkeypatch.setattr(formats, "checked_label", refuse)
    step = run(order, Kind.MFN_BUY_LABEL, packer, {"package": package.pk}, expect=State.FAILED,
               capture=django_capture_on_commit_callbacks)
    assert "bought" in step.error_message and "Get the label again" in step.error_message
    package.refresh_from_db()
    assert package.label_shipment_id and package.label_status == Package.LabelStatus.FAILED
    assert workflow.next_action(order).kind == Kind.MFN_FETCH_LABEL
    monkeypatch.undo()
    run(order, Kind.MFN_FETCH_LABEL, packer, {"package": package.pk}, capture=django_capture_on_commit_callbacks)
    package.refresh_from_db()
    assert package.label_status == Package.LabelStatus.READY
    assert selectors.current_documents(order, Document.Kind.LABEL).get().tracking_id == package.tracking_id
    assert len(amazon.mfn_shipments(order.amazon_id)) == 1  # one label bought, fetched twice


def test_a_label_purchase_resumed_after_its_worker_died_is_never_bought_blindly(amazon, packer,
                                                                               django_capture_on_commit_callbacks):
    from django.utils import timezone

    _, order = new_order(amazon, marketplace="US", skus=["LEGO-60337-CITY"], ship_by_hours=30)
    services.save_packages(order, boxes(order), packer)
    [package] = order.packages.all()

    def died(result):  # a step its worker ran once and did not finish
        with django_capture_on_commit_callbacks(execute=False):
            step = services.request_step(order, Kind.MFN_BUY_LABEL, packer, {"package": package.pk})
        ShipmentStep.objects.filter(pk=step.pk).update(status=State.RUNNING, attempts=1, result=result,
                                                       started_at=timezone.now())
        return services.run_step(step.pk)

    step = died({"create_shipment_sent_at": timezone.now().isoformat()})  # it may have bought the label
    assert step.status == State.FAILED and "Seller Central" in step.error_message
    assert amazon.mfn_shipments(order.amazon_id) == []
    package.refresh_from_db()
    assert package.label_status == Package.LabelStatus.UNKNOWN  # no purchase until a supervisor says
    with pytest.raises(services.StepNotAllowed, match="supervisor"):
        services.request_step(order, Kind.MFN_BUY_LABEL, packer, {"package": package.pk})
    services.mfn.label_not_bought(order, package.pk, packer)  # Seller Central shows none
    step = died({})  # it died before buying: safe to buy now
    assert step.status == State.SUCCEEDED and len(amazon.mfn_shipments(order.amazon_id)) == 1


def test_a_pickup_reported_before_its_worker_died_is_recovered_from_the_order(amazon, packer,
                                                                             django_capture_on_commit_callbacks):
    from django.utils import timezone

    _, order = new_order(amazon, marketplace="US", skus=["TPLINK-ARCHER-C6"], store_pickup=True)
    run(order, Kind.MFN_READY_FOR_PICKUP, packer, capture=django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=False):
        step = services.request_step(order, Kind.MFN_PICKED_UP, packer)
    # Our call reached Amazon, its answer was lost with the worker:
    with get_client() as client:
        client.update_shipment_status(order.amazon_id, marketplace_id=order.marketplace_id, status="PickedUp")
    ShipmentStep.objects.filter(pk=step.pk).update(status=State.RUNNING, attempts=1, started_at=timezone.now())
    step = services.run_step(step.pk)
    order.refresh_from_db()
    assert (step.status, step.result) == (State.SUCCEEDED, {"recovered": True}) and order.status == Status.SHIPPED
    assert len(amazon.calls(operation="updateShipmentStatus", order_id=order.amazon_id)) == 2  # ready, picked up


def test_an_order_amazon_shipped_when_its_label_was_bought_is_shipped_here_by_the_sync(
        amazon, packer, django_capture_on_commit_callbacks):
    amazon.configure(mfn_label_confirms_shipment=True)
    _, order = new_order(amazon, marketplace="US", skus=["LEGO-60337-CITY"], ship_by_hours=30)
    services.save_packages(order, boxes(order), packer)
    [package] = order.packages.all()
    run(order, Kind.MFN_BUY_LABEL, packer, {"package": package.pk}, capture=django_capture_on_commit_callbacks)
    sync()
    order.refresh_from_db()
    package.refresh_from_db()
    assert order.status == Status.SHIPPED and package.is_shipped and workflow.next_action(order) is None


def test_a_lost_ready_for_pickup_answer_is_recognised_as_done_when_sent_again(amazon, packer,
                                                                              django_capture_on_commit_callbacks):
    _, order = new_order(amazon, marketplace="US", skus=["TPLINK-ARCHER-C6"], store_pickup=True)
    # Amazon makes the order ready, then its answer is lost (a 500 after the work is done).
    amazon.faults(operations=["updateShipmentStatus"], error_rate=1.0, error_status=500, count=1, apply=True)
    step = run(order, Kind.MFN_READY_FOR_PICKUP, packer, capture=django_capture_on_commit_callbacks)
    assert order.status == Status.READY_FOR_PICKUP
    assert len(amazon.calls(operation="updateShipmentStatus", order_id=order.amazon_id)) == 2
    assert step.result["recovered"] is True
    note = order.events.get(kind="NOTE")
    assert "already ready for pickup" in note.message and "not yet ready" in note.data["amazon_says"]


def test_a_ready_for_pickup_refused_after_a_lost_answer_on_a_cancelled_order_says_so(
        amazon, packer, django_capture_on_commit_callbacks):
    from django.utils import timezone

    _, order = new_order(amazon, marketplace="US", skus=["TPLINK-ARCHER-C6"], store_pickup=True)
    # A worker sent ReadyForPickup and died without its answer; the buyer cancels meanwhile.
    with django_capture_on_commit_callbacks(execute=False):
        step = services.request_step(order, Kind.MFN_READY_FOR_PICKUP, packer)
    ShipmentStep.objects.filter(pk=step.pk).update(
        status=State.RUNNING, attempts=1, started_at=timezone.now(),
        result={"ready_for_pickup_sent_at": timezone.now().isoformat()})
    amazon.cancel_order(order.amazon_id)
    step = services.run_step(step.pk)
    assert step.status == State.FAILED and "cancelled" in step.error_message
    assert not order.events.filter(kind="NOTE").exists()


def test_a_ready_for_pickup_amazon_refuses_at_once_is_not_taken_as_done(amazon, packer,
                                                                       django_capture_on_commit_callbacks):
    _, order = new_order(amazon, marketplace="US", skus=["TPLINK-ARCHER-C6"], store_pickup=True)
    with get_client() as client:  # made ready elsewhere (Seller Central), unknown to Packbench
        client.update_shipment_status(order.amazon_id, marketplace_id=order.marketplace_id, status="ReadyForPickup")
    step = run(order, Kind.MFN_READY_FOR_PICKUP, packer, expect=State.FAILED, capture=django_capture_on_commit_callbacks)
    assert "not yet ready" in step.error_message and order.status == Status.UNSHIPPED
