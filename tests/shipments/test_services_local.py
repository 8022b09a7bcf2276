"""Services and selectors that need no Amazon call: packages and their ids, the serial registry,
step requests (double click), scan to verify, the queue."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from fulfillment.shipments import selectors, services
from fulfillment.shipments.models import Package, SerialNumber, ShipmentEvent, ShipmentStep
from fulfillment.shipments.workflow import (
    PackageInput,
    PackageItemInput,
    PackageValidationError,
    StepNotAllowed,
)
from fulfillment.stations.models import SkuBarcode

from . import factories as f

pytestmark = pytest.mark.django_db


def box(items, weight="250"):
    return PackageInput(length=Decimal("20"), width=Decimal("15"), height=Decimal("10"), weight=Decimal(weight),
                        items=items)


def test_package_ids_are_stored_before_any_call_and_reused_when_saved_again(packer):
    shipment = f.shipment(status="CONFIRMED", lines=(("SKU-1", 2),))
    first = services.save_packages(shipment, [box([PackageItemInput("1", 1)]), box([PackageItemInput("1", 1)])], packer)
    ids = [p.package_id for p in first]
    assert len(set(ids)) == 2 and all(Package.objects.filter(package_id=i, state="DRAFT").exists() for i in ids)
    again = services.save_packages(shipment, [box([PackageItemInput("1", 2)], weight="400")], packer)
    assert [p.package_id for p in again] == ids[:1]  # same box keeps its id
    assert list(shipment.packages.values_list("package_id", flat=True)) == ids[:1]
    assert shipment.events.filter(kind=ShipmentEvent.Kind.PACKAGES_SAVED, user=packer).count() == 2


def test_invalid_packages_store_nothing(packer):
    shipment = f.shipment(status="CONFIRMED", lines=(("SKU-1", 2),))
    with pytest.raises(PackageValidationError) as raised:
        services.save_packages(shipment, [box([PackageItemInput("1", 1)], weight="2")], packer)
    assert "at least 5 g" in raised.value.packer_message and "1 of 2 units" in raised.value.packer_message
    assert not shipment.packages.exists()


def test_after_amazon_has_packages_only_their_contents_change(packer):
    shipment = f.shipment(status="INVOICE_GENERATED", lines=(("SKU-1", 1),))
    package = f.package(shipment)
    package.sent_payload = services.package_payload(package).to_amazon()
    package.save()
    with pytest.raises(PackageValidationError, match="only their contents can change"):
        services.save_packages(shipment, [box([PackageItemInput("1", 1)]), box([PackageItemInput("1", 0)])], packer)
    same = PackageInput(length=Decimal("10"), width=Decimal("10"), height=Decimal("10"), weight=Decimal("100"),
                        items=[PackageItemInput("1", 1)], package_id=package.package_id)
    services.save_packages(shipment, [same], packer)
    package.refresh_from_db()
    assert package.state == Package.State.CONFIRMED  # nothing changed: no updatePackage needed
    same.weight = Decimal("180")
    services.save_packages(shipment, [same], packer)
    package.refresh_from_db()
    assert package.state == Package.State.DRAFT and package.known_to_amazon
    step = services.submit_packages(shipment, [same], packer)
    assert step.kind == ShipmentStep.Kind.UPDATE_PACKAGE


def test_a_serial_ships_once_across_shipments(packer):
    serial_rule = {"serial_number_requirement": "REQUIRED"}
    first = f.shipment(status="CONFIRMED", lines=(("PHONE", 1),), compliance=serial_rule)
    second = f.shipment(status="CONFIRMED", lines=(("PHONE", 1),), compliance=serial_rule)
    services.save_packages(first, [box([PackageItemInput("1", 1, ["IMEI-1"])])], packer)
    assert selectors.serials_used_elsewhere(["IMEI-1"], exclude_shipment=second) == {"IMEI-1": first.amazon_id}
    with pytest.raises(PackageValidationError, match=f"already used on shipment {first.amazon_id}"):
        services.save_packages(second, [box([PackageItemInput("1", 1, ["IMEI-1"])])], packer)
    # The database refuses it too, whoever writes.
    with pytest.raises(IntegrityError), transaction.atomic():
        SerialNumber.objects.create(serial="IMEI-1", shipment=second,
                                    package_line_item=first.packages.get().items.get())
    # Saving the same shipment again keeps its own serial.
    services.save_packages(first, [box([PackageItemInput("1", 1, ["IMEI-1"])])], packer)
    # A cancelled shipment gives its serials back.
    SerialNumber.objects.filter(shipment=first).update(released=True)
    services.save_packages(second, [box([PackageItemInput("1", 1, ["IMEI-1"])])], packer)
    assert SerialNumber.objects.get(serial="IMEI-1", released=False).shipment == second


def test_double_request_returns_the_same_step_and_queues_once(packer, django_capture_on_commit_callbacks):
    shipment = f.shipment(status="ACCEPTED")
    with django_capture_on_commit_callbacks() as callbacks:
        first = services.request_step(shipment, ShipmentStep.Kind.CONFIRM, packer)
        second = services.request_step(shipment, ShipmentStep.Kind.CONFIRM, packer)
    assert first.pk == second.pk and first.status == ShipmentStep.State.PENDING
    assert len(callbacks) == 1
    assert shipment.steps.count() == 1
    with pytest.raises(StepNotAllowed, match="still running"):
        services.request_step(shipment, ShipmentStep.Kind.REJECT, packer, {"reason": "OUT_OF_STOCK"})
    # The database backs this up: a second open step of one kind cannot exist.
    with pytest.raises(IntegrityError), transaction.atomic():
        ShipmentStep.objects.create(shipment=shipment, kind=ShipmentStep.Kind.CONFIRM)
    ShipmentStep.objects.filter(pk=first.pk).update(status=ShipmentStep.State.FAILED)
    with django_capture_on_commit_callbacks():
        third = services.request_step(shipment, ShipmentStep.Kind.CONFIRM, packer)
    assert third.pk != first.pk


def test_request_for_a_step_out_of_order_is_refused_with_words(packer):
    shipment = f.shipment(status="ACCEPTED")
    with pytest.raises(StepNotAllowed) as raised:
        services.request_step(shipment, ShipmentStep.Kind.SHIP, packer)
    assert raised.value.packer_message == "Confirm the shipment first."
    assert not shipment.steps.exists()


def test_finished_steps_are_not_run_again():
    shipment = f.shipment(status="ACCEPTED")
    step = ShipmentStep.objects.create(shipment=shipment, kind="CONFIRM", status=ShipmentStep.State.SUCCEEDED)
    assert services.run_step(step.pk).attempts == 0


def test_reconciler_picks_lost_and_stalled_steps():
    shipment = f.shipment(status="ACCEPTED")
    old = timezone.now() - timedelta(hours=1)
    lost = ShipmentStep.objects.create(shipment=shipment, kind="CONFIRM", created_at=old, heartbeat_at=old)
    stalled = ShipmentStep.objects.create(shipment=shipment, kind="REFRESH", status="RUNNING", started_at=old,
                                          heartbeat_at=old)
    beating = ShipmentStep.objects.create(shipment=f.shipment(), kind="REFRESH", status="RUNNING", started_at=old,
                                          heartbeat_at=timezone.now())  # started long ago, alive now
    fresh = ShipmentStep.objects.create(shipment=f.shipment(), kind="CONFIRM", heartbeat_at=timezone.now())
    queued = services.stalled_step_ids()
    assert set(queued) == {lost.pk, stalled.pk} and not {fresh.pk, beating.pk} & set(queued)


def test_scan_to_verify(packer):
    shipment = f.shipment(status="CONFIRMED", lines=(("MUG-RED", 2), ("TEA", 1)))
    SkuBarcode.objects.create(barcode="4006381333931", merchant_sku="MUG-RED")
    assert services.verify_scan(shipment, "MUG-RED", packer).ok
    wrong = services.verify_scan(shipment, "SPOON", packer)
    assert not wrong.ok and "WRONG ITEM" in wrong.message and wrong.level == "error"
    by_barcode = services.verify_scan(shipment, "4006381333931", packer)
    assert by_barcode.ok and by_barcode.message.startswith("MUG-RED: 2 of 2")
    too_many = services.verify_scan(shipment, "MUG-RED", packer)
    assert not too_many.ok and "TOO MANY" in too_many.message
    done = services.verify_scan(shipment, "TEA", packer)
    assert done.ok and done.complete
    shipment.refresh_from_db()
    assert shipment.verified_at is not None
    assert shipment.events.filter(kind=ShipmentEvent.Kind.SCAN_REFUSED).count() == 2
    services.reset_verification(shipment, packer)
    assert not services.verify_scan(shipment, "TEA", packer).complete


def test_queue_orders_by_ship_by_then_priority_in_one_query(django_assert_num_queries):
    now = timezone.now()
    late = f.shipment(status="ACCEPTED", ship_by=now + timedelta(hours=5), priority="HIGH", lines=(("A", 1), ("B", 1)),
                      units_count=2, gift_wrap=True)
    soon_low = f.shipment(status="CONFIRMED", ship_by=now + timedelta(hours=1), priority="LOW")
    soon_high = f.shipment(status="PACKAGE_CREATED", ship_by=now + timedelta(hours=1), priority="HIGH")
    f.shipment(status="SHIPPED", ship_by=now)
    elsewhere = f.shipment(status="ACCEPTED", ship_by=now)
    elsewhere.location_id = "ELSEWHERE"
    elsewhere.save()
    with django_assert_num_queries(1):  # the rows and the count together; what a row shows needs no more
        queue = selectors.queue_for_location("LOC")
        shown = [(s.amazon_id, s.buyer_order_id, s.get_programme_display(), s.status, s.ship_by, s.priority,
                  s.units_count, s.requires_serials, s.has_hazmat, s.gift_wrap, s.multi_piece, s.shipment_type)
                 for s in queue.shipments]
    assert [s.pk for s in queue.shipments] == [soon_high.pk, soon_low.pk, late.pk]
    assert (queue.total, queue.more) == (3, 0)
    assert shown[-1][6:10] == (2, False, False, True)


def test_queue_shows_the_first_ones_by_ship_by_and_counts_the_rest():
    now = timezone.now()
    hours = list(range(selectors.QUEUE_SHOWN + 5))
    hours.reverse()  # made latest first, so the order comes from ship-by, not from the ids
    made = {h: f.shipment(status="ACCEPTED", ship_by=now + timedelta(hours=h), lines=()) for h in hours}
    f.shipment(status="SHIPPED", ship_by=now - timedelta(days=1), lines=())  # done: neither shown nor counted
    queue = selectors.queue_for_location("LOC")
    assert [s.pk for s in queue.shipments] == [made[h].pk for h in range(selectors.QUEUE_SHOWN)]
    assert (queue.total, queue.more) == (selectors.QUEUE_SHOWN + 5, 5)
    assert selectors.queue_for_location("ELSEWHERE") == selectors.StationQueue([], 0)


def test_find_shipment_by_id_or_buyer_order():
    shipment = f.shipment(status="ACCEPTED")
    assert selectors.find_shipment(shipment.amazon_id) == shipment
    assert selectors.find_shipment(f"  {shipment.buyer_order_id} ") == shipment
    assert selectors.find_shipment("nope") is None
    assert selectors.find_shipment(shipment.amazon_id, location_id="OTHER") is None


def test_shipment_detail_prefetches_everything(django_assert_max_num_queries):
    shipment = f.shipment(status="INVOICE_GENERATED", lines=(("A", 1), ("B", 1)))
    f.package(shipment)
    with django_assert_max_num_queries(7):
        detail = selectors.shipment_detail(shipment.amazon_id)
        [(p.package_id, [i.line_item.merchant_sku for i in p.items.all()]) for p in detail.packages.all()]
        list(detail.line_items.all()), detail.recent_steps, detail.current_documents
