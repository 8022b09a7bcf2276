"""The packing workflow against the real sandbox over HTTP: every programme from ACCEPTED to
SHIPPED, serials, two packages, failures that must lose nothing and send nothing twice."""

import time

import pytest
from django.conf import settings

from fulfillment.amazon.client import get_client
from fulfillment.amazon.errors import LabelUrlExpired
from fulfillment.documents.models import Document
from fulfillment.shipments import selectors, services, workflow
from fulfillment.shipments.models import (
    Package,
    SerialNumber,
    Shipment,
    ShipmentEvent,
    ShipmentStep,
)
from fulfillment.shipments.workflow import PackageInput, PackageItemInput

from .factories import INDIA, US
from .sandbox_helpers import create_shipment, package_ids_at_amazon

pytestmark = pytest.mark.django_db
Kind, State = ShipmentStep.Kind, ShipmentStep.State
COURIER = {"carrier_name": "BlueDart", "tracking_id": "BD-778899"}


def run(shipment, kind, user, payload=None, *, expect=State.SUCCEEDED, capture):
    """request_step then run_step (what the Celery task does), as a packer's click would."""
    with capture(execute=False):
        step = services.request_step(shipment, kind, user, payload)
    step = services.run_step(step.pk)
    assert step.status == expect, step.error_message
    shipment.refresh_from_db()
    return step


def one_box(shipment, *, serial_prefix="SN"):
    items = []
    for line in shipment.line_items.all():
        serials = ([f"{serial_prefix}-{shipment.amazon_id}-{line.line_item_id}-{n}" for n in range(line.number_of_units)]
                   if line.serials_required else [])
        items.append(PackageItemInput(line.line_item_id, line.number_of_units, serials,
                                      line.recommended_country_of_origin or "CN"
                                      if line.country_of_origin_requirement == "REQUIRED" else "",
                                      10 if line.item_value_requirement == "REQUIRED" else None,
                                      (line.recommended_currency_code or "USD")
                                      if line.item_value_requirement == "REQUIRED" else ""))
    hazmat = sorted({label for line in shipment.line_items.all() for label in line.hazmat_labels}) or (
        ["UN3481"] if shipment.has_hazmat else [])
    return [PackageInput(length=20, width=15, height=10, weight=400, items=items, hazmat_labels=hazmat)]


def work_through(shipment, user, capture, *, courier=None, packages=None):
    """Follow next_action to the end, like a packer at the station. Returns the kinds done."""
    done = []
    for _ in range(20):
        action = workflow.next_action(shipment)
        if action is None:
            return done
        done.append(action.kind)
        if action.kind == workflow.VERIFY:
            for line in shipment.line_items.all():
                for _unit in range(line.number_of_units):
                    assert services.verify_scan(shipment, line.merchant_sku, user).ok
            shipment.refresh_from_db()
        elif action.kind == workflow.PACK:
            services.save_packages(shipment, packages or one_box(shipment), user)
        elif action.kind == workflow.CHOOSE_OPTION:
            services.choose_shipping_option(shipment, shipment.shipping_options.first(), user)
        elif action.kind == workflow.PRINT_LABELS:
            for document in selectors.current_documents(shipment, Document.Kind.LABEL):
                services.record_label_printed(document, user)
        else:
            payload = courier if action.kind == Kind.LABELS and workflow.needs_courier_details(shipment) else None
            run(shipment, action.kind, user, payload, capture=capture)
    raise AssertionError(f"no end after {done}")


@pytest.mark.parametrize(
    ("programme", "marketplace", "expected_steps"),
    [
        ("EASY_SHIP", INDIA, [Kind.CONFIRM, Kind.CREATE_PACKAGES, Kind.SHIPPING_OPTIONS, Kind.INVOICE, Kind.LABELS,
                              Kind.SHIP]),
        ("EASY_SHIP", US, [Kind.CONFIRM, Kind.CREATE_PACKAGES, Kind.SHIPPING_OPTIONS, Kind.LABELS, Kind.SHIP]),
        ("SELF_SHIP", INDIA, [Kind.CONFIRM, Kind.CREATE_PACKAGES, Kind.SHIPPING_OPTIONS, Kind.INVOICE, Kind.LABELS,
                              Kind.SHIP]),
        ("SELLER_FLEX", INDIA, [Kind.CONFIRM, Kind.CREATE_PACKAGES, Kind.INVOICE, Kind.LABELS, Kind.SHIP]),
    ],
)
def test_programme_from_accepted_to_shipped(amazon, packer, django_capture_on_commit_callbacks, programme,
                                            marketplace, expected_steps):
    shipment = create_shipment(amazon, programme=programme, marketplace_id=marketplace)
    assert shipment.programme == programme and shipment.status == "ACCEPTED"
    done = work_through(shipment, packer, django_capture_on_commit_callbacks, courier=COURIER)
    assert shipment.status == "SHIPPED"
    amazon_steps = [kind for kind in done if kind in Kind.values]
    if not workflow.invoice_needed(shipment):
        expected_steps = [k for k in expected_steps if k != Kind.INVOICE]
    assert amazon_steps == expected_steps
    assert all(p.is_shipped and p.label_status == Package.LabelStatus.READY for p in shipment.packages.all())
    labels = selectors.current_documents(shipment, Document.Kind.LABEL)
    assert labels.count() == shipment.packages.count()
    label = Document.objects.get(pk=labels.first().pk)
    assert len(bytes(label.content)) > 0 and label.tracking_id
    assert shipment.tracking_ids == [label.tracking_id] or label.tracking_id in shipment.tracking_ids
    if Kind.INVOICE in amazon_steps:
        invoice = Document.objects.get(shipment=shipment, kind=Document.Kind.INVOICE, superseded=False)
        pdf = invoice.pdf()  # a text or image invoice is set on a page when first needed, then kept
        assert pdf.startswith(b"%PDF") and bytes(Document.objects.get(pk=invoice.pk).printable_pdf) == pdf
    assert package_ids_at_amazon(amazon, shipment) == sorted(shipment.packages.values_list("package_id", flat=True))
    history = list(shipment.events.values_list("kind", flat=True))
    assert history.count(ShipmentEvent.Kind.STEP_SUCCEEDED) == len(amazon_steps)


def test_storing_a_label_locks_the_shipment_before_its_package(amazon, packer, django_capture_on_commit_callbacks):
    """The sync locks a shipment, then updates its packages; storing a label takes the same order
    (the document's foreign-key check would otherwise lock the shipment at commit, after the package:
    a deadlock the throughput benchmark met with 30 packers)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    shipment = create_shipment(amazon, programme="EASY_SHIP", marketplace_id=INDIA)
    for _ in range(10):
        action = workflow.next_action(shipment)
        if action.kind == Kind.LABELS:
            break
        if action.kind == workflow.VERIFY:
            services.skip_verification(shipment, packer)
            shipment.refresh_from_db()
        elif action.kind == workflow.PACK:
            services.save_packages(shipment, one_box(shipment), packer)
        elif action.kind == workflow.CHOOSE_OPTION:
            services.choose_shipping_option(shipment, shipment.shipping_options.first(), packer)
        else:
            run(shipment, action.kind, packer, capture=django_capture_on_commit_callbacks)
    with CaptureQueriesContext(connection) as queries:
        run(shipment, Kind.LABELS, packer, capture=django_capture_on_commit_callbacks)
    sql = [q["sql"] for q in queries.captured_queries]
    stored = next(n for n, q in enumerate(sql) if q.startswith('INSERT INTO "documents_document"'))
    locked = max(n for n, q in enumerate(sql[:stored])
                 if 'FROM "shipments_shipment"' in q and q.endswith("FOR NO KEY UPDATE"))
    assert not any(q.startswith('UPDATE "shipments_package"') for q in sql[locked:stored])
    assert any(q.startswith('UPDATE "shipments_package"') for q in sql[stored:])


def test_saving_packages_locks_the_shipment_before_its_packages(amazon, packer, django_capture_on_commit_callbacks):
    """Pack & label's save_packages met the sync the same way as a label (30 packers): the shipment
    first, then its packages."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    shipment = create_shipment(amazon, programme="EASY_SHIP", marketplace_id=INDIA)
    run(shipment, Kind.CONFIRM, packer, capture=django_capture_on_commit_callbacks)
    with CaptureQueriesContext(connection) as queries:
        services.save_packages(shipment, one_box(shipment), packer)
    sql = [q["sql"] for q in queries.captured_queries]
    written = next(n for n, q in enumerate(sql) if q.startswith('INSERT INTO "shipments_package"'))
    assert any('FROM "shipments_shipment"' in q and q.endswith("FOR NO KEY UPDATE") for q in sql[:written])


def test_serials_and_two_packages_reach_amazon(amazon, packer, django_capture_on_commit_callbacks):
    shipment = create_shipment(amazon, programme="EASY_SHIP", marketplace_id=INDIA, serials=True, units=2)
    line = shipment.line_items.get()
    assert line.serials_required and shipment.requires_serials
    run(shipment, Kind.CONFIRM, packer, capture=django_capture_on_commit_callbacks)
    boxes = [
        PackageInput(length=20, width=15, height=10, weight=300,
                     items=[PackageItemInput(line.line_item_id, 1, ["IMEI-A-1"])]),
        PackageInput(length=20, width=15, height=10, weight=300,
                     items=[PackageItemInput(line.line_item_id, line.number_of_units - 1,
                                             [f"IMEI-A-{n}" for n in range(2, line.number_of_units + 1)])]),
    ]
    work_through(shipment, packer, django_capture_on_commit_callbacks, packages=boxes)
    assert shipment.status == "SHIPPED" and shipment.packages.count() == 2
    state = amazon.state(shipment.amazon_id)["shipment"]
    sent_serials = sorted(s for p in state["packages"] for item in p["packageLineItems"] for s in item.get("serialNumbers", []))
    assert sent_serials == sorted(SerialNumber.objects.filter(shipment=shipment).values_list("serial", flat=True))
    assert len(selectors.current_documents(shipment, Document.Kind.LABEL)) == 2


def test_package_ids_survive_a_create_packages_failure_and_are_reused(amazon, packer,
                                                                     django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    shipment = create_shipment(amazon, programme="EASY_SHIP", marketplace_id=INDIA)
    run(shipment, Kind.CONFIRM, packer, capture=capture)
    services.save_packages(shipment, one_box(shipment), packer)
    ids = list(shipment.packages.values_list("package_id", flat=True))
    amazon.faults(operations=["createPackages"], error_rate=1.0, error_status=500)
    failed = run(shipment, Kind.CREATE_PACKAGES, packer, expect=State.FAILED, capture=capture)
    assert "Refresh" in failed.error_message or "try again" in failed.error_message.lower()
    assert list(shipment.packages.values_list("package_id", flat=True)) == ids  # kept through the failure
    assert shipment.status == "CONFIRMED"
    amazon.clear_faults()
    run(shipment, Kind.CREATE_PACKAGES, packer, capture=capture)
    assert shipment.status == "PACKAGE_CREATED"
    assert package_ids_at_amazon(amazon, shipment) == sorted(ids)


def test_double_click_sends_one_call(amazon, packer, django_capture_on_commit_callbacks):
    shipment = create_shipment(amazon, programme="EASY_SHIP", marketplace_id=INDIA)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        first = services.request_step(shipment, Kind.CONFIRM, packer)
        second = services.request_step(shipment, Kind.CONFIRM, packer)
    assert first.pk == second.pk and len(queued) == 1
    services.run_step(first.pk)  # what the worker does with the queued task
    assert services.run_step(first.pk).attempts == 1  # a redelivered task does nothing
    assert len(amazon.calls("processShipment", shipment.amazon_id)) == 1


def test_expired_label_link_is_generated_again_and_fetched(amazon, packer, django_capture_on_commit_callbacks):
    shipment = create_shipment(amazon, programme="EASY_SHIP", marketplace_id=US)
    work_through_until_labels(shipment, packer, django_capture_on_commit_callbacks)
    package = shipment.packages.get()
    first = Document.objects.get(package=package, kind=Document.Kind.LABEL, superseded=False)
    amazon.configure(label_url_ttl_seconds=1)
    option = {"shipping_option_id": shipment.selected_shipping_option.option_id}
    with get_client() as client:
        answer = client.generate_ship_labels(shipment.amazon_id, package_ids=[package.package_id], **option)
        time.sleep(2.1)  # the presigned link is now past its X-Amz-Expires
        with pytest.raises(LabelUrlExpired):
            client.fetch_label(answer.package_ship_label_list[0].file_data.url)
        stored, failures = services.store_ship_labels(shipment, answer.package_ship_label_list, client=client,
                                                      user=packer, label_options=option)
    assert failures == [] and len(stored) == 1
    package.refresh_from_db()
    assert package.label_status == Package.LabelStatus.READY
    first.refresh_from_db()
    # The same label through a fresh link: the one stored copy stays, no second copy of the same bytes.
    assert stored == [first.pk] and not first.superseded
    assert Document.objects.filter(package=package, kind=Document.Kind.LABEL).count() == 1
    labels_calls = amazon.calls("generateShipLabels", shipment.amazon_id)
    assert {c["query"]["operation"] for c in labels_calls} == {"GENERATE"}  # never REGENERATE by itself


def test_a_label_amazon_fails_is_kept_failed_with_its_message(amazon, packer, django_capture_on_commit_callbacks):
    shipment = create_shipment(amazon, programme="EASY_SHIP", marketplace_id=US)
    amazon.configure(fail_next_labels=1)
    with pytest.raises(AssertionError, match="LabelGenerationFailed|carrier did not return"):
        work_through_until_labels(shipment, packer, django_capture_on_commit_callbacks)
    package = shipment.packages.get()
    assert package.label_status == Package.LabelStatus.FAILED and "carrier did not return" in package.label_error
    shipment.refresh_from_db()
    assert workflow.next_action(shipment).kind == Kind.LABELS  # Amazon still has no label: generate again
    run(shipment, Kind.LABELS, packer, capture=django_capture_on_commit_callbacks)
    package.refresh_from_db()
    assert package.label_status == Package.LabelStatus.READY and shipment.status == "SHIPLABEL_GENERATED"


def test_regenerate_only_on_request_with_a_reason(amazon, packer, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    shipment = create_shipment(amazon, programme="EASY_SHIP", marketplace_id=US)
    work_through_until_labels(shipment, packer, capture)
    old = Document.objects.get(shipment=shipment, kind=Document.Kind.LABEL, superseded=False)
    with pytest.raises(workflow.StepNotAllowed, match="why"):
        services.request_label_regeneration(shipment, packer, "  ")
    with capture(execute=False):
        step = services.request_label_regeneration(shipment, packer, "label torn")
    assert services.run_step(step.pk).status == State.SUCCEEDED, step.error_message
    old.refresh_from_db()
    assert old.superseded
    new = Document.objects.get(shipment=shipment, kind=Document.Kind.LABEL, superseded=False)
    assert new.regenerate_reason == "label torn"


def work_through_until_labels(shipment, user, capture, *, courier=None):
    for _ in range(10):
        action = workflow.next_action(shipment)
        if action.kind in {workflow.PRINT_LABELS, Kind.SHIP}:
            return
        if action.kind == workflow.VERIFY:
            shipment.verified_at = shipment.synced_at
            shipment.save()
        elif action.kind == workflow.PACK:
            services.save_packages(shipment, one_box(shipment), user)
        elif action.kind == workflow.CHOOSE_OPTION:
            services.choose_shipping_option(shipment, shipment.shipping_options.first(), user)
        else:
            needs_courier = action.kind == Kind.LABELS and workflow.needs_courier_details(shipment)
            run(shipment, action.kind, user, (courier or COURIER) if needs_courier else None, capture=capture)


def test_marketplace_cancellation_reaches_the_shipment_through_sync(amazon, packer,
                                                                   django_capture_on_commit_callbacks):
    shipment = create_shipment(amazon, programme="EASY_SHIP", marketplace_id=INDIA, serials=True)
    run(shipment, Kind.CONFIRM, packer, capture=django_capture_on_commit_callbacks)
    services.save_packages(shipment, one_box(shipment, serial_prefix="CXL"), packer)
    first = services.sync_account(settings.AMAZON_SELLER_ACCOUNT, locations={shipment.location_id})
    assert first.seen >= 1
    amazon.cancel(shipment.amazon_id)
    result = services.sync_account(settings.AMAZON_SELLER_ACCOUNT, locations={shipment.location_id})
    shipment.refresh_from_db()
    assert shipment.status == "CANCELLED" and shipment.amazon_id in result.cancelled
    assert shipment.cancellation_type == "MARKETPLACE_CANCELLED"
    assert shipment.events.filter(kind=ShipmentEvent.Kind.CANCELLED).exists()
    assert not SerialNumber.objects.filter(shipment=shipment, released=False).exists()
    assert workflow.next_action(shipment) is None
    with pytest.raises(workflow.StepNotAllowed, match="cancelled"):
        services.request_step(shipment, Kind.CREATE_PACKAGES, packer)


def test_sync_reads_every_page_and_is_incremental(amazon):
    location = "SANDBOX-LOC-1"
    amazon.configure(empty_page_every=2)  # Amazon sends empty pages that still carry a nextToken
    result = services.sync_account(settings.AMAZON_SELLER_ACCOUNT, locations={location}, page_size=5)
    stored = Shipment.objects.filter(location_id=location).count()
    seeded = [s for s in amazon.shipments() if s["locationId"] == location]
    assert result.created == stored == len(seeded) > 10
    assert not Shipment.objects.exclude(location_id=location).exists()  # other locations' are left out
    again = services.sync_account(settings.AMAZON_SELLER_ACCOUNT, locations={location})
    assert again.created == 0
    calls = amazon.calls("getShipments")
    assert any("lastUpdatedAfter" in c["query"] for c in calls)
    assert any("paginationToken" in c["query"] for c in calls)


def test_a_page_of_new_shipments_is_stored_in_a_few_queries_and_the_same_as_one_by_one(
        amazon, django_assert_max_num_queries):
    """A location's first sync is thousands of new shipments: a page is stored in bulk (a fixed
    number of queries, whatever its size), with the same columns, lines and history as one by one."""
    with get_client() as client:
        page = [s for p in client.iter_shipment_pages(status="ACCEPTED", location_id="SANDBOX-LOC-1")
                for s in p.shipments]
    assert len(page) > 5
    with django_assert_max_num_queries(6):
        before = services.store_shipment_page(page)
    assert before == {data.id: None for data in page}
    bulk = {s.amazon_id: s for s in Shipment.objects.prefetch_related("line_items", "events")}
    for data in page:
        one_by_one = services.upsert_shipment(data.model_copy(update={"id": f"{data.id}-1by1"}))
        stored = bulk[data.id]
        for column in ("status", "programme", "ship_by", "units_count", "requires_serials", "invoice_requirement",
                       "recommended_weight", "raw"):
            expected = getattr(one_by_one, column)
            if column == "raw":
                expected = {**expected, "id": data.id}
            assert getattr(stored, column) == expected, column
        assert ([(li.line_item_id, li.merchant_sku, li.number_of_units, li.serial_number_requirement)
                 for li in stored.line_items.all()]
                == list(one_by_one.line_items.values_list("line_item_id", "merchant_sku", "number_of_units",
                                                          "serial_number_requirement")))
        assert [(e.kind, e.message) for e in stored.events.all()] == [("SYNCED", f"New shipment, status {data.status}.")]
    # The same page again: every shipment known, nothing new written to its history.
    again = services.store_shipment_page(page)
    assert again == {data.id: "ACCEPTED" for data in page}
    assert ShipmentEvent.objects.filter(shipment__amazon_id__in=list(before)).count() == len(page)


def test_a_location_whose_stations_name_a_seller_account_is_read_and_worked_with_it(
        amazon, packer, django_capture_on_commit_callbacks):
    """Several sellers on one floor: the account an admin entered reaches Amazon for the locations of
    its stations (calls, rate-limit buckets and stored shipments carry its name); other locations
    keep the settings' account."""
    from fulfillment.accounts.models import SellerAccount
    from fulfillment.amazon.models import AmazonCall
    from fulfillment.stations.models import Station
    from tests.conftest import SANDBOX_DEV_CREDENTIALS as creds

    acme = SellerAccount.objects.create(
        name="acme-in", endpoint=amazon.url, token_url=amazon.token_url, lwa_client_id=creds["AMAZON_LWA_CLIENT_ID"],
        lwa_client_secret=creds["AMAZON_LWA_CLIENT_SECRET"], refresh_token=creds["AMAZON_LWA_REFRESH_TOKEN"])
    Station.objects.create(name="Acme 1", location_id="SANDBOX-LOC-2", seller_account=acme)
    Station.objects.create(name="Own 1", location_id="SANDBOX-LOC-1")

    results = {r.seller_account: r for r in services.sync_stations()}
    assert results["acme-in"].created > 0 and results["acme-in"].locations == {"SANDBOX-LOC-2"}
    assert results[settings.AMAZON_SELLER_ACCOUNT].created > 0
    accounts = dict(Shipment.objects.values_list("location_id", "seller_account").distinct())
    assert accounts == {"SANDBOX-LOC-2": "acme-in", "SANDBOX-LOC-1": settings.AMAZON_SELLER_ACCOUNT}
    pages = AmazonCall.objects.filter(operation="getShipments").values_list("seller_account", flat=True)
    assert set(pages) == {"acme-in", settings.AMAZON_SELLER_ACCOUNT}

    shipment = Shipment.objects.filter(location_id="SANDBOX-LOC-2", status="ACCEPTED").first()
    run(shipment, Kind.CONFIRM, packer, capture=django_capture_on_commit_callbacks)
    calls = AmazonCall.objects.filter(shipment_id=shipment.amazon_id, operation__in=["processShipment", "getShipment"])
    assert set(calls.values_list("seller_account", flat=True)) == {"acme-in"}
    assert shipment.status == "CONFIRMED" and shipment.seller_account == "acme-in"
