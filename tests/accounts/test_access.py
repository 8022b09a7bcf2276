"""Roles and memberships are kept in Redis between requests (accounts.access): a poll reads none of
their rows, and a change to any of them, or to the floor's stations, counts at the very next request."""

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from fulfillment.accounts import roles
from fulfillment.accounts.models import LocationMembership
from fulfillment.shipments.models import ShipmentStep
from fulfillment.stations.models import Station
from tests.shipments import factories

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def floor(client):
    """Two locations; a packer of location 1 at its station, with a step to poll."""
    one = Station.objects.create(name="One", location_id="LOC")
    Station.objects.create(name="Two", location_id="LOC-2")
    user = User.objects.create_user("pia", password="pw-for-tests-only")
    user.groups.add(Group.objects.get_or_create(name=roles.PACKER)[0])
    membership = LocationMembership.objects.create(user=user, location_id="LOC")
    client.force_login(user)
    client.post(reverse("stations:use", args=[one.pk]))
    shipment = factories.shipment()  # at location "LOC"
    step = ShipmentStep.objects.create(shipment=shipment, kind="CONFIRM", status="RUNNING")
    url = reverse("shipments:step", args=[shipment.amazon_id, step.pk])
    return {"user": user, "station": one, "membership": membership, "url": url}


def _polls(answer) -> bool:
    """The step is shown and polled (not a refusal, nor a redirect to choose a station)."""
    return answer.status_code == 200 and 'hx-trigger="every 1s"' in answer.content.decode()


def _tables(queries):
    return {q["sql"].split(" FROM ", 1)[1].split()[0].strip('"') for q in queries.captured_queries if " FROM " in q["sql"]}


def test_a_poll_reads_no_group_or_membership_row_once_they_are_kept(client, floor):
    assert _polls(client.get(floor["url"], **HX))
    with CaptureQueriesContext(connection) as queries:
        answer = client.get(floor["url"], **HX)
    assert _polls(answer)
    assert not {"auth_group", "accounts_locationmembership", "django_session"} & _tables(queries)


def test_a_membership_taken_away_counts_at_the_next_request(client, floor):
    assert _polls(client.get(floor["url"], **HX))
    floor["membership"].delete()  # the floor has two locations: no membership, nothing to see
    assert not _polls(client.get(floor["url"], **HX))


def test_a_role_taken_away_counts_at_the_next_request(client, floor):
    assert _polls(client.get(floor["url"], **HX))
    floor["user"].groups.clear()
    assert client.get(floor["url"], **HX).status_code == 403


def test_a_station_moved_to_another_location_counts_at_the_next_request(client, floor):
    assert _polls(client.get(floor["url"], **HX))
    floor["station"].location_id = "LOC-2"
    floor["station"].save()
    # The station is no longer one of the packer's: they are sent to choose one, the shipment is not shown.
    assert not _polls(client.get(floor["url"], **HX))
