"""The sign-in backend reads the user's roles and locations with the user, on every request: one
query where there were three, and a change of groups or memberships counts from the next request."""

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from fulfillment.accounts import roles
from fulfillment.accounts.backends import PackbenchBackend
from fulfillment.accounts.locations import locations_of
from fulfillment.accounts.models import LocationMembership
from fulfillment.stations.models import Station

pytestmark = pytest.mark.django_db


@pytest.fixture
def packer():
    user = User.objects.create_user("packer-b", password="pw-for-tests-only")
    user.groups.add(Group.objects.get_or_create(name=roles.PACKER)[0])
    LocationMembership.objects.create(user=user, location_id="LOC-A")
    Station.objects.create(name="A", location_id="LOC-A")
    Station.objects.create(name="B", location_id="LOC-B")  # two locations: memberships count
    return user


def test_the_user_comes_with_their_roles_and_locations_in_one_query(packer, django_assert_num_queries):
    with django_assert_num_queries(1):
        user = PackbenchBackend().get_user(packer.pk)
        assert roles.has_role(user, roles.PACKER) and not roles.has_role(user, roles.SUPERVISOR)
        assert locations_of(user).ids == frozenset({"LOC-A"})


def test_an_inactive_or_missing_user_is_nobody(packer):
    assert PackbenchBackend().get_user(packer.pk + 1000) is None
    packer.is_active = False
    packer.save()
    assert PackbenchBackend().get_user(packer.pk) is None


def test_a_signed_in_request_reads_the_user_and_the_station_only(client, packer, django_assert_num_queries):
    client.force_login(packer)
    assert client.post(reverse("stations:use", args=[Station.objects.get(location_id="LOC-A").pk])).status_code == 302
    with django_assert_num_queries(2):  # the user (roles and locations with it) and the chosen station
        assert client.get("/favicon.ico").status_code == 301


def test_a_role_or_location_taken_away_counts_from_the_next_request(client, packer):
    client.force_login(packer)
    station = Station.objects.get(location_id="LOC-A")
    client.post(reverse("stations:use", args=[station.pk]))
    assert client.get(reverse("shipments:queue")).status_code == 200
    LocationMembership.objects.filter(user=packer).update(location_id="LOC-B")
    answer = client.get(reverse("shipments:queue"))  # the station of LOC-A is no longer theirs: B's is
    assert answer.status_code == 200 and answer.context["station"].location_id == "LOC-B"
    packer.groups.clear()
    assert client.get(reverse("shipments:queue")).status_code == 403
