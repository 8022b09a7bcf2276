"""A label purchase whose answer was lost, against the real sandbox over HTTP: the package waits
(nothing is bought again) until a supervisor says what Seller Central shows: the label's shipment id,
read from Amazon and kept as if bought here, or that none was bought, and the packer buys again."""

import uuid

import pytest
from django.contrib.auth.models import Group

from fulfillment.accounts import roles
from fulfillment.amazon.client import get_client
from fulfillment.documents.models import Document
from fulfillment.shipments import selectors, services, workflow
from fulfillment.shipments.models import Package, ShipmentEvent, ShipmentStep
from tests.shipments.test_mfn_sandbox import boxes, new_order, run

pytestmark = pytest.mark.django_db
Kind, State = ShipmentStep.Kind, ShipmentStep.State


@pytest.fixture
def supervisor(django_user_model):
    user = django_user_model.objects.create_user("sam", password="x", first_name="Sam", last_name="Lead")
    user.groups.add(Group.objects.get_or_create(name=roles.SUPERVISOR)[0])
    return user


def lost_purchase(amazon, packer, capture, *, bought=True, skus=("LEGO-60337-CITY",)):
    """An order packed in one box whose createShipment answer is lost: a 500 after Amazon sold the
    label (bought) or before it did (not bought)."""
    _, order = new_order(amazon, marketplace="US", skus=list(skus), ship_by_hours=30)
    services.save_packages(order, boxes(order), packer)
    [package] = order.packages.all()
    amazon.faults(operations=["createShipment"], error_rate=1.0, error_status=500, count=1, apply=bought)
    step = run(order, Kind.MFN_BUY_LABEL, packer, {"package": package.pk}, expect=State.FAILED, capture=capture)
    assert "Do not buy again" in step.error_message and "supervisor" in step.error_message
    package.refresh_from_db()
    assert package.label_status == Package.LabelStatus.UNKNOWN and not package.label_shipment_id
    assert workflow.next_action(order).kind == workflow.LABEL_CHECK
    with pytest.raises(services.StepNotAllowed, match="Seller Central"):
        services.request_step(order, Kind.MFN_BUY_LABEL, packer, {"package": package.pk})
    return order, package


def adopt(order, package, supervisor, shipment_id, capture, *, expect=State.SUCCEEDED):
    return run(order, Kind.MFN_ADOPT_LABEL, supervisor, {"package": package.pk, "label_shipment_id": shipment_id},
               expect=expect, capture=capture)


def test_a_label_bought_whose_answer_was_lost_is_taken_from_seller_central_and_the_package_goes_on(
        amazon, packer, supervisor, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    order, package = lost_purchase(amazon, packer, capture)
    [sold] = amazon.mfn_shipments(order.amazon_id)  # what Seller Central shows
    step = adopt(order, package, supervisor, sold["ShipmentId"], capture)
    package.refresh_from_db()
    assert package.label_shipment_id == sold["ShipmentId"] and package.tracking_id == sold["TrackingId"]
    assert package.label_status == Package.LabelStatus.READY and package.label_cost is not None
    label = selectors.current_documents(order, Document.Kind.LABEL).get()
    assert label.tracking_id == sold["TrackingId"] and step.result["documents"] == [label.pk]
    note = order.events.get(kind=ShipmentEvent.Kind.NOTE, data__adopted=True)
    assert note.user == supervisor and "Sam Lead" in note.message and sold["ShipmentId"] in note.message
    assert workflow.next_action(order).kind == workflow.PRINT_LABELS  # on as if bought here
    assert len(amazon.mfn_shipments(order.amazon_id)) == 1  # nothing bought again
    assert len(amazon.calls(operation="createShipment")) == 1


def test_no_label_bought_lets_the_packer_buy_again_once(amazon, packer, supervisor,
                                                        django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    order, package = lost_purchase(amazon, packer, capture, bought=False)
    assert amazon.mfn_shipments(order.amazon_id) == []
    services.mfn.label_not_bought(order, package.pk, supervisor)
    note = order.events.get(kind=ShipmentEvent.Kind.NOTE, data__not_bought=True)
    assert note.user == supervisor and "no label was bought" in note.message
    with pytest.raises(services.StepNotAllowed, match="not in doubt"):  # said once
        services.mfn.label_not_bought(order, package.pk, supervisor)
    run(order, Kind.MFN_BUY_LABEL, packer, {"package": package.pk}, capture=capture)
    package.refresh_from_db()
    assert package.label_status == Package.LabelStatus.READY and len(amazon.mfn_shipments(order.amazon_id)) == 1


def test_wrong_label_ids_leave_the_package_in_doubt_with_a_message_saying_why(
        amazon, packer, supervisor, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    other, other_package = lost_purchase(amazon, packer, capture)  # another order's label, bought and lost
    [elsewhere] = amazon.mfn_shipments(other.amazon_id)
    order, package = lost_purchase(amazon, packer, capture)
    [sold] = amazon.mfn_shipments(order.amazon_id)

    step = adopt(order, package, supervisor, str(uuid.uuid4()), capture, expect=State.FAILED)  # Amazon's 404
    assert "Amazon knows no label with shipment id" in step.error_message
    step = adopt(order, package, supervisor, elsewhere["ShipmentId"], capture, expect=State.FAILED)
    assert f"for order {other.amazon_id}, not {order.amazon_id}" in step.error_message
    adopt(other, other_package, supervisor, elsewhere["ShipmentId"], capture)
    with get_client() as client:
        client.cancel_mfn_shipment(sold["ShipmentId"])  # voided in Seller Central meanwhile
    step = adopt(order, package, supervisor, sold["ShipmentId"], capture, expect=State.FAILED)
    assert "is voided in Seller Central" in step.error_message
    package.refresh_from_db()
    assert package.label_status == Package.LabelStatus.UNKNOWN and not package.label_shipment_id
    assert workflow.next_action(order).kind == workflow.LABEL_CHECK


def test_a_label_another_package_holds_is_not_taken_twice(amazon, packer, supervisor,
                                                          django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    _, order = new_order(amazon, marketplace="US", skus=["LEGO-60337-CITY"], units=2, ship_by_hours=30)
    sku = order.line_items.get().merchant_sku
    services.save_packages(order, boxes(order, {sku: 1}, {sku: 1}), packer)
    first, second = order.packages.all()
    run(order, Kind.MFN_BUY_LABEL, packer, {"package": first.pk}, capture=capture)
    first.refresh_from_db()
    amazon.faults(operations=["createShipment"], error_rate=1.0, error_status=500, count=1, apply=False)
    run(order, Kind.MFN_BUY_LABEL, packer, {"package": second.pk}, expect=State.FAILED, capture=capture)
    step = adopt(order, second, supervisor, first.label_shipment_id, capture, expect=State.FAILED)
    assert f"already package {first.position}'s" in step.error_message

