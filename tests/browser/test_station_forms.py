"""The station's forms in real Chromium (issue 9: defects 2, 3, 4 and 6; issue 12: items 5 and 10):
a value the packer typed is never replaced after an error, every error names its field, a box
outside the station's plausible bounds is refused, Enter moves to the next box to type into.
Shipments are stored ones; no Amazon step runs (the worker is stood in for by nothing)."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from fulfillment.shipments import services
from fulfillment.shipments.models import Package, Programme, ShipmentStep
from fulfillment.stations.models import BoxPreset, Station
from tests.shipments import factories

from .helpers import make_packer, sign_in_at_station

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def no_worker(monkeypatch):
    monkeypatch.setattr(services.steps, "enqueue_step", lambda step_id: None)


@pytest.fixture
def station(db):
    BoxPreset.objects.create(name="Small box", length=20, width=15, height=10)
    return Station.objects.create(name="Bench A", location_id="LOC", timezone="Asia/Kolkata")


@pytest.fixture
def packer_page(page, live_server, station):
    sign_in_at_station(page, live_server, make_packer(), station.name)
    return page


def _fast_path_shipment():
    return factories.shipment(Programme.EASY_SHIP, recommended_length=Decimal(21), recommended_width=Decimal(16),
                              recommended_height=Decimal(9), recommended_dimension_unit="CM",
                              recommended_weight=Decimal(578), recommended_weight_unit="G", lines=(("MUG-BLUE", 1),))


def _serial_shipment(units=2):
    return factories.shipment(status="CONFIRMED", lines=(("PHONE-X1", units),), requires_serials=True,
                              compliance={"serial_number_requirement": "REQUIRED"}, scan_skipped_at=_now())


def _now():
    from django.utils import timezone

    return timezone.now()


def test_pack_and_label_keeps_every_weight_typed_and_says_what_is_wrong_with_it(packer_page, live_server, shoot):
    """Defect 2: 4 g came back as Amazon's 578 g, so pressing again shipped a weight nobody entered."""
    page = packer_page
    made = _fast_path_shipment()
    page.goto(f"{live_server.url}/shipments/{made.amazon_id}/")
    weight = page.locator("#fp-weight")
    expect(weight).to_have_value("")  # Amazon's 578 g is only the hint beside it
    expect(page.locator("[data-weight-hint]")).to_contain_text("Amazon suggests 578 g")
    for typed, said in (("4", "Weight must be at least 5 g (Amazon's minimum)."),
                        ("-3", "Weight must be at least 5 g (Amazon's minimum)."),
                        ("0", "Weight must be at least 5 g (Amazon's minimum)."),
                        ("abc", "Weight: enter a number, e.g. 350."),
                        ("12345678901234567", "Weight has too many digits: check the number."),
                        ("70001", "Weight must be at most 70000 g (this station's limit): check the scale reading.")):
        weight.fill(typed)
        with page.expect_response(lambda response: "/pack-and-label/" in response.url):
            page.locator("[data-action=PACK_AND_LABEL]").click()
        field = page.locator("[data-field=weight]")
        expect(field.locator(".errorlist")).to_have_text(said)
        expect(page.locator("#fp-weight")).to_have_value(typed)  # what was typed, never Amazon's suggestion
        expect(page.locator("#fp-weight")).to_have_attribute("aria-invalid", "true")
        expect(page.locator("[data-form-problems]")).to_contain_text(said)
        if typed == "4":
            shoot("70-pack-and-label-weight-refused")
    assert not ShipmentStep.objects.filter(shipment=made).exclude(kind="REFRESH").exists()
    page.locator("#fp-weight").fill("580")
    page.locator("[data-action=PACK_AND_LABEL]").click()
    expect(page.locator("[data-fast-path=running]")).to_be_visible()
    assert ShipmentStep.objects.get(shipment=made, kind="CONFIRM").payload["package"]["weight"] == "580"


def test_a_box_outside_the_stations_bounds_is_refused_on_its_side(packer_page, live_server, station, shoot):
    """Defect 4: a 99,999,999 cm box went through and was labelled. The admin sets the bounds per station."""
    page = packer_page
    made = _fast_path_shipment()
    page.goto(f"{live_server.url}/shipments/{made.amazon_id}/")
    page.locator("#fp-length").fill("99999999")
    page.locator("[data-action=PACK_AND_LABEL]").click()
    expect(page.locator("[data-field=length] .errorlist")).to_have_text(
        "Length must be at most 270 cm (this station's largest box): check the number.")
    expect(page.locator("#fp-length")).to_have_value("99999999")
    Station.objects.filter(pk=station.pk).update(max_package_side_cm=60, max_package_weight_kg=2)
    page.locator("#fp-length").fill("61")
    page.locator("#fp-weight").fill("2.5")
    page.locator("#fp-weight_unit").select_option("KG")
    page.locator("[data-action=PACK_AND_LABEL]").click()
    expect(page.locator("[data-field=length] .errorlist")).to_contain_text("at most 60 cm")
    expect(page.locator("#fp-length")).to_be_focused()  # the first field in error has the cursor
    expect(page.locator("[data-field=weight] .errorlist")).to_contain_text("Weight must be at most 2 kg")
    shoot("71-pack-and-label-bounds")
    assert not ShipmentStep.objects.filter(shipment=made).exclude(kind="REFRESH").exists()


def test_an_over_long_or_control_character_serial_is_marked_on_its_own_field(packer_page, live_server, shoot):
    """Defect 3: a 5,000-character serial said "Fix the fields marked in red" and nothing was marked.
    Issue 12 item 10: a serial with a control character (a scanner's GS, a line break) is refused."""
    page = packer_page
    made = _serial_shipment()
    page.goto(f"{live_server.url}/shipments/{made.amazon_id}/")
    serials = page.locator("input.serial")
    expect(serials).to_have_count(2)
    long_serial = "S" * 5000
    serials.nth(0).fill(long_serial)
    serials.nth(1).fill("SN\u001d0002")
    page.get_by_role("button", name="Small box").click()
    page.locator("input[name='pkg-0-weight']").fill("640")
    page.locator("[data-action=SAVE_PACKAGES]").click()
    first, second = page.locator("[data-field=serial_1_0]"), page.locator("[data-field=serial_1_1]")
    expect(first.locator(".errorlist")).to_have_text(
        "Serial of PHONE-X1 unit 1 is 5000 characters long; a serial has at most 128: scan it again.")
    expect(second.locator(".errorlist")).to_have_text(
        "Serial of PHONE-X1 unit 2 has a line break or another control character in it: scan it again.")
    expect(first).to_have_class("field has-error")
    expect(serials.nth(0)).to_have_attribute("aria-invalid", "true")
    expect(serials.nth(0)).to_have_value(long_serial)  # kept, and not cut to a stump by a maxlength
    expect(page.locator("[data-form-problems]")).to_contain_text("Package 1: Serial of PHONE-X1 unit 1 is 5000")
    expect(serials.nth(0)).to_be_focused()  # the cursor is on the first field in error
    expect(page.locator("input[name='pkg-0-weight']")).to_have_value("640")
    shoot("72-packages-serial-refused")
    assert not Package.objects.filter(shipment=made).exists()


def test_every_bad_value_in_the_packages_form_names_its_field(packer_page, live_server, shoot):
    """Defect 7 (errors that did not name their field) and defect 2 for the full form."""
    page = packer_page
    made = factories.shipment(status="CONFIRMED", lines=(("PERFUME-50ML", 2),), scan_skipped_at=_now(), compliance={
        "country_of_origin_requirement": "REQUIRED", "item_value_requirement": "REQUIRED"})
    page.goto(f"{live_server.url}/shipments/{made.amazon_id}/")
    typed = {"length": "-1", "width": "wide", "height": "0", "weight": "1e999", "qty_1": "3",
             "coo_1": "CHN", "value_1": "ten", "currency_1": "RUPEES"}
    for name, value in typed.items():
        page.locator(f"input[name='pkg-0-{name}']").fill(value)
    page.locator("[data-action=SAVE_PACKAGES]").click()
    expect(page.locator("[data-form-problems]")).to_be_visible()
    errors = {name: page.locator(f"[data-field={name}] .errorlist").inner_text() for name in typed}
    names = {"length": "Length", "width": "Width", "height": "Height", "weight": "Weight", "qty_1": "PERFUME-50ML units",
             "coo_1": "PERFUME-50ML country of origin", "value_1": "PERFUME-50ML value per unit",
             "currency_1": "PERFUME-50ML currency"}
    for name, label in names.items():
        assert errors[name].startswith(label), (name, errors[name])
        expect(page.locator(f"input[name='pkg-0-{name}']")).to_have_value(typed[name])
    shoot("73-packages-every-error-named", full_page=True)


def test_enter_in_the_weight_goes_to_the_next_box_to_fill_not_the_unit(packer_page, live_server):
    """Defect 6: Enter in Weight landed on the unit select."""
    page = packer_page
    made = _fast_path_shipment()
    page.goto(f"{live_server.url}/shipments/{made.amazon_id}/")
    expect(page.locator("#pack-scan")).to_be_focused()  # scan to pack is at every station; the form is below it
    page.locator("#fp-weight").fill("580")
    page.locator("#fp-weight").press("Enter")
    expect(page.locator("[data-action=PACK_AND_LABEL]")).to_be_focused()  # Enter again packs it
    assert not ShipmentStep.objects.filter(shipment=made).exclude(kind="REFRESH").exists()

    serials = _serial_shipment(units=1)
    page.goto(f"{live_server.url}/shipments/{serials.amazon_id}/")
    page.locator("input[name='pkg-0-weight']").fill("300")
    page.locator("input[name='pkg-0-weight']").press("Enter")
    expect(page.locator("input[name='pkg-0-qty_1']")).to_be_focused()
    page.locator("input.serial").fill("SN-1")
    page.locator("input.serial").press("Enter")
    expect(page.locator("[data-action=SAVE_PACKAGES]")).to_be_focused()  # not "Remove", not "Add a package"
    assert not Package.objects.filter(shipment=serials).exists()



def test_a_poll_never_moves_the_cursor_off_the_button_the_packer_chose(packer_page, live_server):
    """The step poll (every second while Amazon is read) re-focused the weight after every swap, so a
    packer who had moved to a button found Enter typing into the weight again."""
    page = packer_page
    from datetime import timedelta

    from fulfillment.shipments.models import Shipment

    made = _fast_path_shipment()
    # Read from Amazon longer ago than SHIPMENT_FRESH_SECONDS: opening it asks for a Refresh, polled every 1 s.
    Shipment.objects.filter(pk=made.pk).update(synced_at=_now() - timedelta(hours=1))
    page.goto(f"{live_server.url}/shipments/{made.amazon_id}/")
    expect(page.locator("[data-step=REFRESH][data-step-state=PENDING]")).to_be_visible()
    confirm = page.locator("[data-action=CONFIRM]")
    confirm.focus()
    with page.expect_response(lambda response: "/steps/" in response.url):
        pass  # a poll has landed since
    with page.expect_response(lambda response: "/steps/" in response.url):
        pass
    page.wait_for_timeout(300)  # settled
    expect(confirm).to_be_focused()
