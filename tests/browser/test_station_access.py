"""Who may act on a shipment at the station, through Django's test client (no Amazon): the claim
(one packer at a time), the roles (supervisors look, packers act), the skipped-scan note, the
queue's Amazon freshness line and an expired session under HTMX polling."""

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from fulfillment.accounts import roles
from fulfillment.claims import services as claims
from fulfillment.claims.models import Claim
from fulfillment.documents.models import Document
from fulfillment.shipments import services, tasks, workflow
from fulfillment.shipments.models import Package, ShipmentEvent, ShipmentStep
from fulfillment.stations.models import Station
from fulfillment.stations.selectors import SESSION_KEY
from tests.shipments import factories

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
HELD = "anna is working on this shipment. Pick another one from the queue, or ask a supervisor to release it."


@pytest.fixture(autouse=True)
def no_worker(monkeypatch):
    monkeypatch.setattr(services.steps, "enqueue_step", lambda step_id: None)


@pytest.fixture
def station():
    return Station.objects.create(name="Bench A", location_id="LOC", timezone="Asia/Kolkata")


def _user(username, role):
    user = User.objects.create_user(username, password="pw-for-tests-only")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


def _at_station(client, user, station):
    client.force_login(user)
    session = client.session
    session[SESSION_KEY] = station.pk
    session.save()
    return client


@pytest.fixture
def anna():
    return _user("anna", roles.PACKER)


@pytest.fixture
def ben(client, station):
    return _at_station(client, _user("ben", roles.PACKER), station)


# --- Claims ----------------------------------------------------------------------------------------------


def _every_shipment_action(shipment, label):
    """(url, data) of every station POST that changes a shipment."""
    args = [shipment.amazon_id]
    box = {"pkg-0-length": "20", "pkg-0-width": "15", "pkg-0-height": "10", "pkg-0-dimension_unit": "CM",
           "pkg-0-weight": "360", "pkg-0-weight_unit": "G"}
    packages = {"pkg-TOTAL_FORMS": "1", "pkg-INITIAL_FORMS": "0", "pkg-0-qty_1": "1", "form_action": "save", **box}
    return [
        (reverse("shipments:run", args=[*args, "CONFIRM"]), {}),
        (reverse("shipments:reject", args=args), {"reason_1": "OUT_OF_STOCK", "confirmed": "1"}),
        (reverse("shipments:verify", args=args), {"code": "SKU-1"}),
        (reverse("shipments:skip_verification", args=args), {}),
        (reverse("shipments:packages", args=args), packages),
        (reverse("shipments:choose_option", args=args), {"option": "1"}),
        (reverse("shipments:regenerate_labels", args=args), {"reason": "torn"}),
        (reverse("shipments:print_all_labels", args=args), {}),
        (reverse("shipments:pack_and_label", args=args), {k.replace("pkg-0-", "fp-"): v for k, v in box.items()}),
        (reverse("shipments:packing_slip", args=args), {}),
        (reverse("shipments:print_label", args=[*args, label.pk]), {}),
    ]


def test_a_second_packer_sees_who_holds_the_shipment_and_every_action_is_refused(ben, anna):
    made = factories.shipment(recommended_length=20, recommended_width=15, recommended_height=10,
                              recommended_dimension_unit="CM", recommended_weight=300, recommended_weight_unit="G")
    label = Document.objects.create(shipment=made, package=factories.package(made), kind=Document.Kind.LABEL,
                                    content=b"^XA^XZ", original_format="ZPL", content_type="application/zpl")
    claims.claim(made, anna)
    page = ben.get(reverse("shipments:detail", args=[made.amazon_id])).content.decode()
    assert 'data-claim-state="other"' in page and "anna</strong> is working on this shipment" in page
    steps, events = ShipmentStep.objects.count(), ShipmentEvent.objects.count()

    for url, data in _every_shipment_action(made, label):
        refused = ben.post(url, data, **HX)
        assert refused.status_code == 200, url
        assert refused["HX-Retarget"] == "#shipment" and refused["HX-Reswap"] == "innerHTML", url
        html = refused.content.decode()
        assert "data-flash" in html and HELD in html, url
        plain = ben.post(url, data, follow=True)
        assert plain.redirect_chain[0][0] == reverse("shipments:detail", args=[made.amazon_id]), url
        assert HELD in [str(m) for m in plain.context["messages"]], url
        # Nothing was done: no Amazon step, no note, nothing scanned or saved; anna keeps it.
        assert (ShipmentStep.objects.count(), ShipmentEvent.objects.count()) == (steps, events), url
    assert not made.line_items.filter(scanned_units__gt=0).exists()
    assert Claim.objects.get(shipment=made).user == anna


def test_acting_claims_the_shipment_and_a_lapsed_claim_is_taken_over(ben, anna):
    made = factories.shipment()
    claims.claim(made, anna)
    Claim.objects.update(lease_expires_at=timezone.now() - timedelta(seconds=1))  # anna left the bench
    ben.post(reverse("shipments:run", args=[made.amazon_id, "CONFIRM"]), **HX)
    assert Claim.objects.get(shipment=made).user.username == "ben"
    assert ShipmentStep.objects.filter(shipment=made, kind="CONFIRM", requested_by__username="ben").exists()


def test_the_page_claims_on_open_for_a_packer_and_shows_the_claim_panel(ben):
    made = factories.shipment()
    html = ben.get(reverse("shipments:detail", args=[made.amazon_id])).content.decode()
    assert f'hx-post="{reverse("claims:heartbeat", args=[made.pk])}"' in html and '"mode": "open"' in html


# --- Roles -----------------------------------------------------------------------------------------------


def test_a_supervisor_watches_a_station_read_only(client, station, anna):
    made = factories.shipment(status="SHIPLABEL_GENERATED")
    package = factories.package(made, label_status=Package.LabelStatus.READY)
    label = Document.objects.create(shipment=made, package=package, kind=Document.Kind.LABEL, content=b"%PDF-1.4",
                                    original_format="PDF", content_type="application/pdf", printable_pdf=b"%PDF-1.4")
    claims.claim(made, anna)
    sofia = _at_station(client, _user("sofia", roles.SUPERVISOR), station)
    html = sofia.get(reverse("shipments:detail", args=[made.amazon_id])).content.decode()
    assert "data-read-only" in html and "The packer working on this shipment does this step." in html
    for action in ("PRINT_ALL", "REGENERATE", 'data-action="SHIP"'):
        assert action not in html
    assert "Release" in html  # the claim panel keeps the supervisor's release
    assert sofia.get(reverse("shipments:queue")).status_code == 200
    assert sofia.post(reverse("shipments:run", args=[made.amazon_id, "SHIP"]), **HX).status_code == 403
    # Opening a label from the station does not count as the packer's print, and a supervisor cannot say it printed.
    assert sofia.get(reverse("shipments:document_pdf", args=[made.amazon_id, label.pk])).status_code == 200
    assert sofia.post(reverse("shipments:label_printed", args=[made.amazon_id, label.pk]), **HX).status_code == 403
    package.refresh_from_db()
    assert package.label_printed_at is None
    assert not ShipmentStep.objects.filter(shipment=made, kind="SHIP").exists()
    assert Claim.objects.get(shipment=made).user == anna


def test_a_supervisor_opening_a_free_shipment_does_not_claim_it(client, station):
    made = factories.shipment()
    sofia = _at_station(client, _user("sofia", roles.SUPERVISOR), station)
    html = sofia.get(reverse("shipments:detail", args=[made.amazon_id])).content.decode()
    assert '"mode": "open"' not in html and 'data-action="CONFIRM"' not in html


# --- Skipped verification -------------------------------------------------------------------------------


def test_skipping_the_scan_is_noted_in_the_history_and_opens_the_packages_form(ben):
    made = factories.shipment(status="CONFIRMED", lines=(("SKU-A", 2), ("SKU-B", 1)))
    ben.post(reverse("shipments:verify", args=[made.amazon_id]), {"code": "SKU-A"}, **HX)
    html = ben.post(reverse("shipments:skip_verification", args=[made.amazon_id]), **HX).content.decode()
    assert 'id="packages-form"' in html
    note = ShipmentEvent.objects.get(shipment=made, data__verification="skipped")
    assert note.message == "Scanning skipped: packed with 1 of 3 units scanned."
    assert note.user.username == "ben" and note.data["scanned"] == 1
    body = ben.get(reverse("shipments:body", args=[made.amazon_id]), **HX).content.decode()
    assert "Scanning skipped: packed with 1 of 3 units scanned." in body  # in the history the supervisor reads
    # The skip holds: opening the shipment again goes on to packing, not back to the scan.
    made.refresh_from_db()
    assert made.scan_skipped_at is not None and workflow.next_action(made).kind == workflow.PACK
    page = ben.get(reverse("shipments:detail", args=[made.amazon_id])).content.decode()
    assert 'data-action="SKIP_VERIFY"' not in page and 'id="packages-form"' in page


# --- Amazon freshness on the queue ----------------------------------------------------------------------


@pytest.fixture
def no_sync_marks():
    keys = ["shipments:sync:default", "shipments:sync-asked:default"]
    cache.delete_many(keys)
    yield
    cache.delete_many(keys)


def test_the_queue_says_how_long_ago_amazon_was_checked(ben, no_sync_marks):
    assert "Amazon not checked yet" in ben.get(reverse("shipments:queue")).content.decode()
    factories.synced(timezone.now() - timedelta(seconds=42))
    html = ben.get(reverse("shipments:queue")).content.decode()
    assert "Amazon checked <span data-age=\"42\"" in html and ">42 s</span> ago" in html
    factories.synced(timezone.now() - timedelta(minutes=12), error="Amazon is busy right now.")
    html = ben.get(reverse("shipments:sync"), **HX).content.decode()
    assert ">12 min</span> ago" in html and "Last check failed: Amazon is busy right now." in html


def test_sync_now_asks_once_and_the_button_waits_for_the_sync(ben, no_sync_marks, monkeypatch):
    queued = []
    monkeypatch.setattr(tasks.sync_account_task, "delay", queued.append)
    url = reverse("shipments:sync")
    asked = ben.post(url, **HX).content.decode()
    ben.post(url, **HX)  # a second press while it runs asks for nothing more
    assert queued == ["default"]  # the location's seller account is synced, all its locations at once
    assert 'data-sync-running="true"' in asked and "Checking Amazon" in asked and " disabled" in asked
    assert 'hx-trigger="every 2s"' in asked and "HX-Trigger" not in ben.post(url, **HX)

    def synced(seller_account, **kwargs):
        factories.synced(timezone.now(), account=seller_account)

    monkeypatch.setattr(services, "sync_account", synced)
    tasks.sync_account_task.run("default")  # the worker's task body
    done = ben.get(url + "?running=1", **HX)
    assert "queue-synced" in json.loads(done["HX-Trigger"])  # the queue redraws at once
    html = done.content.decode()
    assert 'data-sync-running="false"' in html and "Sync now" in html and "Amazon checked" in html


def test_a_supervisor_sees_freshness_but_no_sync_button(client, station, no_sync_marks):
    sofia = _at_station(client, _user("sofia", roles.SUPERVISOR), station)
    assert 'data-action="SYNC_NOW"' not in sofia.get(reverse("shipments:queue")).content.decode()
    assert sofia.post(reverse("shipments:sync"), **HX).status_code == 403


# --- Expired session under HTMX polling ------------------------------------------------------------------


@pytest.fixture
def htmx_login_redirect(settings):
    middleware = "fulfillment.shipments.middleware.HtmxLoginRedirectMiddleware"
    if middleware not in settings.MIDDLEWARE:
        settings.MIDDLEWARE = [*settings.MIDDLEWARE, middleware]


def test_an_expired_session_sends_the_whole_page_to_login_not_into_the_panel(client, htmx_login_redirect):
    made = factories.shipment()
    poll = client.get(reverse("shipments:queue_list"), HTTP_HX_REQUEST="true",
                      HTTP_HX_CURRENT_URL="http://testserver/shipments/?x=1")
    assert poll.status_code == 200 and poll.content == b""
    assert poll["HX-Redirect"] == reverse("accounts:login") + "?next=/shipments/%3Fx%3D1"
    step = client.get(reverse("shipments:step", args=[made.amazon_id, 1]), HTTP_HX_REQUEST="true",
                      HTTP_HX_CURRENT_URL="https://evil.example/phish")
    # A foreign address is never the way back: the polled URL is.
    assert step["HX-Redirect"] == reverse("accounts:login") + "?next=" + reverse("shipments:step", args=[made.amazon_id, 1])
    plain = client.get(reverse("shipments:queue_list"))
    assert plain.status_code == 302 and "HX-Redirect" not in plain


def test_a_signed_in_htmx_request_is_left_alone(ben, htmx_login_redirect):
    response = ben.get(reverse("shipments:queue_list"), **HX)
    assert response.status_code == 200 and "HX-Redirect" not in response


# --- Pack & label progress on the page ------------------------------------------------------------------


def test_the_page_waits_between_chain_steps_then_prints_browser_labels_once(ben):
    made = factories.shipment(status="SHIPLABEL_GENERATED")
    package = factories.package(made, label_status=Package.LabelStatus.READY)
    label = Document.objects.create(shipment=made, package=package, kind=Document.Kind.LABEL, content=b"%PDF-1.4",
                                    original_format="PDF", content_type="application/pdf", printable_pdf=b"%PDF-1.4")
    chain = {"chain": services.PACK_AND_LABEL, "package": {}, "station": None}
    ShipmentStep.objects.create(shipment=made, kind="LABELS", status="SUCCEEDED", payload=chain,
                                finished_at=timezone.now())
    body = reverse("shipments:body", args=[made.amazon_id])
    chain_poll = reverse("shipments:chain", args=[made.amazon_id])
    waiting = ben.get(body, **HX).content.decode()
    # The step is done but the chain has not said how it ended: the page polls the chain.
    assert 'data-fast-path="running"' in waiting and f'hx-get="{chain_poll}?status={made.status}" hx-trigger="every 1s"' in waiting
    between = ben.get(chain_poll, **HX)
    assert 'data-chain-progress="running"' in between.content.decode() and "step-finished" not in str(between.headers)
    services.end_chain(made, None, "Pack & label done: labels stored; they print from the shipment page.", done=True,
                        browser_labels=[label.pk])
    ended = ben.get(chain_poll, **HX)
    assert "step-finished" in ended["HX-Trigger-After-Settle"]  # the body reloads once, and shows how it ended
    assert "every 1s" not in ended.content.decode()
    done = ben.get(body, **HX).content.decode()
    pdf = reverse("shipments:document_pdf", args=[made.amazon_id, label.pk])
    printed = reverse("shipments:label_printed", args=[made.amazon_id, label.pk])
    assert 'data-fast-path="done"' in done and f'data-autoprint-url="{pdf}" data-printed-url="{printed}"' in done
    assert chain_poll not in done
    assert ben.get(pdf).status_code == 200  # what the print frame loads: it changes nothing
    assert ben.get(pdf + "?printed=1").status_code == 200
    assert f'data-autoprint-url="{pdf}"' in ben.get(body, **HX).content.decode()
    after = ben.post(printed, **HX).content.decode()  # what the page posts once the frame printed
    assert f'data-autoprint-url="{pdf}"' not in after and "Printed" in after
    assert f'data-autoprint-url="{pdf}"' not in ben.get(body, **HX).content.decode()
