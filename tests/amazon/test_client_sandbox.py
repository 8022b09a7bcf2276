"""The client against the local SmartConnect sandbox, over real HTTP.

Every request the client sends and every answer it receives is checked against Amazon's model
(`ContractCheck`); each test uses its own seller account so rate-limit buckets and cached tokens
never leak between tests.
"""

import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache

from fulfillment.amazon import errors, schemas
from fulfillment.amazon.auth import Credentials
from fulfillment.amazon.client import AmazonClient, RetryPolicy
from fulfillment.amazon.models import AmazonCall

from .contract_check import ContractCheck

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

FAST = RetryPolicy(attempts=3, initial_wait=0.02, max_wait=0.1, rate_limit_wait=5)


@pytest.fixture
def check():
    check = ContractCheck()
    yield check
    assert check.problems == []


@pytest.fixture
def make_client(sandbox_settings, settings, check):
    settings.AMAZON_RATE_LIMITS = {"*": "1000/1000"}
    clients = []

    def make(*, secret=None, refresh_token=None, retry=FAST, timeout=5.0, account=None):
        credentials = Credentials(
            seller_account=account or f"sbx-{uuid.uuid4().hex[:10]}",
            endpoint=sandbox_settings.url,
            token_url=sandbox_settings.token_url,
            client_id=settings.AMAZON_LWA_CLIENT_ID,
            client_secret=secret or settings.AMAZON_LWA_CLIENT_SECRET,
            refresh_token=refresh_token or settings.AMAZON_LWA_REFRESH_TOKEN,
        )
        client = AmazonClient(credentials, http=check.client(timeout=timeout), retry=retry)
        clients.append(client)
        return client

    yield make
    for client in clients:
        cache.delete(client.tokens.cache_key)
        client.http.close()


@pytest.fixture
def client(make_client):
    return make_client()


def pack(shipment: schemas.Shipment) -> list[schemas.Package]:
    """One package holding every unit, with what each line's compliance rules ask for."""
    items = []
    for line in shipment.line_items:
        rules = line.compliance_attributes
        item = schemas.PackageLineItem(package_line_item_id=line.shipment_line_item_id, quantity=line.number_of_units)
        if rules.serial_number_requirement == schemas.RequirementLevel.REQUIRED:
            item.serial_numbers = [f"SN-{line.shipment_line_item_id}-{n}-{uuid.uuid4().hex[:6]}" for n in range(line.number_of_units)]
        if rules.country_of_origin_requirement == schemas.RequirementLevel.REQUIRED:
            item.country_of_origin = line.recommended_country_of_origin or "CN"
        if rules.item_value_requirement == schemas.RequirementLevel.REQUIRED:
            item.item_value = schemas.Amount(value=Decimal("499.50"), currency_code=line.recommended_currency_code or "INR")
        items.append(item)
    hazmat = sorted({label for line in shipment.line_items if line.compliance_attributes.hazmat_labels_requirement == "REQUIRED" for label in line.hazmat_labels or []})
    recommended = (shipment.shipping_info.recommended_packages or [None])[0]
    centimetres = schemas.Dimension(value=Decimal("20.5"), dimension_unit="CM")
    return [
        schemas.Package(
            id=f"PKG-{uuid.uuid4().hex[:8]}",
            dimensions=recommended.dimensions if recommended else schemas.PackageDimensions(length=centimetres, width=centimetres, height=centimetres),
            weight=recommended.weight if recommended else schemas.Weight(value=Decimal("750"), weight_unit="G"),
            hazmat_labels=hazmat or None,
            package_line_items=items,
        )
    ]


@pytest.mark.parametrize("programme", ["easy_ship", "self_ship", "seller_flex"])
def test_each_programme_goes_from_accepted_to_shipped(client, sandbox_settings, programme):
    created = sandbox_settings.create_shipment(programme=programme, marketplace="IN", skus=["TPLINK-ARCHER-C6", "MILTON-THERMO-1000-SS"])
    shipment_id = created["id"]

    found = [s for s in client.iter_shipments(status="ACCEPTED", location_id=created["locationId"], max_results=5) if s.id == shipment_id]
    assert len(found) == 1
    shipment = found[0]
    assert shipment.programme == {"easy_ship": "Easy Ship", "self_ship": "Self-Ship", "seller_flex": "Seller Flex"}[programme]
    assert isinstance(shipment.charges[0].total_charge.net_amount.value, Decimal)
    assert shipment.creation_date_time.tzinfo is not None

    client.process_shipment(shipment_id, "CONFIRM")
    assert client.get_shipment(shipment_id).status == schemas.ShipmentStatus.CONFIRMED

    packages = pack(shipment)
    client.create_packages(shipment_id, packages)
    package_id = packages[0].id
    stored = client.get_shipment(shipment_id)
    assert stored.status == schemas.ShipmentStatus.PACKAGE_CREATED
    assert [p.id for p in stored.packages] == [package_id]
    assert stored.packages[0].weight.value == packages[0].weight.value  # Decimal round trip is exact

    options = client.retrieve_shipping_options(shipment_id, package_id)
    assert client.get_shipment(shipment_id).status == schemas.ShipmentStatus.PICKUP_SLOT_RETRIEVED

    invoice = client.generate_invoice(shipment_id)
    assert invoice.document.content
    assert client.retrieve_invoice(shipment_id).document.content == invoice.document.content
    assert client.get_shipment(shipment_id).status == schemas.ShipmentStatus.INVOICE_GENERATED

    label_kwargs = {"package_ids": [package_id]}
    if programme == "easy_ship":
        assert options.shipping_options and options.recommended_shipping_option
        chosen = options.recommended_shipping_option
        assert chosen.pickup_window.start_time.tzinfo == UTC
        label_kwargs["shipping_option_id"] = chosen.shipping_option_id
    elif programme == "self_ship":
        label_kwargs["courier_supported_attributes"] = schemas.CourierSupportedAttributes(carrier_name="Blue Dart", tracking_id="BD-77881234")
    else:
        assert not options.shipping_options  # Seller Flex: the slot is fixed
    labels = client.generate_ship_labels(shipment_id, **label_kwargs)
    [label] = labels.package_ship_label_list
    assert label.package_id == package_id and label.status == schemas.Status.SUCCESS
    if programme == "self_ship":
        assert label.ship_label_metadata.tracking_id == "BD-77881234"
    fetched = client.fetch_label(label.file_data.url)
    assert fetched.content and fetched.content_type in {"x.application/zpl", "application/pdf", "image/png", "text/plain"}
    assert client.get_shipment(shipment_id).status == schemas.ShipmentStatus.SHIPLABEL_GENERATED

    client.update_package_status(shipment_id, package_id)
    final = client.get_shipment(shipment_id)
    assert final.status == schemas.ShipmentStatus.SHIPPED
    assert final.packages[0].status == "SHIPPED"

    calls = list(AmazonCall.objects.filter(shipment_id=shipment_id).order_by("created_at").values_list("operation", "http_status"))
    assert ("processShipment", 204) in calls and ("generateShipLabels", 200) in calls and ("updatePackageStatus", 204) in calls
    assert sandbox_settings.calls(operation="updatePackageStatus", shipment_id=shipment_id)[0]["query"] == {}


def test_update_package_and_regenerate_label(client, sandbox_settings):
    created = sandbox_settings.create_shipment(programme="easy_ship", marketplace="IN", skus=["MILTON-THERMO-1000-SS"])
    shipment_id = created["id"]
    shipment = client.get_shipment(shipment_id)
    client.process_shipment(shipment_id, "CONFIRM")
    [package] = pack(shipment)
    client.create_packages(shipment_id, [package])
    options = client.retrieve_shipping_options(shipment_id, package.id)
    client.generate_invoice(shipment_id)
    first = client.generate_ship_labels(shipment_id, package_ids=[package.id], shipping_option_id=options.shipping_options[0].shipping_option_id)
    again = client.generate_ship_labels(
        shipment_id, package_ids=[package.id], operation="REGENERATE", shipping_option_id=options.shipping_options[0].shipping_option_id
    )
    assert again.package_ship_label_list[0].ship_label_metadata.tracking_id != first.package_ship_label_list[0].ship_label_metadata.tracking_id

    heavier = package.model_copy(update={"weight": schemas.Weight(value=Decimal("1234.5"), weight_unit="G")})
    client.update_package(shipment_id, package.id, heavier)
    updated = client.get_shipment(shipment_id)
    assert updated.status == schemas.ShipmentStatus.PACKAGE_CREATED
    assert updated.packages[0].weight.value == Decimal("1234.5")


def test_reject_with_reference_and_reason(client, sandbox_settings):
    created = sandbox_settings.create_shipment(programme="easy_ship", marketplace="IN", skus=["LEGO-60337-CITY"])
    shipment = client.get_shipment(created["id"])
    line = shipment.line_items[0]
    client.process_shipment(
        shipment.id,
        "REJECT",
        reference_id=f"reject-{uuid.uuid4().hex[:8]}",
        line_items=[schemas.LineItemWithReason(line_item=schemas.LineItem(id=line.shipment_line_item_id, quantity=line.number_of_units), reason="OUT_OF_STOCK")],
    )
    rejected = client.get_shipment(shipment.id)
    assert rejected.status == schemas.ShipmentStatus.CANCELLED
    assert rejected.line_items[0].cancellations[0].cancellation_type == "SELLER_REJECTED"


def test_iter_shipments_walks_every_page_including_empty_ones(client, sandbox_settings):
    sandbox_settings.configure(empty_page_every=2)
    expected = {s["id"] for s in sandbox_settings.shipments() if s["status"] == "ACCEPTED" and s["locationId"] == "SANDBOX-LOC-1"}
    assert len(expected) > 6
    seen = [s.id for s in client.iter_shipments(status="ACCEPTED", location_id="SANDBOX-LOC-1", max_results=3)]
    assert sorted(seen) == sorted(expected)
    pages = sandbox_settings.calls(operation="getShipments")
    assert len(pages) > len(expected) // 3  # several pages, some of them empty


def test_get_shipments_filters(client, sandbox_settings):
    created = sandbox_settings.create_shipment(programme="seller_flex", marketplace="DE", location_id="SANDBOX-LOC-2")
    since = datetime.now(UTC) - timedelta(minutes=5)
    page = client.get_shipments(
        status="ACCEPTED",
        location_id="SANDBOX-LOC-2",
        marketplace_id="A1PA6795UKMFR9",
        channel_name="FBA",
        last_updated_after=since,
        last_updated_before=datetime.now(UTC) + timedelta(minutes=5),
        max_results=100,
    )
    ids = [s.id for s in page.shipments]
    assert created["id"] in ids
    assert all(s.location_id == "SANDBOX-LOC-2" and s.marketplace_attributes.channel_name == "FBA" for s in page.shipments)


def test_bad_credentials_raise_configuration_error_without_retry(make_client, sandbox_settings):
    for client, code in ((make_client(secret="wrong-secret"), "invalid_client"), (make_client(refresh_token="Atzr|revoked"), "invalid_grant")):
        with pytest.raises(errors.AmazonAuthConfigurationError) as raised:
            client.get_shipments(status="ACCEPTED")
        assert raised.value.error_code == code
    token_calls = sandbox_settings.calls(operation="lwaToken")
    assert [c["error_code"] for c in token_calls] == ["invalid_client", "invalid_grant"]
    assert not sandbox_settings.calls(operation="getShipments")


def test_expired_access_token_is_refreshed_once(client, sandbox_settings):
    client.get_shipments(status="ACCEPTED", max_results=1)
    first_token = cache.get(client.tokens.cache_key)
    sandbox_settings.configure(expire_tokens=True)  # every token issued so far is now expired
    time.sleep(1.1)  # the sandbox stamps tokens to the second: a new one must come from a later second
    client.get_shipments(status="ACCEPTED", max_results=1)
    assert cache.get(client.tokens.cache_key) not in (None, first_token)
    statuses = [c["status"] for c in sandbox_settings.calls(operation="getShipments")]
    assert statuses == [200, 403, 200]
    assert len(sandbox_settings.calls(operation="lwaToken")) == 2


def test_409_422_and_404_map_to_their_errors(client, sandbox_settings):
    created = sandbox_settings.create_shipment(programme="easy_ship", marketplace="IN")
    with pytest.raises(errors.AmazonConflict) as conflict:
        client.generate_invoice(created["id"])  # not confirmed, packed nor given a pickup slot yet
    conflict = conflict.value
    assert conflict.status == 409 and conflict.request_id and conflict.errors
    assert "Refresh the shipment and continue from its current step" in conflict.packer_message
    assert conflict.outcome_unknown is False
    with pytest.raises(errors.AmazonNotFound):
        client.retrieve_shipping_options(created["id"], "NO-SUCH-PACKAGE")

    client.process_shipment(created["id"], "CONFIRM")
    with pytest.raises(errors.AmazonConflict):
        client.process_shipment(created["id"], "CONFIRM")  # writes are not retried on 409
    assert len(sandbox_settings.calls(operation="processShipment", shipment_id=created["id"])) == 2

    shipment = client.get_shipment(created["id"])
    [package] = pack(shipment)
    too_light = package.model_copy(update={"weight": schemas.Weight(value=Decimal("1"), weight_unit="G")})
    with pytest.raises(errors.AmazonUnprocessable) as unprocessable:
        client.create_packages(created["id"], [too_light])
    assert "minimum" in unprocessable.value.amazon_message
    assert AmazonCall.objects.filter(shipment_id=created["id"], operation="createPackages", http_status=422).exists()

    with pytest.raises(errors.AmazonNotFound):
        client.get_shipment("NO-SUCH-SHIPMENT")


def test_429_is_waited_out_on_reads_and_writes(client, sandbox_settings):
    created = sandbox_settings.create_shipment(programme="easy_ship", marketplace="IN")
    client.get_shipment(created["id"])  # the access token first: the storm must meet the calls under test
    # A one-second storm; the policy outlasts it (about 2.7 s of backoff in all).
    sandbox_settings.faults(operations=["getShipment", "processShipment"], throttle_seconds=1)
    slow = RetryPolicy(attempts=10, initial_wait=0.1, max_wait=0.3, rate_limit_wait=5)
    client.retry = slow
    assert client.get_shipment(created["id"]).id == created["id"]
    client.process_shipment(created["id"], "CONFIRM")
    assert client.get_shipment(created["id"]).status == "CONFIRMED"
    assert 429 in [c["status"] for c in sandbox_settings.calls(operation="getShipment")]


def test_429_that_persists_surfaces_as_throttled(client, sandbox_settings):
    sandbox_settings.faults(operations=["getShipments"], throttle_seconds=30)
    with pytest.raises(errors.AmazonThrottled) as raised:
        client.get_shipments(status="ACCEPTED")
    assert raised.value.status == 429
    assert len(sandbox_settings.calls(operation="getShipments")) == FAST.attempts


def test_5xx_is_retried_on_reads_and_outcome_unknown_on_writes(client, sandbox_settings):
    created = sandbox_settings.create_shipment(programme="easy_ship", marketplace="IN")
    sandbox_settings.faults(operations=["getShipment"], error_rate=1.0, error_status=503, count=2)
    assert client.get_shipment(created["id"]).id == created["id"]
    assert [c["status"] for c in sandbox_settings.calls(operation="getShipment")] == [503, 503, 200]

    # The sandbox confirms the shipment but answers 500: the client must not send it again.
    sandbox_settings.faults(operations=["processShipment"], error_rate=1.0, error_status=500, count=1, apply=True)
    with pytest.raises(errors.AmazonServerError) as raised:
        client.process_shipment(created["id"], "CONFIRM")
    assert raised.value.outcome_unknown is True
    assert len(sandbox_settings.calls(operation="processShipment")) == 1
    assert client.get_shipment(created["id"]).status == "CONFIRMED"  # what the caller does next


def test_write_timeout_is_outcome_unknown_and_not_repeated(make_client, sandbox_settings):
    client = make_client(timeout=0.5)
    created = sandbox_settings.create_shipment(programme="easy_ship", marketplace="IN")
    sandbox_settings.faults(operations=["processShipment"], timeout_rate=1.0, timeout_seconds=1.5, count=1)
    with pytest.raises(errors.AmazonTimeout) as raised:
        client.process_shipment(created["id"], "CONFIRM")
    assert raised.value.outcome_unknown is True
    assert "may or may not" in raised.value.packer_message
    call = AmazonCall.objects.get(seller_account=client.credentials.seller_account, operation="processShipment")
    assert call.http_status is None and call.error_code == "AmazonTimeout"


def test_expired_label_link(client, sandbox_settings):
    sandbox_settings.configure(label_url_ttl_seconds=1)
    created = sandbox_settings.create_shipment(programme="seller_flex", marketplace="IN", skus=["MILTON-THERMO-1000-SS"])
    shipment_id = created["id"]
    shipment = client.get_shipment(shipment_id)
    client.process_shipment(shipment_id, "CONFIRM")
    [package] = pack(shipment)
    client.create_packages(shipment_id, [package])
    client.generate_invoice(shipment_id)
    label = client.generate_ship_labels(shipment_id, package_ids=[package.id]).package_ship_label_list[0]
    time.sleep(2.1)
    with pytest.raises(errors.LabelUrlExpired):
        client.fetch_label(label.file_data.url)


def test_short_lived_tokens_are_renewed_before_they_expire(client, sandbox_settings):
    sandbox_settings.configure(token_ttl_seconds=2)
    client.get_shipments(status="ACCEPTED", max_results=1)
    time.sleep(1.2)  # past the cached half-life, still inside the token's own life
    client.get_shipments(status="ACCEPTED", max_results=1)
    assert [c["status"] for c in sandbox_settings.calls(operation="getShipments")] == [200, 200]
    assert len(sandbox_settings.calls(operation="lwaToken")) == 2
