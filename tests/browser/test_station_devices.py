"""The station's devices in real Chromium: the live scale fills the open carton's weight (Amazon's
weight only a hint), a far-off weight warns, a typed weight (a USB scale in keyboard mode) stays."""

from decimal import Decimal

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from fulfillment.printers.virtual_scale import start_virtual_scale
from fulfillment.shipments import services
from fulfillment.shipments.models import Programme, ShipmentStep
from fulfillment.stations.models import CatalogueItem, Station
from tests.shipments import factories

from .helpers import make_packer, sign_in_at_station

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def no_worker(monkeypatch):
    monkeypatch.setattr(services.steps, "enqueue_step", lambda step_id: None)
    cache.delete_many(["shipments:sync:default", "shipments:sync-asked:default"])


@pytest.fixture
def scale():
    server, _ = start_virtual_scale(settle_seconds=1.5)
    yield server
    server.shutdown()
    server.server_close()


def test_live_scale_fills_the_weight_and_warns_when_far_off(page, live_server, scale, shoot):
    host, port = scale.server_address[:2]
    Station.objects.create(name="Scale bench", location_id="LOC", scale_host=host, scale_port=port)
    CatalogueItem.objects.create(merchant_sku="MUG-BLUE", unit_weight_grams=Decimal(330))
    shipment = factories.shipment(Programme.EASY_SHIP, recommended_length=Decimal(21), recommended_width=Decimal(16),
                                  recommended_height=Decimal(9), recommended_dimension_unit="CM",
                                  recommended_weight=Decimal(350), recommended_weight_unit="G",
                                  lines=(("MUG-BLUE", 1),), units_count=1)
    sign_in_at_station(page, live_server, make_packer(), "Scale bench")
    page.goto(f"{live_server.url}/shipments/{shipment.amazon_id}/")
    weight = page.locator("#fp-weight")
    expect(page.locator("[data-weight-hint]")).to_contain_text("Amazon suggests 350 g")
    expect(page.locator("[data-scale-empty]")).to_be_visible()
    expect(weight).to_have_value("")  # never Amazon's 350
    scale.place("0.362", "kg")
    expect(weight).to_have_attribute("data-scale-state", "moving")
    expect(weight).to_have_attribute("data-scale-state", "stable")
    expect(weight).to_have_value("0.362")
    expect(page.locator("#fp-weight_unit")).to_have_value("KG")
    expect(page.locator("[data-weight-warning]")).to_have_count(0)
    shoot("devices-01-scale-stable")

    scale.place("1.250", "kg")  # a second mug went in
    expect(page.locator("[data-weight-warning]")).to_contain_text("about 330 g")
    expect(weight).to_have_value("1.250")
    shoot("devices-02-scale-warning")

    weight.fill("355")  # typed (or a USB scale typing): the scale no longer overwrites it
    page.locator("#fp-weight_unit").select_option("G")
    page.wait_for_timeout(1500)
    expect(weight).to_have_value("355")
    page.locator("[data-action=PACK_AND_LABEL]").click()
    expect(page.locator("[data-fast-path=running]")).to_be_visible()
    assert ShipmentStep.objects.get(shipment=shipment, kind="CONFIRM").payload["package"]["weight"] == "355"


def test_a_weight_to_fix_has_the_cursor_at_a_scanning_station(page, live_server, scale):
    host, port = scale.server_address[:2]
    Station.objects.create(name="Scale bench", location_id="LOC", scale_host=host, scale_port=port)
    shipment = factories.shipment(Programme.EASY_SHIP, recommended_length=Decimal(21), recommended_width=Decimal(16),
                                  recommended_height=Decimal(9), recommended_dimension_unit="CM",
                                  recommended_weight=Decimal(350), recommended_weight_unit="G",
                                  lines=(("MUG-BLUE", 1),), units_count=1)
    sign_in_at_station(page, live_server, make_packer(), "Scale bench")
    page.goto(f"{live_server.url}/shipments/{shipment.amazon_id}/")
    expect(page.locator("#pack-scan")).to_be_focused()  # scans go to the scan box
    page.locator("#fp-weight").fill("4")
    page.locator("#fp-weight_unit").select_option("G")
    page.locator("[data-action=PACK_AND_LABEL]").click()
    expect(page.locator("[data-field=weight] .errorlist")).to_be_visible()
    expect(page.locator("#fp-weight")).to_be_focused()
