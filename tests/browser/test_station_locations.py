"""A location is an access boundary, as a packer sees it in real Chromium: the station list shows only
the stations of their location, and scanning another location's shipment says it is not found here."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from fulfillment.accounts import roles
from fulfillment.accounts.models import LocationMembership
from fulfillment.shipments import services
from fulfillment.shipments.models import Shipment
from fulfillment.stations.models import Station
from tests.shipments import factories

from .helpers import make_user, sign_in_at_station

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def no_worker(monkeypatch):
    monkeypatch.setattr(services.steps, "enqueue_step", lambda step_id: None)


def test_a_packer_sees_only_their_location_s_stations_and_shipments(page, live_server, shoot):
    Station.objects.create(name="Bench A", location_id="LOC", timezone="Asia/Kolkata")
    Station.objects.create(name="Bench B", location_id="LOC-B", timezone="Asia/Kolkata")
    ours = factories.shipment()
    theirs = factories.shipment()
    Shipment.objects.filter(pk=theirs.pk).update(location_id="LOC-B")
    packer = make_user("packer", roles.PACKER)
    LocationMembership.objects.create(user=packer, location_id="LOC")

    sign_in_at_station(page, live_server, packer, "Bench A")
    page.goto(f"{live_server.url}{reverse('stations:choose')}")
    expect(page.locator(".station-grid .tile-title")).to_have_text(["Bench A"])  # Bench B is not offered
    shoot("90-stations-of-my-location")

    page.goto(f"{live_server.url}{reverse('shipments:queue')}")
    expect(page.locator(f"tr[data-shipment='{ours.amazon_id}']")).to_be_visible()
    expect(page.locator(f"tr[data-shipment='{theirs.amazon_id}']")).to_have_count(0)
    expect(page.locator("#scan-input")).to_be_focused()
    page.keyboard.type(theirs.amazon_id, delay=5)
    page.keyboard.press("Enter")
    error = page.locator("[data-scan-error]")
    expect(error).to_contain_text(f"No shipment found for “{theirs.amazon_id}” here")
    expect(error).not_to_contain_text("LOC-B")
    assert page.url == f"{live_server.url}{reverse('shipments:queue')}"
    shoot("91-scan-of-another-location")
