"""The claim panel the shipment page includes, and releasing through it."""

from datetime import timedelta

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from fulfillment.accounts import roles
from fulfillment.claims import services
from fulfillment.claims.models import Claim
from tests.supervision import factories as f

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def shipment(db):
    return f.shipment(now=timezone.now(), ship_by_in=timedelta(hours=2))


def test_the_panel_claims_on_open_then_renews(client, shipment):
    anna = f.user("anna")
    request = RequestFactory().get("/")
    request.user = anna
    html = Template("{% load claims %}{% claim_status shipment %}").render(Context({"shipment": shipment, "request": request}))
    assert 'hx-trigger="load"' in html and '"mode": "open"' in html
    assert not Claim.objects.exists()  # rendering alone changes nothing

    client.force_login(anna)
    url = reverse("claims:heartbeat", args=[shipment.pk])
    panel = client.post(url, {"mode": "open"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-claim-state="mine"' in panel and 'hx-trigger="every 30s, shipment-closed from:body"' in panel and '"mode": "renew"' in panel
    Claim.objects.update(lease_expires_at=timezone.now() + timedelta(seconds=3))
    client.post(url, {"mode": "renew"}, HTTP_HX_REQUEST="true")
    assert Claim.objects.get().lease_expires_at > timezone.now() + timedelta(seconds=80)


def test_another_packer_sees_who_has_it_and_cannot_take_it(client, shipment):
    services.claim(shipment, f.user("anna"))
    client.force_login(f.user("ben"))
    url = reverse("claims:heartbeat", args=[shipment.pk])
    panel = client.post(url, {"mode": "take"}).content.decode()
    assert "anna is working on this shipment" in panel  # the refusal, in the packer's words
    assert 'data-claim-state="other"' in panel and "Release" not in panel
    assert Claim.objects.get().user.username == "anna"
    assert client.post(reverse("claims:release", args=[shipment.pk])).status_code == 403


def test_a_released_packer_is_told_and_not_silently_given_it_back(client, shipment):
    anna = f.user("anna")
    services.claim(shipment, anna)
    services.release(shipment, f.user("sofia", roles.SUPERVISOR))
    client.force_login(anna)
    panel = client.post(reverse("claims:heartbeat", args=[shipment.pk]), {"mode": "renew"}).content.decode()
    assert "You no longer hold this shipment" in panel and 'data-claim-state="free"' in panel
    assert not Claim.objects.exists()


def test_a_supervisor_releases_from_the_panel(client, shipment):
    services.claim(shipment, f.user("anna"))
    client.force_login(f.user("sofia", roles.SUPERVISOR))
    url = reverse("claims:heartbeat", args=[shipment.pk])
    assert 'hx-post="/claims/%d/release/"' % shipment.pk in client.get(url).content.decode()
    panel = client.post(reverse("claims:release", args=[shipment.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert 'data-claim-state="free"' in panel
    assert shipment.events.filter(kind="RELEASE", user__username="sofia").exists()


def test_release_ignores_a_foreign_next_address(client, shipment):
    services.claim(shipment, f.user("anna"))
    client.force_login(f.user("sofia", roles.SUPERVISOR))
    response = client.post(reverse("claims:release", args=[shipment.pk]), {"next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == reverse("home")


def test_a_supervisor_watches_but_never_takes_a_shipment(client, shipment):
    client.force_login(f.user("sofia", role=roles.SUPERVISOR))
    url = reverse("claims:heartbeat", args=[shipment.pk])
    panel = client.get(url).content.decode()
    assert "Nobody is working on this shipment" in panel and "Take this shipment" not in panel
    assert client.post(url, {"mode": "take"}).status_code == 403
    assert not Claim.objects.exists()


def test_a_user_without_a_role_cannot_see_the_panel(client, shipment):
    from django.contrib.auth.models import User

    client.force_login(User.objects.create_user("visitor"))
    assert client.get(reverse("claims:heartbeat", args=[shipment.pk])).status_code == 403
