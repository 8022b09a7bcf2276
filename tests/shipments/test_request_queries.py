"""What the packer's most frequent requests read, counted: a signed-in request reads the user (with roles
and locations) and the station; the polls then read the shipment's row and its steps; the body adds the
page's read (selectors.shipment_detail) and nothing per panel it draws."""

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse
from django.utils import timezone

from fulfillment.accounts import roles
from fulfillment.accounts.models import LocationMembership
from fulfillment.shipments.models import ShipmentStep
from fulfillment.stations.models import Station

from . import factories

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def packer_client(client):
    user = User.objects.create_user("packer-q", password="pw-for-tests-only")
    user.groups.add(Group.objects.get_or_create(name=roles.PACKER)[0])
    LocationMembership.objects.create(user=user, location_id="LOC")
    station = Station.objects.create(name="Q", location_id="LOC")
    Station.objects.create(name="Elsewhere", location_id="LOC-2")
    client.force_login(user)
    client.post(reverse("stations:use", args=[station.pk]))
    return client


@pytest.fixture
def accepted():
    """A shipment the Pack & label form is shown for (one line, Amazon's box), just synced."""
    return factories.shipment(recommended_length=20, recommended_width=15, recommended_height=10,
                              recommended_dimension_unit="CM", recommended_weight=500,
                              recommended_weight_unit="GRAMS", synced_at=timezone.now())


def test_the_chain_poll_reads_the_user_the_station_the_shipment_and_its_steps(packer_client, accepted,
                                                                               django_assert_num_queries):
    ShipmentStep.objects.create(shipment=accepted, kind="CONFIRM", status="RUNNING", payload={"chain": "pack_and_label"})
    with django_assert_num_queries(4):
        answer = packer_client.get(reverse("shipments:chain", args=[accepted.amazon_id]), **HTMX)
    assert answer.status_code == 200


def test_the_body_of_a_shipment_to_pack_reads_the_page_once(packer_client, accepted, django_assert_num_queries):
    with django_assert_num_queries(10):  # user, station, the page read (7), events, box presets
        answer = packer_client.get(reverse("shipments:body", args=[accepted.amazon_id]), **HTMX)
    assert answer.status_code == 200
    assert 'id="fast-path"' in answer.content.decode()  # the Pack & label form, with the scan bar above it
    assert 'id="scan-pack"' in answer.content.decode()
