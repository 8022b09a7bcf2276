"""A location is an access boundary (issue 12, item 4).

The walk: every URL pattern of fulfillment.urls (the resolver's list; tests/test_permissions.py keeps a
rule for each), filled with location B's station, shipments, claim, documents and packer, asked as the
packer and the supervisor of location A: none answers them with B's objects (a 403 or 404), and no
page they see names anything of B. The same walk as B's own users answers as the permission matrix
says, so the walk can fail. Admins see both.
"""

import re

import pytest
from django.contrib.auth.models import Group, User
from django.urls import get_resolver, reverse
from django.utils import timezone

from fulfillment.accounts import roles
from fulfillment.accounts.models import LocationMembership
from fulfillment.claims import services as claims
from fulfillment.claims.models import Claim
from fulfillment.documents.models import Document
from fulfillment.shipments.models import (
    Package,
    PackageLineItem,
    SerialNumber,
    Shipment,
    ShipmentStep,
)
from fulfillment.stations.models import Station
from fulfillment.stations.selectors import SESSION_KEY
from tests.shipments import factories
from tests.test_permissions import QUERIES, RULES, _outcome, _walk, no_worker  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.4\n%%EOF\n"


def _user(username, role, *locations):
    user = User.objects.create_user(username, password="pw-for-tests-only")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    for location in locations:
        LocationMembership.objects.create(user=user, location_id=location)
    if role == roles.ADMIN:
        user.is_staff = user.is_superuser = True
        user.save()
    return user


def _shipment(tag, location, n, **extra):
    made = factories.shipment(**extra)
    Shipment.objects.filter(pk=made.pk).update(location_id=location, amazon_id=f"{tag}-SHIP-{n}",
                                               buyer_order_id=f"{tag}-ORDER-{n}")
    made.refresh_from_db()
    return made


class Site:
    """One location of a shared floor, with one of everything the URLs name (the attributes
    tests/test_permissions.py's RULES read), its packer and its supervisor."""

    def __init__(self, tag):
        self.location = f"LOC-{tag}"
        self.station = Station.objects.create(name=f"Bench {tag}", location_id=self.location)
        self.shipment = _shipment(tag, self.location, 1, status="SHIPLABEL_GENERATED")
        package = factories.package(self.shipment, label_status=Package.LabelStatus.READY)
        self.label = Document.objects.create(shipment=self.shipment, package=package, kind=Document.Kind.LABEL,
                                             content=PDF, original_format="PDF", content_type="application/pdf",
                                             printable_pdf=PDF)
        self.held = _shipment(tag, self.location, 2)
        self.holder = _user(f"anna-{tag}", roles.PACKER, self.location)
        claims.claim(self.held, self.holder)
        self.step = ShipmentStep.objects.create(shipment=self.shipment, kind="REFRESH", status="SUCCEEDED",
                                                finished_at=timezone.now())
        self.users = {"packer": _user(f"packer-{tag}", roles.PACKER, self.location),
                      "supervisor": _user(f"supervisor-{tag}", roles.SUPERVISOR, self.location)}
        self._packer = _user(f"pat-{tag}", roles.PACKER, self.location)

    def packer(self):
        """A packer of this location a supervisor looks after."""
        return self._packer

    def names(self):
        """Everything of this location a user elsewhere must never read."""
        return [self.location, self.station.name, self.shipment.amazon_id, self.shipment.buyer_order_id,
                self.held.amazon_id, self.held.buyer_order_id, self.holder.username, self._packer.username,
                *(user.username for user in self.users.values())]


@pytest.fixture
def floor():
    return Site("A"), Site("B")


def _content(response):
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode(errors="replace")


def _urls(site):
    """(name, url, methods) of every named URL of ours, its arguments taken from `site`."""
    for name, _route, namespace in _walk(get_resolver().url_patterns):
        if namespace == "admin":
            continue  # Django's admin is the admins' (everywhere); tests/test_permissions.py walks it
        assert name in RULES, f"{name}: no rule in tests/test_permissions.py"
        kwargs, expected = RULES[name]
        args = kwargs(site)
        yield name, reverse(name, kwargs=args) + QUERIES.get(name, lambda f: "")(site), bool(args), expected


@pytest.mark.parametrize("role", ["packer", "supervisor"])
def test_no_url_gives_a_user_of_one_location_anything_of_another(client, floor, role):
    here, there = floor
    user = here.users[role]
    secrets = there.names()
    problems, checked = [], 0
    for name, url, names_objects, expected in _urls(there):
        for method in expected:
            client.force_login(user)
            response = getattr(client, method)(url)
            checked += 1
            body = _content(response)
            if names_objects and response.status_code not in (403, 404):
                problems.append(f"{method.upper()} {url} ({name}): {role} of A got {response.status_code}")
            # What they typed in the scan box comes back in it; nothing else of B may.
            typed = {there.shipment.buyer_order_id} if name == "shipments:open" else set()
            leaked = [s for s in secrets if s not in typed and re.search(rf"{re.escape(s)}(?![\w-])", body)]
            if leaked:
                problems.append(f"{method.upper()} {url} ({name}): {role} of A read {leaked}")
            if response.has_header("HX-Redirect") or response.status_code in (301, 302):
                target = response.get("HX-Redirect") or response["Location"]
                if there.shipment.amazon_id in target:
                    problems.append(f"{method.upper()} {url} ({name}): {role} of A sent on to {target}")
    # Searches and filters naming B: the board, its CSV and the scan box find nothing of B.
    client.force_login(user)
    for name in ("supervision:board", "supervision:export", "shipments:open"):
        for query in ({"q": "SHIP"}, {"q": there.held.buyer_order_id}, {"location": there.location},
                      {"packer": there.holder.pk}):
            response = client.get(reverse(name), query)
            checked += 1
            leaked = [s for s in secrets if s not in query.values() and re.search(rf"{re.escape(s)}(?![\w-])",
                                                                                    _content(response))]
            if leaked:
                problems.append(f"GET {reverse(name)}?{query} ({name}): {role} of A read {leaked}")
    assert not problems, "\n".join(problems)
    assert checked > len(RULES)
    # Nothing of B changed: its claim is still its packer's.
    assert Claim.objects.get(shipment=there.held).user == there.holder


@pytest.mark.parametrize("role", ["packer", "supervisor", "admin"])
def test_the_same_walk_answers_the_users_of_that_location(client, floor, role):
    """The control: B's own users (and an admin, at B's station) get what the permission matrix says."""
    _, there = floor
    user = there.users.get(role) or _user("boss", roles.ADMIN)
    problems = []
    for name, url, _names_objects, expected in _urls(there):
        for method, who in expected.items():
            client.force_login(user)
            if role == "admin":
                client.post(reverse("stations:use", args=[there.station.pk]))
            got = _outcome(getattr(client, method)(url))
            if got not in (who[role] if isinstance(who[role], tuple) else (who[role],)):
                problems.append(f"{method.upper()} {url} ({name}): {role} of B got {got}, expected {who[role]}")
    assert not problems, "\n".join(problems)


def test_a_location_s_own_pages_show_its_shipments(client, floor):
    here, there = floor
    client.force_login(there.users["packer"])
    assert there.shipment.amazon_id in client.get(reverse("shipments:detail", args=[there.shipment.amazon_id])).content.decode()
    pdf = client.get(reverse("shipments:document_pdf", args=[there.shipment.amazon_id, there.label.pk]))
    assert pdf.status_code == 200 and pdf.content == PDF
    queue = client.get(reverse("shipments:queue")).content.decode()
    assert there.held.amazon_id in queue and here.held.amazon_id not in queue
    client.force_login(there.users["supervisor"])
    board = client.get(reverse("supervision:board"), {"q": "SHIP"}).content.decode()
    assert there.shipment.amazon_id in board and here.shipment.amazon_id not in board
    assert there._packer.username in client.get(reverse("accounts:people")).content.decode()
    client.force_login(_user("boss", roles.ADMIN))
    board = client.get(reverse("supervision:board"), {"q": "SHIP"}).content.decode()
    assert there.shipment.amazon_id in board and here.shipment.amazon_id in board  # admins see everywhere


def test_a_packer_cannot_claim_another_location_s_shipment_and_lock_its_packer_out(client, floor):
    """The issue's case: claim ids are sequential; a Station 1 packer took a location-2 shipment."""
    here, there = floor
    mine = _shipment("B", there.location, 3)
    client.force_login(here.users["packer"])
    answer = client.post(reverse("claims:heartbeat", args=[mine.pk]), {"mode": "take"})
    assert answer.status_code == 404 and not Claim.objects.filter(shipment=mine).exists()
    assert client.post(reverse("claims:release", args=[there.held.pk])).status_code == 404
    assert Claim.objects.get(shipment=there.held).user == there.holder


def test_the_scan_box_and_the_serial_check_never_name_another_location_s_shipment(client, floor):
    here, there = floor
    client.force_login(here.users["packer"])
    scanned = client.get(reverse("shipments:open"), {"q": there.shipment.amazon_id}, HTTP_HX_REQUEST="true")
    html = scanned.content.decode()
    assert "No shipment found for" in html and "here" in html and "HX-Redirect" not in scanned
    assert there.location not in html and "another location" not in html
    # A serial held by B's shipment: refused here too, without B's shipment id.
    for shipment, serial in ((there.shipment, "SN-SHARED-1"), (here.held, "SN-OURS-1")):
        item = PackageLineItem.objects.filter(package__shipment=shipment).first()
        item = item or factories.package(shipment).items.first()
        SerialNumber.objects.create(shipment=shipment, package_line_item=item, serial=serial)
    packing = _shipment("A", here.location, 9, status="CONFIRMED")
    url = reverse("shipments:check_serial", args=[packing.amazon_id])
    theirs = client.post(url, {"field": "p-0-serial_1_1", "p-0-serial_1_1": "SN-SHARED-1"}).content.decode()
    assert "already used on another shipment" in theirs and there.shipment.amazon_id not in theirs
    ours = client.post(url, {"field": "p-0-serial_1_1", "p-0-serial_1_1": "SN-OURS-1"}).content.decode()
    assert f"already used on shipment {here.held.amazon_id}" in ours  # at our own location it is named


def test_a_user_of_both_locations_is_told_where_a_scanned_shipment_is(client, floor):
    here, there = floor
    both = _user("floor-lead", roles.PACKER, here.location, there.location)
    client.force_login(both)
    client.post(reverse("stations:use", args=[here.station.pk]))
    html = client.get(reverse("shipments:open"), {"q": there.shipment.amazon_id}).content.decode()
    assert f"belongs to location {there.location}" in html


def test_a_station_the_user_may_no_longer_use_is_dropped_from_the_session(client, floor):
    here, there = floor
    both = _user("floor-lead", roles.SUPERVISOR, here.location, there.location)
    client.force_login(both)
    client.post(reverse("stations:use", args=[there.station.pk]))
    assert client.session[SESSION_KEY] == there.station.pk
    LocationMembership.objects.filter(user=both, location_id=there.location).delete()
    queue = client.get(reverse("shipments:queue"))
    assert queue.context["station"] == here.station  # their one station now, without a choice
    assert client.session.get(SESSION_KEY) is None
    assert client.get(reverse("shipments:detail", args=[there.shipment.amazon_id])).status_code == 404


def test_without_a_location_a_user_of_a_shared_floor_sees_nothing(client, floor):
    here, there = floor
    client.force_login(_user("newcomer", roles.SUPERVISOR))
    assert list(client.get(reverse("stations:choose")).context["stations"]) == []
    board = client.get(reverse("supervision:board"), {"q": "SHIP"}).content.decode()
    assert here.shipment.amazon_id not in board and there.shipment.amazon_id not in board
    assert client.get(reverse("supervision:history", args=[here.shipment.amazon_id])).status_code == 404


def test_an_admin_gives_a_user_their_locations_on_the_user_page(client, floor):
    here, _ = floor
    client.force_login(_user("boss", roles.ADMIN))
    newcomer = _user("newcomer", roles.PACKER)
    url = reverse("admin:auth_user_change", args=[newcomer.pk])
    page = client.get(url).content.decode()
    assert "Locations (where this user works" in page and 'name="location_memberships-0-location_id"' in page
    form = client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "password"}
    data.update({"groups": [g.pk for g in newcomer.groups.all()], "date_joined_0": "2026-01-01",
                 "date_joined_1": "00:00:00", "location_memberships-TOTAL_FORMS": "1",
                 "location_memberships-INITIAL_FORMS": "0", "location_memberships-0-location_id": here.location})
    data.pop("last_login", None)
    data.pop("date_joined", None)
    saved = client.post(url, data)
    assert saved.status_code == 302, saved.context["adminform"].form.errors if saved.context else saved
    assert list(newcomer.location_memberships.values_list("location_id", flat=True)) == [here.location]
    client.force_login(newcomer)
    assert [s.name for s in client.get(reverse("stations:choose")).context["stations"]] == [here.station.name]
