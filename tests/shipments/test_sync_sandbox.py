"""The sync against the real sandbox over HTTP (PostgreSQL): getShipments per seller account and
status whatever the number of locations, a shipment that breaks the model read on its own, Amazon
codes longer than our columns, Amazon disagreeing with a status a step set, and a shipment page that
costs Amazon nothing while its view is fresh."""

import logging
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from fulfillment.accounts import roles
from fulfillment.amazon import schemas
from fulfillment.amazon.client import external_fulfillment, get_client
from fulfillment.shipments import services
from fulfillment.shipments.models import (
    Shipment,
    ShipmentEvent,
    ShipmentStep,
    SyncCursor,
    UnreadableShipment,
)
from fulfillment.shipments.programmes import SYNC_STATUSES
from fulfillment.stations.models import Station
from fulfillment.stations.selectors import SESSION_KEY

from .factories import INDIA
from .sandbox_helpers import create_shipment
from .test_flows_sandbox import run

pytestmark = pytest.mark.django_db
ACCOUNT = "default"
Kind = ShipmentStep.Kind


def stations(*locations):
    for location in locations:
        Station.objects.create(name=f"Bench {location}", location_id=location)


def sync_calls(amazon):
    return [call for call in amazon.calls("getShipments")]


# --- Calls per cycle ------------------------------------------------------------------------------------


def test_sync_calls_per_cycle_do_not_grow_with_the_locations(amazon):
    """One cycle reads each status of the seller account once (plus its pages), never per location:
    the sandbox's call log is the same for 1 managed location and for 10."""
    extra = [f"SANDBOX-LOC-{n}" for n in range(3, 11)]
    for location in extra:
        amazon.create_shipment(location_id=location, programme="easy_ship", marketplace="IN")

    def cycle(locations):
        Station.objects.all().delete()
        Shipment.objects.all().delete()
        SyncCursor.objects.all().delete()
        stations(*locations)
        amazon._control("DELETE", "calls")
        first = services.sync_stations()
        first_calls = sync_calls(amazon)
        amazon._control("DELETE", "calls")
        services.sync_stations()
        return first, first_calls, sync_calls(amazon)

    one, one_first, one_again = cycle(["SANDBOX-LOC-1"])
    ten, ten_first, ten_again = cycle(["SANDBOX-LOC-1", "SANDBOX-LOC-2", *extra])
    def shape(calls):
        return sorted((c["query"]["status"], "paginationToken" in c["query"]) for c in calls)

    assert len(one_first) == len(ten_first) and shape(one_first) == shape(ten_first)
    assert len(one_again) == len(ten_again) == len(SYNC_STATUSES)  # a quiet cycle: one call per status
    assert not any("locationId" in c["query"] for c in one_first + ten_first + one_again + ten_again)
    assert all("lastUpdatedAfter" in c["query"] for c in one_again + ten_again)
    assert {r.seller_account for r in one + ten} == {ACCOUNT}
    assert set(Shipment.objects.values_list("location_id", flat=True)) == {"SANDBOX-LOC-1", "SANDBOX-LOC-2", *extra}
    assert ten[0].created > one[0].created > 0


def test_a_cycle_writes_only_the_shipments_that_changed_at_amazon(amazon, monkeypatch):
    """The overlap lists stored shipments again: unchanged ones are only marked seen (synced_at), not
    read into the model nor written again; one Amazon changed is stored with its status change."""
    for _ in range(3):  # changed just now: inside the next cycle's overlap
        amazon.create_shipment(location_id="SANDBOX-LOC-3", programme="easy_ship", marketplace="IN")
    stations("SANDBOX-LOC-3")
    services.sync_stations()
    held = dict(Shipment.objects.values_list("amazon_id", "updated_at"))
    seen = dict(Shipment.objects.values_list("amazon_id", "synced_at"))
    changed = next(iter(sorted(held)))
    amazon.cancel(changed)
    read = []

    class CountingShipment:  # the client's model of a listed shipment, counting what it reads
        @staticmethod
        def model_validate(item):
            read.append(item["id"])
            return schemas.Shipment.model_validate(item)

    monkeypatch.setattr(external_fulfillment, "Shipment", CountingShipment)

    result = services.sync_account(ACCOUNT)

    assert read == [changed] and result.seen == len(held)

    after = {amazon_id: (updated, synced) for amazon_id, updated, synced in
             Shipment.objects.values_list("amazon_id", "updated_at", "synced_at")}
    assert len(held) > 1 and set(after) == set(held)
    assert all(after[a][0] == held[a] and after[a][1] > seen[a] for a in held if a != changed)
    assert after[changed][0] > held[changed] and Shipment.objects.get(amazon_id=changed).status == "CANCELLED"
    assert ShipmentEvent.objects.filter(shipment__amazon_id=changed, kind=ShipmentEvent.Kind.STATUS_CHANGED).exists()


# --- A shipment that breaks the model -------------------------------------------------------------------


def test_a_shipment_that_breaks_the_model_is_listed_and_the_rest_of_the_page_stored(amazon, caplog):
    location = "SANDBOX-LOC-7"
    made = [amazon.create_shipment(location_id=location, programme="easy_ship", marketplace="IN")
            for _ in range(3)]
    broken = made[1]
    buyer = broken["shipmentInfo"]["buyerOrderId"]
    amazon.tamper(broken["id"], remove=["shipmentInfo.buyerOrderId", "lineItems.0.merchantSku"],
                  set={"shipmentInfo.numberOfUnits": "many"})
    stations(location)
    caplog.set_level(logging.DEBUG)
    result = services.sync_account(ACCOUNT)
    stored = set(Shipment.objects.filter(location_id=location).values_list("amazon_id", flat=True))
    assert stored == {made[0]["id"], made[2]["id"]}
    assert result.unreadable == [broken["id"]]
    cursor = SyncCursor.objects.get(seller_account=ACCOUNT, status="ACCEPTED")
    assert cursor.last_synced_at is not None and cursor.last_error == ""  # the cursor moved on
    row = UnreadableShipment.objects.get()
    assert (row.shipment_id, row.location_id) == (broken["id"], location)
    assert set(row.problems) == {
        "shipmentInfo.buyerOrderId: Field required",
        "shipmentInfo.numberOfUnits: Input should be a valid integer, unable to parse string as an integer",
        "lineItems.0.merchantSku: Field required",
    }
    assert broken["id"] in caplog.text and "many" not in caplog.text  # named, never its values
    assert buyer not in str(row.problems)

    # Amazon sends it readable again: stored, and off the board.
    amazon.tamper(broken["id"], set={"shipmentInfo.buyerOrderId": buyer, "shipmentInfo.numberOfUnits": 1,
                                     "lineItems.0.merchantSku": "MILTON-THERMO-1000-SS"})
    services.sync_account(ACCOUNT)
    assert Shipment.objects.filter(amazon_id=broken["id"]).exists()
    assert not UnreadableShipment.objects.exists()


def test_amazon_codes_longer_than_our_columns_are_stored_on_postgresql(amazon):
    from django.db import connection

    assert connection.vendor == "postgresql"
    location = "SANDBOX-LOC-8"
    made = amazon.create_shipment(location_id=location, programme="easy_ship", marketplace="IN")
    too_long_id = amazon.create_shipment(location_id=location, programme="easy_ship", marketplace="IN")
    amazon.tamper(made["id"], set={
        "shipmentInfo.priority": "HIGHEST_PRIORITY_SAME_DAY_EXPRESS_DELIVERY_PROGRAMME",
        "subStatus": "PENDING_SCHEDULE_" * 6,
        "shippingInfo.recommendedPackages.0.weight.weightUnit": "KILOGRAMS",
        "shippingInfo.recommendedPackages.0.dimensions.length.dimensionUnit": "CENTIMETERS",
        "lineItems.0.pieceType": "SINGLE_PIECE_WITH_SEVERAL_ACCESSORIES_IN_A_BOX",
        "lineItems.0.complianceAttributes.serialNumberRequirement": "REQUIRED_WHERE_THE_MARKETPLACE_SAYS_SO_XYZ",
    })
    amazon.tamper(too_long_id["id"], set={"shipmentInfo.buyerOrderId": "171-" + "9" * 80})
    stations(location)
    result = services.sync_account(ACCOUNT)
    shipment = Shipment.objects.get(amazon_id=made["id"])
    assert shipment.priority == "HIGHEST_PRIORITY_SAME_DAY_EXPRESS_DELIVERY_PROGRAMME"[:32]
    assert shipment.recommended_weight_unit == "KILOGRAMS"
    assert shipment.line_items.get().piece_type.startswith("SINGLE_PIECE")
    # A value that names the shipment is never cut: the shipment is listed as unreadable instead.
    assert not Shipment.objects.filter(amazon_id=too_long_id["id"]).exists()
    assert result.unreadable == [too_long_id["id"]]
    assert UnreadableShipment.objects.get().problems == [
        "shipmentInfo.buyerOrderId: longer than the 64 characters Packbench stores"]


# --- Amazon disagrees -----------------------------------------------------------------------------------


def test_a_view_from_before_our_write_is_held_and_a_later_one_that_differs_wins(
        amazon, packer, django_capture_on_commit_callbacks, client, settings):
    settings.SHIPMENT_DISAGREE_GRACE_SECONDS = 60
    shipment = create_shipment(amazon, programme="EASY_SHIP", marketplace_id=INDIA)
    stations(shipment.location_id)
    with get_client() as amazon_client:
        asked = timezone.now()
        old_page = amazon_client.get_shipments(status="ACCEPTED", location_id=shipment.location_id).shipments
    run(shipment, Kind.CONFIRM, packer, capture=django_capture_on_commit_callbacks)
    assert shipment.status == "CONFIRMED" and shipment.local_status_at is not None

    # A page Amazon gave before our confirm, stored after it: held, not a disagreement.
    services.store_shipment_page([d for d in old_page if d.id == shipment.amazon_id], read_at=asked)
    shipment.refresh_from_db()
    assert shipment.status == "CONFIRMED" and shipment.disagreed_at is None

    # The sync reads Amazon's CONFIRMED: it agrees, and the status is Amazon's own again.
    services.sync_account(ACCOUNT)
    shipment.refresh_from_db()
    assert shipment.status == "CONFIRMED" and shipment.local_status_at is None and shipment.disagreed_at is None

    # A status of ours Amazon never reached (as a wrong rule in the registry would give), past the grace.
    Shipment.objects.filter(pk=shipment.pk).update(status="PACKAGE_CREATED",
                                                   local_status_at=timezone.now() - timedelta(seconds=30))
    services.sync_account(ACCOUNT)  # within the grace period: Amazon may not have caught up
    shipment.refresh_from_db()
    assert shipment.status == "PACKAGE_CREATED" and shipment.disagreed_at is None
    Shipment.objects.filter(pk=shipment.pk).update(local_status_at=timezone.now() - timedelta(seconds=90))
    services.sync_account(ACCOUNT)
    shipment.refresh_from_db()
    assert shipment.status == "CONFIRMED"  # Amazon's status wins
    assert (shipment.disagreed_status, shipment.local_status_at) == ("PACKAGE_CREATED", None)
    event = shipment.events.get(kind=ShipmentEvent.Kind.AMAZON_DISAGREES)
    assert event.data == {"ours": "PACKAGE_CREATED", "amazon": "CONFIRMED", "source": "sync"}
    assert "Amazon disagrees" in event.message

    # The station says so.
    packer.groups.add(Group.objects.get_or_create(name=roles.PACKER)[0])
    client.force_login(packer)
    session = client.session
    session[SESSION_KEY] = Station.objects.get(location_id=shipment.location_id).pk
    session.save()
    page = client.get(f"/shipments/{shipment.amazon_id}/").content.decode()
    banner = page[page.index("data-amazon-disagrees"):]
    banner = banner[:banner.index("</div>")]
    assert banner.index('data-status="PACKAGE_CREATED"') < banner.index('data-status="CONFIRMED"')


def test_a_cancellation_is_never_held(amazon, packer, django_capture_on_commit_callbacks):
    shipment = create_shipment(amazon, programme="EASY_SHIP", marketplace_id=INDIA)
    stations(shipment.location_id)
    run(shipment, Kind.CONFIRM, packer, capture=django_capture_on_commit_callbacks)
    amazon.cancel(shipment.amazon_id)
    services.sync_account(ACCOUNT)  # right after our confirm, well within the grace period
    shipment.refresh_from_db()
    assert shipment.status == "CANCELLED" and shipment.disagreed_at is None


# --- Opening the page -----------------------------------------------------------------------------------


@pytest.fixture
def at_station(client, packer):
    def sign_in(location):
        station = Station.objects.get_or_create(name="Bench F", location_id=location)[0]
        packer.groups.add(Group.objects.get_or_create(name=roles.PACKER)[0])
        client.force_login(packer)
        session = client.session
        session[SESSION_KEY] = station.pk
        session.save()
        return client
    return sign_in


def test_opening_a_fresh_shipment_twice_costs_amazon_nothing(amazon, at_station, django_capture_on_commit_callbacks,
                                                            settings):
    settings.SHIPMENT_FRESH_SECONDS = 120
    shipment = create_shipment(amazon, programme="EASY_SHIP", marketplace_id=INDIA)  # read just now
    browser = at_station(shipment.location_id)
    reads = len(amazon.calls("getShipment", shipment.amazon_id))
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            assert browser.get(f"/shipments/{shipment.amazon_id}/").status_code == 200
    assert len(amazon.calls("getShipment", shipment.amazon_id)) == reads
    assert not shipment.steps.exists()

    # Read long ago, but the sync has read every status of its account since: still nothing.
    Shipment.objects.filter(pk=shipment.pk).update(synced_at=timezone.now() - timedelta(hours=1))
    services.sync_account(ACCOUNT, locations={"NOWHERE"})  # a cycle that stores nothing of this location
    assert SyncCursor.objects.filter(seller_account=ACCOUNT).count() == len(SYNC_STATUSES)
    services.sync_account(ACCOUNT, locations={shipment.location_id})
    with django_capture_on_commit_callbacks(execute=True):
        browser.get(f"/shipments/{shipment.amazon_id}/")
    assert not shipment.steps.exists()

    # Stale everywhere: the page asks for one Refresh, and a second open does not add another.
    Shipment.objects.filter(pk=shipment.pk).update(synced_at=timezone.now() - timedelta(hours=1))
    SyncCursor.objects.update(last_synced_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=False):
        browser.get(f"/shipments/{shipment.amazon_id}/")
        browser.get(f"/shipments/{shipment.amazon_id}/")
    refresh = shipment.steps.get(kind=Kind.REFRESH)
    services.run_step(refresh.pk)
    assert len(amazon.calls("getShipment", shipment.amazon_id)) == reads + 1
    with django_capture_on_commit_callbacks(execute=False):
        browser.get(f"/shipments/{shipment.amazon_id}/")
    assert shipment.steps.count() == 1


def test_the_page_shows_the_recent_steps_only(amazon, at_station, django_capture_on_commit_callbacks):
    from fulfillment.shipments import selectors

    shipment = create_shipment(amazon, programme="EASY_SHIP", marketplace_id=INDIA)
    ShipmentStep.objects.bulk_create(
        ShipmentStep(shipment=shipment, kind=Kind.REFRESH, status=ShipmentStep.State.SUCCEEDED,
                     created_at=timezone.now() - timedelta(minutes=n)) for n in range(40))
    detail = selectors.shipment_detail(shipment.amazon_id)
    assert len(detail.recent_steps) == selectors.RECENT_STEPS < 40
    assert detail.recent_steps[0].created_at == max(s.created_at for s in detail.recent_steps)
