"""Station screens through Django's test client (fast; no Amazon): what the packer sees and
that every input is kept or refused with words. The browser tests drive the real flow."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from fulfillment.accounts import roles
from fulfillment.shipments import services
from fulfillment.shipments.models import Package, Programme, ShipmentStep
from fulfillment.shipments.selectors import QUEUE_SHOWN
from fulfillment.stations.models import BoxPreset, Station
from fulfillment.stations.selectors import SESSION_KEY
from tests.shipments import factories

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def no_worker(monkeypatch):
    """Steps stay PENDING: these tests look at the screens, not at Amazon."""
    monkeypatch.setattr(services.steps, "enqueue_step", lambda step_id: None)


@pytest.fixture
def station():
    return Station.objects.create(name="Bench A", location_id="LOC", timezone="Asia/Kolkata", printer_host="")


@pytest.fixture
def packer(client, station):
    user = User.objects.create_user("pat", password="pw-for-tests-only")
    user.groups.add(Group.objects.get(name=roles.PACKER))
    client.force_login(user)
    session = client.session
    session[SESSION_KEY] = station.pk
    session.save()
    return client


def test_without_a_station_the_packer_is_sent_to_choose_one(client):
    Station.objects.create(name="One", location_id="L1")
    Station.objects.create(name="Two", location_id="L2")
    user = User.objects.create_user("sam", password="pw-for-tests-only")
    user.groups.add(Group.objects.get(name=roles.PACKER))
    client.force_login(user)
    response = client.get(reverse("shipments:queue"))
    assert response.status_code == 302
    assert response["Location"] == reverse("stations:choose")


def test_queue_lists_the_locations_open_shipments_with_badges_and_flags(packer):
    easy = factories.shipment(Programme.EASY_SHIP, compliance={"serial_number_requirement": "REQUIRED"},
                              requires_serials=True, priority="HIGH")
    flex = factories.shipment(Programme.SELLER_FLEX, status="CONFIRMED", has_hazmat=True, gift_wrap=True)
    shipped = factories.shipment(Programme.SELF_SHIP, status="SHIPPED")
    elsewhere = factories.shipment(Programme.SELF_SHIP)
    elsewhere.location_id = "OTHER"
    elsewhere.save()
    html = packer.get(reverse("shipments:queue")).content.decode()
    assert easy.amazon_id in html and flex.amazon_id in html
    assert shipped.amazon_id not in html and elsewhere.amazon_id not in html
    assert "Easy Ship" in html and "Seller Flex" in html
    assert "Serials" in html and "Hazmat" in html and "Gift wrap" in html
    assert 'hx-trigger="every 10s"' in html and "data-scan-focus" in html
    assert "data-queue-more" not in html and "2 shipments to pack" in html  # all shown: no "more" line


def test_a_long_queue_shows_the_first_by_ship_by_and_how_many_more_wait(packer):
    now = timezone.now()
    factories.shipment(ship_by=now + timedelta(days=30), lines=())
    with CaptureQueriesContext(connection) as short_poll:
        packer.get(reverse("shipments:queue_list"), **HX)
    more = 6
    hours = list(reversed(range(QUEUE_SHOWN + more - 1)))  # made latest first: the order is ship-by's
    made = {h: factories.shipment(ship_by=now + timedelta(hours=h), lines=()) for h in hours}
    first = [made[h].amazon_id for h in range(QUEUE_SHOWN)]
    line = (f"Showing the first {QUEUE_SHOWN} of {QUEUE_SHOWN + more} by ship-by · "
            f"<strong>{more} more waiting</strong>")
    html = packer.get(reverse("shipments:queue")).content.decode()
    assert re.findall(r'data-shipment="([^"]+)"', html) == first
    assert line in html and f'data-queue-more="{more}"' in html
    with CaptureQueriesContext(connection) as long_poll:
        poll = packer.get(reverse("shipments:queue_list"), **HX).content.decode()
    assert re.findall(r'data-shipment="([^"]+)"', poll) == first and line in poll
    assert len(long_poll.captured_queries) == len(short_poll.captured_queries)  # no query per row


def test_scan_box_opens_by_buyer_order_id_and_refuses_an_unknown_code(packer):
    made = factories.shipment()
    found = packer.get(reverse("shipments:open"), {"q": f"  {made.buyer_order_id} "}, **HX)
    assert found["HX-Redirect"] == reverse("shipments:detail", args=[made.amazon_id])
    missing = packer.get(reverse("shipments:open"), {"q": "NOPE-1"}, **HX)
    html = missing.content.decode()
    assert "No shipment found for “NOPE-1”" in html
    assert 'value="NOPE-1"' in html and "data-scan-focus" in html and "shake" in html


def test_opening_a_stale_shipment_asks_for_a_background_refresh_and_shows_the_next_step(packer):
    fresh = factories.shipment()  # just read from Amazon: the page asks Amazon nothing
    packer.get(reverse("shipments:detail", args=[fresh.amazon_id]))
    assert not ShipmentStep.objects.filter(shipment=fresh).exists()
    made = factories.shipment(lines=(("SKU-A", 2),), synced_at=timezone.now() - timedelta(hours=1))
    html = packer.get(reverse("shipments:detail", args=[made.amazon_id])).content.decode()
    assert ShipmentStep.objects.filter(shipment=made, kind="REFRESH", status="PENDING").exists()
    assert "Confirm shipment" in html and 'data-action="CONFIRM"' in html
    assert "checking Amazon for changes" in html and 'hx-trigger="every 1s"' in html
    assert "SKU-A" in html


def test_confirm_twice_queues_one_step_and_the_page_polls_it(packer):
    made = factories.shipment()
    url = reverse("shipments:run", args=[made.amazon_id, "CONFIRM"])
    first = packer.post(url, **HX)
    packer.post(url, **HX)
    assert ShipmentStep.objects.filter(shipment=made, kind="CONFIRM").count() == 1
    html = first.content.decode()
    assert "Waiting for Amazon" in html and 'hx-trigger="every 1s"' in html


def test_a_step_poll_reads_the_shipment_and_step_rows_only(packer):
    """The poll runs every second on every open step of the floor: it reads the shipment's row and the
    step's, never the lines, packages, documents or steps the page shows."""
    made = factories.shipment()
    step = ShipmentStep.objects.create(shipment=made, kind="CONFIRM", status="RUNNING")
    url = reverse("shipments:step", args=[made.amazon_id, step.pk]) + f"?status={made.status}"
    packer.get(url, **HX)
    with CaptureQueriesContext(connection) as queries:
        response = packer.get(url, **HX)
    assert 'hx-trigger="every 1s"' in response.content.decode()
    tables = [q["sql"].split(" FROM ", 1)[1].split()[0].strip('"') for q in queries.captured_queries if " FROM " in q["sql"]]
    assert tables.count("shipments_shipment") == 1 and tables.count("shipments_shipmentstep") == 1, tables
    assert not {"shipments_lineitem", "shipments_package", "documents_document", "shipments_shippingoption"} & set(tables)


def test_while_pack_and_label_runs_the_page_polls_the_chain_not_each_step(packer):
    """One poll for the whole chain (between its steps too), reading the shipment's row and its latest
    steps only; the body reloads once, when the chain has ended."""
    made = factories.shipment()
    chain = {"chain": services.PACK_AND_LABEL, "package": {}, "station": None}
    step = ShipmentStep.objects.create(shipment=made, kind="CONFIRM", status="RUNNING", payload=chain)
    body = packer.get(reverse("shipments:body", args=[made.amazon_id]), **HX).content.decode()
    chain_poll = reverse("shipments:chain", args=[made.amazon_id])
    assert f'hx-get="{chain_poll}?status={made.status}" hx-trigger="every 1s"' in body
    assert reverse("shipments:step", args=[made.amazon_id, step.pk]) not in body  # the chain's step is not polled
    packer.get(chain_poll, **HX)
    with CaptureQueriesContext(connection) as queries:
        running = packer.get(chain_poll, **HX)
    assert 'data-chain-progress="running"' in running.content.decode() and "Confirm shipment" in running.content.decode()
    assert "HX-Trigger-After-Settle" not in running
    tables = [q["sql"].split(" FROM ", 1)[1].split()[0].strip('"') for q in queries.captured_queries if " FROM " in q["sql"]]
    assert tables.count("shipments_shipment") == 1 and tables.count("shipments_shipmentstep") == 1, tables
    assert not {"shipments_lineitem", "shipments_package", "documents_document", "shipments_shipmentevent"} & set(tables)
    step.status, step.finished_at = "FAILED", timezone.now()
    step.save()
    ended = packer.get(chain_poll, **HX)
    assert "step-finished" in ended["HX-Trigger-After-Settle"] and "every 1s" not in ended.content.decode()
    assert chain_poll not in packer.get(reverse("shipments:body", args=[made.amazon_id]), **HX).content.decode()


def test_a_chain_poll_that_finds_the_status_moved_on_redraws_the_pill_and_the_checklist(packer):
    """While Pack & label runs, each step moves Amazon's status: the poll that first sees the new status
    swaps the header's pill and the Progress checklist in out of band (they stayed as they were until
    the chain ended); a poll that sees the status it knew sends only the progress line."""
    made = factories.shipment(status="CONFIRMED")
    ShipmentStep.objects.create(shipment=made, kind="CREATE_PACKAGES", status="RUNNING",
                                payload={"chain": services.PACK_AND_LABEL, "package": {}, "station": None})
    chain_poll = reverse("shipments:chain", args=[made.amazon_id])
    same = packer.get(f"{chain_poll}?status=CONFIRMED", **HX).content.decode()
    assert "hx-swap-oob" not in same and 'data-chain-progress="running"' in same
    moved = packer.get(f"{chain_poll}?status=ACCEPTED", **HX).content.decode()
    assert '<span id="shipment-status" hx-swap-oob="true"><span class="pill' in moved
    assert 'data-status="CONFIRMED"' in moved
    checklist = moved.split('id="stepper"', 1)[1]
    assert checklist.startswith(' aria-label="Workflow" hx-swap-oob="true">')
    states = re.findall(r'<li class="(\w+)"><span class="dot">[^<]*</span>([^<]+)', checklist)
    assert states[:2] == [("done", "Confirm"), ("current", "Pack and send packages")], states
    assert f'hx-get="{chain_poll}?status=CONFIRMED"' in moved  # the next poll knows the new status


def test_while_pack_and_label_runs_the_scan_bar_shows_no_empty_carton(packer):
    """The box Pack & label sends is not a carton being scanned: while the chain runs, the scan bar says
    what is happening instead of an empty carton and "1 unit still to scan"."""
    made = factories.shipment()
    ShipmentStep.objects.create(shipment=made, kind="CONFIRM", status="RUNNING",
                                payload={"chain": services.PACK_AND_LABEL, "package": {}, "station": None})
    body = packer.get(reverse("shipments:body", args=[made.amazon_id]), **HX).content.decode()
    assert 'id="scan-pack"' in body and "Pack &amp; label is sending the box to Amazon" in body
    assert "Empty: scan items into it." not in body and "still to scan" not in body
    ShipmentStep.objects.update(status="FAILED", finished_at=timezone.now())
    stopped = packer.get(reverse("shipments:body", args=[made.amazon_id]), **HX).content.decode()
    assert "Empty: scan items into it." in stopped and "1 unit still to scan" in stopped


def test_a_finished_step_stops_polling_and_reloads_the_shipment(packer):
    made = factories.shipment()
    step = ShipmentStep.objects.create(shipment=made, kind="CONFIRM", status="FAILED",
                                       error_message="Amazon is busy right now. Wait a few seconds and try again.")
    response = packer.get(reverse("shipments:step", args=[made.amazon_id, step.pk]), **HX)
    assert "every 1s" not in response.content.decode()
    assert "step-finished" in response["HX-Trigger-After-Settle"]
    body = packer.get(reverse("shipments:body", args=[made.amazon_id]), **HX).content.decode()
    assert "Confirm shipment failed: Amazon is busy right now" in body


def test_a_cancelled_shipment_shows_a_loud_banner(packer):
    made = factories.shipment(status="CANCELLED", cancellation_type="MARKETPLACE_CANCELLED",
                              cancellation_reason="Buyer cancelled")
    html = packer.get(reverse("shipments:detail", args=[made.amazon_id])).content.decode()
    assert "data-cancelled" in html and "do not pack or ship" in html and "Buyer cancelled" in html
    assert 'data-action="CONFIRM"' not in html


def test_reject_needs_a_reason_per_line_and_a_second_confirmation(packer):
    made = factories.shipment(lines=(("SKU-A", 1), ("SKU-B", 2)))
    url = reverse("shipments:reject", args=[made.amazon_id])
    missing = packer.post(url, {"reason_1": "OUT_OF_STOCK"}, **HX).content.decode()
    assert "Choose why SKU-B cannot be shipped." in missing
    confirm = packer.post(url, {"reason_1": "OUT_OF_STOCK", "reason_2": "CUSTOMER_REQUESTED"}, **HX).content.decode()
    assert "Yes, reject the shipment" in confirm
    assert not ShipmentStep.objects.filter(kind="REJECT").exists()
    packer.post(url, {"reason_1": "OUT_OF_STOCK", "reason_2": "CUSTOMER_REQUESTED", "confirmed": "1"}, **HX)
    step = ShipmentStep.objects.get(kind="REJECT")
    assert step.payload["reasons"] == {"1": "OUT_OF_STOCK", "2": "CUSTOMER_REQUESTED"}


def test_scan_to_verify_ticks_lines_and_refuses_a_wrong_item_loudly(packer):
    made = factories.shipment(status="CONFIRMED", lines=(("SKU-A", 2),))
    url = reverse("shipments:verify", args=[made.amazon_id])
    ok = packer.post(url, {"code": "SKU-A"}, **HX).content.decode()
    assert 'data-scan-result="accepted"' in ok and "1 / 2" in ok and "Still missing" in ok
    wrong = packer.post(url, {"code": "SKU-Z"}, **HX).content.decode()
    assert 'data-scan-result="refused"' in wrong and "shake" in wrong and "WRONG ITEM" in wrong


def _package_post(made, **fields):
    data = {"pkg-TOTAL_FORMS": "1", "pkg-INITIAL_FORMS": "0", "pkg-MIN_NUM_FORMS": "1", "pkg-MAX_NUM_FORMS": "20",
            "pkg-0-length": "20", "pkg-0-width": "15", "pkg-0-height": "10", "pkg-0-dimension_unit": "CM",
            "pkg-0-weight": "400", "pkg-0-weight_unit": "G", "pkg-0-handling": "NORMAL", "form_action": "save"}
    data.update(fields)
    return data


def test_packages_form_keeps_everything_typed_and_flags_duplicate_serials(packer):
    made = factories.shipment(status="CONFIRMED", lines=(("PHONE", 2),),
                              compliance={"serial_number_requirement": "REQUIRED"}, requires_serials=True)
    url = reverse("shipments:packages", args=[made.amazon_id])
    form = packer.get(url, **HX).content.decode()
    assert form.count('class="serial"') == 2 and "data-enter-next" in form
    response = packer.post(url, _package_post(made, **{"pkg-0-qty_1": "2", "pkg-0-serial_1_0": "SN-1",
                                                       "pkg-0-serial_1_1": "SN-1"}), **HX)
    html = response.content.decode()
    assert "Serial number SN-1 is entered twice" in html
    assert 'value="SN-1"' in html and 'value="400"' in html
    assert not Package.objects.filter(shipment=made).exists()


def test_serial_check_flags_a_serial_used_on_another_shipment(packer):
    other = factories.shipment(status="CONFIRMED", lines=(("PHONE", 1),),
                               compliance={"serial_number_requirement": "REQUIRED"})
    services.save_packages(other, [services.PackageInput(
        length=10, width=10, height=10, weight=100,
        items=[services.PackageItemInput(line_item_id="1", quantity=1, serial_numbers=["SN-9"])])], None)
    made = factories.shipment(status="CONFIRMED", lines=(("PHONE", 1),),
                              compliance={"serial_number_requirement": "REQUIRED"})
    html = packer.post(reverse("shipments:check_serial", args=[made.amazon_id]), {"pkg-0-serial_1_0": "SN-9"},
                       HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER_NAME="pkg-0-serial_1_0").content.decode()
    assert f"SN-9 is already used on shipment {other.amazon_id}" in html and "bad" in html


def test_adding_a_package_keeps_the_first_one_and_splits_units(packer):
    made = factories.shipment(status="CONFIRMED", lines=(("MUG", 2),))
    url = reverse("shipments:packages", args=[made.amazon_id])
    added = packer.post(url, _package_post(made, **{"pkg-0-qty_1": "1", "form_action": "add"}), **HX).content.decode()
    assert "Package 2" in added and 'name="pkg-1-length"' in added and 'value="400"' in added
    data = _package_post(made, **{"pkg-TOTAL_FORMS": "2", "pkg-0-qty_1": "1", "pkg-1-qty_1": "1",
                                  "pkg-1-length": "30", "pkg-1-width": "20", "pkg-1-height": "10",
                                  "pkg-1-dimension_unit": "CM", "pkg-1-weight": "300", "pkg-1-weight_unit": "G"})
    response = packer.post(url, data, **HX)
    assert response["HX-Retarget"] == "#shipment"
    assert Package.objects.filter(shipment=made).count() == 2
    assert ShipmentStep.objects.filter(shipment=made, kind="CREATE_PACKAGES").exists()


def test_an_empty_package_is_refused_with_the_cursor_on_its_units(packer):
    made = factories.shipment(status="CONFIRMED", lines=(("MUG", 2),))
    data = _package_post(made, **{"pkg-TOTAL_FORMS": "2", "pkg-0-qty_1": "2", "pkg-1-qty_1": "0",
                                  "pkg-1-length": "30", "pkg-1-width": "20", "pkg-1-height": "10",
                                  "pkg-1-dimension_unit": "CM", "pkg-1-weight": "300", "pkg-1-weight_unit": "G"})
    html = packer.post(reverse("shipments:packages", args=[made.amazon_id]), data, **HX).content.decode()
    assert "Put at least one unit" in html and not Package.objects.filter(shipment=made).exists()
    focused = re.findall(r'<input[^>]*data-scan-focus[^>]*>', html)
    assert len(focused) == 1 and 'name="pkg-1-qty_1"' in focused[0]


def test_fast_path_offers_pack_and_label_with_box_presets(packer):
    BoxPreset.objects.create(name="Small box", length=20, width=15, height=10)
    made = factories.shipment(recommended_length=21, recommended_width=16, recommended_height=9,
                              recommended_dimension_unit="CM", recommended_weight=350, recommended_weight_unit="G")
    html = packer.get(reverse("shipments:detail", args=[made.amazon_id])).content.decode()
    assert "Pack &amp; label" in html and "Small box" in html and 'value="21"' in html
    assert 'value="350"' not in html  # Amazon's weight is a hint beside the box, never the value sent
    html = packer.post(reverse("shipments:pack_and_label", args=[made.amazon_id]),
                       {"fp-length": "20", "fp-width": "15", "fp-height": "10", "fp-dimension_unit": "CM",
                        "fp-weight": "360", "fp-weight_unit": "G"}, **HX).content.decode()
    # The chain lives on the step (not in the browser's session): the worker carries it on.
    step = ShipmentStep.objects.get(shipment=made, kind="CONFIRM")
    assert step.payload["chain"] == services.PACK_AND_LABEL and step.payload["package"]["weight"] == "360"
    assert step.payload["station"] == Station.objects.get().pk
    assert 'data-fast-path="running"' in html and "Waiting for Amazon" in html


def test_pack_and_label_refuses_a_box_amazon_would_refuse_before_anything_is_sent(packer):
    made = factories.shipment(recommended_length=21, recommended_width=16, recommended_height=9,
                              recommended_dimension_unit="CM", recommended_weight=350, recommended_weight_unit="G")
    html = packer.post(reverse("shipments:pack_and_label", args=[made.amazon_id]),
                       {"fp-length": "20", "fp-width": "15", "fp-height": "10", "fp-dimension_unit": "CM",
                        "fp-weight": "2", "fp-weight_unit": "G"}, **HX).content.decode()
    assert "Weight must be at least 5 g" in html and "data-form-problems" in html
    assert 'name="fp-weight" value="2"' in html  # what was typed, not Amazon's 350
    assert not ShipmentStep.objects.filter(shipment=made).exclude(kind="REFRESH").exists()


def test_customs_fields_appear_only_where_amazon_requires_them(packer):
    plain = factories.shipment(status="CONFIRMED", lines=(("MUG", 1),))
    customs = factories.shipment(status="CONFIRMED", lines=(("PERFUME", 1),), compliance={
        "country_of_origin_requirement": "REQUIRED", "item_value_requirement": "REQUIRED",
        "hazmat_labels_requirement": "REQUIRED"})
    plain_form = packer.get(reverse("shipments:packages", args=[plain.amazon_id]), **HX).content.decode()
    customs_form = packer.get(reverse("shipments:packages", args=[customs.amazon_id]), **HX).content.decode()
    for name in ("coo_1", "value_1", "currency_1", "hazmat_labels"):
        assert f'name="pkg-0-{name}"' not in plain_form
        assert f'name="pkg-0-{name}"' in customs_form


def test_regenerating_a_label_needs_a_reason(packer):
    made = factories.shipment(status="SHIPLABEL_GENERATED")
    factories.package(made, label_status=Package.LabelStatus.READY)
    url = reverse("shipments:regenerate_labels", args=[made.amazon_id])
    refused = packer.post(url, {"reason": " "}, **HX).content.decode()
    assert "Reason: say why the label is regenerated" in refused
    assert not ShipmentStep.objects.filter(kind="LABELS").exists()
    packer.post(url, {"reason": "Label torn while taping"}, **HX)
    step = ShipmentStep.objects.get(kind="LABELS")
    assert step.payload == {"operation": "REGENERATE", "reason": "Label torn while taping"}


def test_a_printer_that_does_not_answer_shows_the_printers_message(packer, station):
    import socket

    from fulfillment.documents.models import Document

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    station.printer_host, station.printer_port = "127.0.0.1", port
    station.save()
    made = factories.shipment(status="SHIPLABEL_GENERATED")
    package = factories.package(made, label_status=Package.LabelStatus.READY)
    label = Document.objects.create(shipment=made, package=package, kind=Document.Kind.LABEL, content=b"^XA^FDx^FS^XZ",
                                    original_format="ZPL", content_type="x.application/zpl")
    html = packer.post(reverse("shipments:print_label", args=[made.amazon_id, label.pk]), **HX).content.decode()
    assert 'data-print-result="failed"' in html and "Not printed:" in html
    assert "Traceback" not in html


def test_documents_open_inline_in_our_own_print_frame(packer):
    from fulfillment.documents.models import Document

    made = factories.shipment(status="INVOICE_GENERATED")
    pdf = b"%PDF-1.4\n%%EOF\n"
    invoice = Document.objects.create(shipment=made, kind=Document.Kind.INVOICE, content=pdf, original_format="PDF",
                                      content_type="application/pdf", printable_pdf=pdf)
    response = packer.get(reverse("shipments:document_pdf", args=[made.amazon_id, invoice.pk]))
    assert response["Content-Type"] == "application/pdf" and response.content == pdf
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    other = factories.shipment()
    assert packer.get(reverse("shipments:document_pdf", args=[other.amazon_id, invoice.pk])).status_code == 404


def test_every_time_on_the_shipment_page_reads_in_the_stations_clock(packer, settings):
    """Regression: the ship-by read in the station's zone while the history and the claim bar read in
    the server's, on the same page."""
    settings.TIME_ZONE = "UTC"
    made = factories.shipment(status="CONFIRMED")
    event = services.record_event(made, "NOTE", "Checked the box.")
    at = datetime(2026, 11, 23, 19, 0, 53, tzinfo=UTC)
    type(event).objects.filter(pk=event.pk).update(created_at=at)
    html = packer.get(reverse("shipments:body", args=[made.amazon_id]), HTTP_HX_REQUEST="true").content.decode()
    assert "00:30:53" in html and "19:00:53" not in html  # Asia/Kolkata is UTC+5:30


@pytest.mark.parametrize("zone, shown", [("Asia/Kolkata", "Mon 23 Nov 15:30"), ("UTC", "Mon 23 Nov 10:00"),
                                         ("Not/AZone", "Mon 23 Nov 10:00")])
def test_ship_by_shows_in_the_stations_zone_through_the_date_filter(packer, station, settings, zone, shown):
    """Regression: `|date` converted the station's time back to the server's zone, so a column
    headed "Ship by (Asia/Kolkata)" showed UTC. An unknown zone name shows UTC."""
    settings.TIME_ZONE = "America/New_York"  # the server's zone must not leak into the page
    Station.objects.filter(pk=station.pk).update(timezone=zone)
    factories.shipment(ship_by=datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    html = packer.get(reverse("shipments:queue_list"), **HX).content.decode()
    assert f'<div class="sub">{shown}</div>' in html



def test_the_packages_form_never_builds_more_than_the_shipment_allows(packer):
    """Issue 12 item 5: the edit path ignored the 20-package limit and built up to 500 serial fields per
    package whatever was ordered (100 packages took 27 s and 28 MB)."""
    made = factories.shipment(status="CONFIRMED", lines=(("PHONE", 3),), requires_serials=True,
                              compliance={"serial_number_requirement": "REQUIRED"})
    url = reverse("shipments:packages", args=[made.amazon_id])
    data = _package_post(made, **{"pkg-TOTAL_FORMS": "100", "form_action": "add"})
    data.update({f"pkg-{n}-qty_1": "500" for n in range(100)})
    html = packer.post(url, data, **HX).content.decode()
    assert len(re.findall(r'data-package-form ', html)) == 20
    assert html.count('class="serial"') == 20 * 3  # one per unit ordered, never 500
    assert "A shipment has at most 20 packages." in html and 'data-action="ADD_PACKAGE"' not in html
    data["form_action"] = "save"
    saved = packer.post(url, data, **HX).content.decode()
    assert "At most 20 packages per shipment." in saved and not Package.objects.filter(shipment=made).exists()
    assert len(re.findall(r'data-package-form ', saved)) == 20


def test_a_serial_with_a_line_break_is_refused_naming_its_field(packer):
    """Issue 12 item 10 (a browser's text box drops line breaks; a direct post does not)."""
    made = factories.shipment(status="CONFIRMED", lines=(("PHONE", 1),), requires_serials=True,
                              compliance={"serial_number_requirement": "REQUIRED"})
    html = packer.post(reverse("shipments:packages", args=[made.amazon_id]),
                       _package_post(made, **{"pkg-0-qty_1": "1", "pkg-0-serial_1_0": "SN-1\nSN-2"}), **HX)
    assert "Serial of PHONE unit 1 has a line break or another control character in it" in html.content.decode()
    assert not Package.objects.filter(shipment=made).exists()
    with pytest.raises(services.PackageValidationError, match="a serial number of PHONE has a line break"):
        services.save_packages(made, [services.PackageInput(
            length=10, width=10, height=10, weight=100,
            items=[services.PackageItemInput(line_item_id="1", quantity=1, serial_numbers=["SN-1\rSN-2"])])], None)


def test_a_scanned_tracking_number_opens_its_shipment(packer):
    """Defect 9: the scan box took only a shipment or order id."""
    made = factories.shipment(status="SHIPPED")
    factories.package(made, tracking_id="1Z999AA10123456784", carrier_name="UPS")
    found = packer.get(reverse("shipments:open"), {"q": " 1Z999AA10123456784 "}, **HX)
    assert found["HX-Redirect"] == reverse("shipments:detail", args=[made.amazon_id])


def test_a_stations_plausible_bounds_are_edited_in_the_admin(client, station):
    admin = User.objects.create_superuser("root", password="pw-for-tests-only")
    client.force_login(admin)
    url = reverse("admin:stations_station_change", args=[station.pk])
    page = client.get(url).content.decode()
    for name in ("min_package_side_cm", "max_package_side_cm", "max_package_weight_kg"):
        assert f'name="{name}"' in page
    form = {"name": station.name, "location_id": station.location_id, "timezone": station.timezone,
            "printer_host": "", "printer_port": "9100", "scale_port": "4001", "seller_account": "", "min_package_side_cm": "2",
            "max_package_side_cm": "120", "max_package_weight_kg": "30"}
    assert client.post(url, form).status_code == 302
    station.refresh_from_db()
    assert (station.max_package_side_cm, station.max_package_weight_kg) == (120, 30)
    refused = client.post(url, {**form, "min_package_side_cm": "150"}).content.decode()
    assert "The shortest box side must be less than the longest." in refused
