"""The permission matrix: every URL pattern of fulfillment.urls against each role.

The URL list comes from the resolver, so a URL added without a rule here fails the test. Rules:
anonymous is sent to the login page (the login page itself excepted); packers, supervisors and
admins see station screens; only packers and admins act on them (POST), but for a supervisor's
decision made at the station (an MFN label purchase in doubt); supervision is for
supervisors and admins (403 for packers); Django's admin is for admins (everyone else goes to
the admin login). Admin URLs are covered by one rule for the whole admin site, so a newly
registered model is checked without a new rule.
"""

import re

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from fulfillment.accounts import roles
from fulfillment.claims import services as claims
from fulfillment.documents.models import Document
from fulfillment.shipments import services, tasks
from fulfillment.shipments.models import Package, Shipment, ShipmentStep
from fulfillment.stations.models import Station
from tests.shipments import factories

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "packer", "supervisor", "admin")
# What each kind of URL answers each role: ok (200, or a redirect that is not to a login page),
# login (to our login page), admin_login (to the admin's), forbidden (403), not_found (404).
EVERYONE = {"anonymous": "login", "packer": "ok", "supervisor": "ok", "admin": "ok"}
PUBLIC = {"anonymous": "ok", "packer": "ok", "supervisor": "ok", "admin": "ok"}
STATION_SCREEN = EVERYONE
PACKING_ACTION = {"anonymous": "login", "packer": "ok", "supervisor": "forbidden", "admin": "ok"}
SUPERVISING = {"anonymous": "login", "packer": "forbidden", "supervisor": "ok", "admin": "ok"}
# Anonymous: Django's admin sends its own pages to its login, model pages go through LoginRequiredMiddleware.
ANY_LOGIN = ("login", "admin_login")
ADMIN_SITE = {"anonymous": ANY_LOGIN, "packer": "admin_login", "supervisor": "admin_login", "admin": "ok"}


class Floor:
    """One of everything the URLs name, at the only station (so no station has to be chosen)."""

    def __init__(self):
        self.station = Station.objects.create(name="Bench A", location_id="LOC")
        self.shipment = factories.shipment(status="SHIPLABEL_GENERATED")
        package = factories.package(self.shipment, label_status=Package.LabelStatus.READY)
        pdf = b"%PDF-1.4\n%%EOF\n"
        self.label = Document.objects.create(shipment=self.shipment, package=package, kind=Document.Kind.LABEL,
                                             content=pdf, original_format="PDF", content_type="application/pdf",
                                             printable_pdf=pdf)
        # Held by another packer: only a supervisor or an admin may release it.
        self.held = factories.shipment()
        claims.claim(self.held, User.objects.create_user("anna", password="pw-for-tests-only"))
        self.step = ShipmentStep.objects.create(shipment=self.shipment, kind="REFRESH", status="SUCCEEDED",
                                                finished_at=timezone.now())

    def packer(self):
        """A packer a supervisor looks after (not the user the test signs in as)."""
        user, created = User.objects.get_or_create(username="pat-on-the-floor")
        if created:
            user.groups.add(Group.objects.get_or_create(name=roles.PACKER)[0])
        return user


def _shipment(floor, **extra):
    return {"amazon_id": floor.shipment.amazon_id, **extra}


# name -> (kwargs from the floor, {method: who may}); every non-admin URL name needs one.
GET, POST = "get", "post"
RULES = {
    "home": (lambda f: {}, {GET: EVERYONE}),
    "accounts:login": (lambda f: {}, {GET: PUBLIC}),
    "favicon": (lambda f: {}, {GET: PUBLIC}),
    "accounts:logout": (lambda f: {}, {POST: {role: "login" for role in ROLES}}),  # signed out, back to login
    "accounts:password_change": (lambda f: {}, {GET: EVERYONE, POST: EVERYONE}),  # their own password
    "accounts:people": (lambda f: {}, {GET: SUPERVISING}),
    # A supervisor looks after packers (an admin after everyone): unlock, and a new password.
    "accounts:unlock": (lambda f: {"pk": f.packer().pk}, {POST: SUPERVISING}),
    "accounts:set_password": (lambda f: {"pk": f.packer().pk}, {GET: SUPERVISING, POST: SUPERVISING}),
    "stations:choose": (lambda f: {}, {GET: EVERYONE}),
    "stations:use": (lambda f: {"pk": f.station.pk}, {POST: EVERYONE}),  # supervisors pick one for reprints
    "shipments:queue": (lambda f: {}, {GET: STATION_SCREEN}),
    "shipments:queue_list": (lambda f: {}, {GET: STATION_SCREEN}),
    "shipments:open": (lambda f: {}, {GET: STATION_SCREEN}),
    "shipments:sync": (lambda f: {}, {GET: STATION_SCREEN, POST: PACKING_ACTION}),
    "shipments:detail": (_shipment, {GET: STATION_SCREEN}),
    "shipments:body": (_shipment, {GET: STATION_SCREEN}),
    "shipments:header": (_shipment, {GET: STATION_SCREEN}),
    "shipments:step": (lambda f: _shipment(f, step_id=f.step.pk), {GET: STATION_SCREEN}),
    "shipments:chain": (_shipment, {GET: STATION_SCREEN}),
    "shipments:reject": (_shipment, {GET: STATION_SCREEN, POST: PACKING_ACTION}),
    "shipments:packages": (_shipment, {GET: STATION_SCREEN, POST: PACKING_ACTION}),
    "shipments:document_pdf": (lambda f: _shipment(f, document_id=f.label.pk), {GET: STATION_SCREEN}),
    "shipments:document_download": (lambda f: _shipment(f, document_id=f.label.pk), {GET: STATION_SCREEN}),
    "shipments:run": (lambda f: _shipment(f, kind="REFRESH"), {POST: PACKING_ACTION}),
    "shipments:mfn_step": (lambda f: _shipment(f, kind="MFN_CONFIRM"), {POST: PACKING_ACTION}),
    # A label purchase in doubt is settled by a supervisor (or an admin), at the station.
    "shipments:mfn_label_check": (_shipment, {POST: SUPERVISING}),
    "shipments:verify": (_shipment, {POST: PACKING_ACTION}),
    "shipments:skip_verification": (_shipment, {POST: PACKING_ACTION}),
    "shipments:check_serial": (_shipment, {POST: PACKING_ACTION}),
    "shipments:choose_option": (_shipment, {POST: PACKING_ACTION}),
    "shipments:regenerate_labels": (_shipment, {POST: PACKING_ACTION}),
    "shipments:print_all_labels": (_shipment, {POST: PACKING_ACTION}),
    "shipments:pack_and_label": (_shipment, {POST: PACKING_ACTION}),
    "shipments:packing_slip": (_shipment, {POST: PACKING_ACTION}),
    "shipments:print_label": (lambda f: _shipment(f, document_id=f.label.pk), {POST: PACKING_ACTION}),
    "shipments:label_printed": (lambda f: _shipment(f, document_id=f.label.pk), {POST: PACKING_ACTION}),
    "shipments:scale": (_shipment, {GET: STATION_SCREEN}),
    "shipments:scan": (_shipment, {POST: PACKING_ACTION}),
    "shipments:command_sheet": (lambda f: {}, {GET: STATION_SCREEN}),
    "shipments:label_preview": (lambda f: _shipment(f, document_id=f.label.pk), {GET: STATION_SCREEN}),
    "shipments:print_document": (lambda f: _shipment(f, document_id=f.label.pk), {POST: PACKING_ACTION}),
    "stations:devices": (lambda f: {}, {GET: STATION_SCREEN}),
    "shipments:supervisor_label_preview": (lambda f: {"document_id": f.label.pk}, {GET: SUPERVISING}),
    "claims:heartbeat": (lambda f: {"pk": f.held.pk}, {GET: EVERYONE}),
    "claims:release": (lambda f: {"pk": f.held.pk}, {POST: SUPERVISING}),  # a packer only lets go of their own
    "supervision:board": (lambda f: {}, {GET: SUPERVISING}),
    "supervision:export": (lambda f: {}, {GET: SUPERVISING}),
    "supervision:history": (lambda f: {"shipment_id": f.shipment.amazon_id}, {GET: SUPERVISING}),
    "supervision:document": (lambda f: {"pk": f.label.pk}, {GET: SUPERVISING}),
    "supervision:reprint": (lambda f: {"pk": f.label.pk}, {POST: SUPERVISING}),
}
QUERIES = {"shipments:open": lambda f: f"?q={f.shipment.buyer_order_id}"}  # a scanned order opens its shipment


def _walk(patterns, route="", namespace=None):
    """(qualified name or None, full route, namespace) of every URL pattern."""
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = ":".join(filter(None, [namespace, entry.namespace])) or None
            yield from _walk(entry.url_patterns, route + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            yield name, route + str(entry.pattern), namespace


def _fill(route, values):
    """The route with each converter or named group replaced by its sample value."""
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(values[m[1]]), route)
    route = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m[1]]), route)
    return "/" + route.replace("^", "").replace("$", "")


def _admin_rule(name, route, admin_user):
    """One rule for the whole admin site, kwargs from the model the route names. An admin may do
    what each ModelAdmin allows (audit records such as Amazon calls cannot be added, for one)."""
    model_route = re.match(r"admin/(\w+)/(\w+)/", route)
    model = next((m for m in admin.site._registry if model_route and
                  (m._meta.app_label, m._meta.model_name) == model_route.groups()), None)
    row = model.objects.order_by("pk").first() if model else None
    values = {"object_id": row.pk if row else 1, "id": admin_user.pk, "app_label": "shipments",
              "content_type_id": ContentType.objects.get_for_model(Shipment).pk, "url": "no-such-page/"}
    url = _fill(route, values)
    if model is not None:
        model_admin, request = admin.site._registry[model], RequestFactory().get("/")
        request.user = admin_user
        allowed = {"add": model_admin.has_add_permission(request),
                   "delete": model_admin.has_delete_permission(request, row),
                   "change": model_admin.has_view_or_change_permission(request, row)}
        action = next((a for a in allowed if name and name.endswith(f"_{a}")), None)
        if action and not allowed[action]:
            return url, {GET: {**ADMIN_SITE, "admin": "forbidden"}}
    if name == "admin:login":
        return url, {GET: PUBLIC}  # the admin's own login page (an admin is sent on to the index)
    if name == "admin:logout":  # an admin is signed out; anyone else is not the admin's to sign out
        return url, {POST: {"anonymous": ANY_LOGIN, "packer": "ok", "supervisor": "ok", "admin": "login"}}
    if name == "admin:autocomplete":  # no model here offers autocomplete: refused even to an admin
        return url, {GET: {**ADMIN_SITE, "admin": "forbidden"}}
    if name == "admin:view_on_site" or route.endswith("(?P<url>.*)$"):
        # A shipment has no page on the site, and no admin page answers an unknown address.
        return url, {GET: {**ADMIN_SITE, "admin": "not_found"}}
    return url, {GET: ADMIN_SITE}


def _outcome(response):
    if response.status_code in (301, 302):
        target = response["Location"]
        if target.startswith(reverse("accounts:login")):
            return "login"
        if target.startswith(reverse("admin:login")):
            return "admin_login"
        return "ok"
    return {200: "ok", 403: "forbidden", 404: "not_found"}.get(response.status_code, str(response.status_code))


def _user(role):
    if role == "anonymous":
        return None
    group = {"packer": roles.PACKER, "supervisor": roles.SUPERVISOR, "admin": roles.ADMIN}[role]
    user = User.objects.create_user(f"{role}-user", password="pw-for-tests-only")
    user.groups.add(Group.objects.get_or_create(name=group)[0])
    if role == "admin":  # as seed_demo_users makes them: the admin site is theirs too
        user.is_staff = user.is_superuser = True
        user.save()
    return user


@pytest.fixture(autouse=True)
def no_worker(monkeypatch):
    """Nothing is queued for a worker: no Amazon step, no sync (and no sync mark left behind)."""
    monkeypatch.setattr(services.steps, "enqueue_step", lambda step_id: None)
    monkeypatch.setattr(tasks.sync_account_task, "delay", lambda seller_account: None)
    yield
    # Syncs are per seller account: the stations here use the settings' account.
    cache.delete_many(["shipments:sync:default", "shipments:sync-asked:default"])


@pytest.mark.parametrize("role", ROLES)
def test_every_url_answers_each_role_as_designed(client, role):
    floor = Floor()
    user = _user(role)
    admin_user = user or _user("admin")
    problems, checked = [], 0
    for name, route, namespace in _walk(get_resolver().url_patterns):
        if namespace == "admin":
            url, expected = _admin_rule(name, route, admin_user)
        elif name in RULES:
            kwargs, expected = RULES[name]
            url = reverse(name, kwargs=kwargs(floor)) + QUERIES.get(name, lambda f: "")(floor)
        else:
            problems.append(f"{name or route}: no rule in tests/test_permissions.py")
            continue
        for method, who in expected.items():
            if user is not None:
                client.force_login(user)  # every request as the role (logout and release change things)
            got = _outcome(getattr(client, method)(url))
            checked += 1
            if got not in (who[role] if isinstance(who[role], tuple) else (who[role],)):
                problems.append(f"{method.upper()} {url} ({name}): {role} got {got}, expected {who[role]}")
    assert not problems, "\n".join(problems)
    assert checked > len(RULES)


def test_no_rule_is_left_for_a_url_that_is_gone():
    names = {name for name, _, namespace in _walk(get_resolver().url_patterns) if namespace != "admin"}
    assert set(RULES) <= names, set(RULES) - names


def test_sign_out_is_a_post_and_ends_the_session(client):
    user = _user("packer")
    client.force_login(user)
    assert client.get(reverse("accounts:logout")).status_code == 405
    assert _outcome(client.post(reverse("accounts:logout"))) == "login"
    assert _outcome(client.get(reverse("shipments:queue"))) == "login"


@pytest.mark.parametrize("role, start", [("packer", "shipments:queue"), ("supervisor", "supervision:board"),
                                         ("admin", "shipments:queue")])
def test_each_role_starts_on_its_own_screen(client, role, start):
    """Issue 9, defect 8: supervisors landed on "Which station are you at?" instead of the board."""
    client.force_login(_user(role))
    assert client.get(reverse("home"))["Location"] == reverse(start)
