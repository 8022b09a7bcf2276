"""A packer takes real sandbox shipments from ACCEPTED to SHIPPED in Chromium.

Everything is real but the worker: the local SmartConnect sandbox answers over HTTP, Celery
tasks run eagerly inside the live server, the station's label printer is a listening socket.
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from fulfillment.claims.models import Claim
from fulfillment.documents.models import Document
from fulfillment.shipments import services
from fulfillment.shipments.models import Shipment
from fulfillment.stations.models import BoxPreset, Station

from .helpers import make_packer, sign_in_at_station

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LOCATION = "SANDBOX-LOC-1"
STEP_TIMEOUT = 20_000  # ms; an Amazon step against the local sandbox takes well under a second


@pytest.fixture
def eager_steps(settings):
    """Steps run inside the live server's request (no worker process to start)."""
    from fulfillment.celery import app

    # Read before switching: Celery reads Django's settings on first access, so setting
    # CELERY_TASK_ALWAYS_EAGER first would make `before` True and leave every later test eager.
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    settings.AMAZON_RATE_LIMITS = {"*": "100/100"}
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def station(label_printer):
    host, port = label_printer.server_address
    BoxPreset.objects.create(name="Small box", length=20, width=15, height=10)
    BoxPreset.objects.create(name="Medium box", length=30, width=25, height=15)
    return Station.objects.create(name="Bench 1", location_id=LOCATION, timezone="Asia/Kolkata",
                                  printer_host=host, printer_port=port)


@pytest.fixture
def packer_page(page, live_server, sandbox_settings, eager_steps, station, print_spy):
    sign_in_at_station(page, live_server, make_packer(), station.name)
    return page


def _add(sandbox, **spec):
    """A new sandbox shipment, pulled into Packbench the way the periodic sync does."""
    doc = sandbox.create_shipment(location_id=LOCATION, **spec)
    shipment_id = doc["id"] if "id" in doc else doc["shipment"]["id"]
    services.refresh_shipment(shipment_id)
    return Shipment.objects.get(amazon_id=shipment_id)


def _open_by_scan(page, live_server, code):
    page.goto(f"{live_server.url}/shipments/")
    scan = page.locator("#scan-input")
    expect(scan).to_be_focused()
    scan.fill(code)
    scan.press("Enter")
    page.wait_for_url("**/shipments/*/")


def _press(page, action):
    page.locator(f"[data-action={action}]").first.click()


def _wait_status(page, status):
    expect(page.locator("#shipment-header .pill").first).to_have_attribute("data-status", status, timeout=STEP_TIMEOUT)


def _stored_label_matches_sandbox(sandbox, shipment):
    served = sandbox.state(shipment.amazon_id)
    documents = Document.objects.filter(shipment=shipment, kind=Document.Kind.LABEL, superseded=False)
    assert documents.count() == shipment.packages.count()
    for document in documents:
        assert document.package.package_id in served["labels"]
    return [bytes(d.content) for d in documents]


def test_easy_ship_with_serial_numbers_from_accepted_to_shipped(packer_page, live_server, sandbox, label_printer,
                                                                shoot):
    page = packer_page
    shipment = _add(sandbox, programme="easy_ship", marketplace="IN", skus=["TPLINK-ARCHER-C6"], units=2,
                    label_format="ZPL", invoice_shape="pdf", ship_by_hours=3)
    services.sync_stations()  # the rest of the location's work, as the periodic sync brings it
    page.goto(f"{live_server.url}/shipments/")
    expect(page.locator(f"tr[data-shipment='{shipment.amazon_id}']")).to_contain_text("Easy Ship")
    assert page.locator("tr[data-shipment]").count() > 5
    shoot("20-queue-sandbox")
    _open_by_scan(page, live_server, shipment.buyer_order_id)
    shoot("21-easy-ship-accepted")

    _press(page, "CONFIRM")
    _wait_status(page, "CONFIRMED")
    verify = page.locator("#verify-input")
    expect(verify).to_be_focused()
    for code, answer in (("TPLINK-ARCHER-C6", "1 of 2"), ("WRONG-SKU", "WRONG ITEM"),
                         ("TPLINK-ARCHER-C6", "All items scanned")):
        verify.fill(code)
        verify.press("Enter")
        expect(page.locator("[data-scan-result]")).to_contain_text(answer)
        if answer == "WRONG ITEM":
            shoot("22-scan-refused")
    expect(page.locator("#packages-form")).to_be_visible(timeout=STEP_TIMEOUT)
    serials = page.locator("input.serial")
    expect(serials).to_have_count(2)
    expect(serials.first).to_be_focused()
    serials.first.fill("TPL-SN-0001")
    serials.first.press("Enter")
    expect(serials.nth(1)).to_be_focused()
    serials.nth(1).fill("TPL-SN-0002")
    serials.nth(1).press("Enter")
    page.get_by_role("button", name="Small box").first.click()
    page.locator("input[name='pkg-0-weight']").fill("650")
    shoot("23-packages-serials")
    _press(page, "SAVE_PACKAGES")
    _wait_status(page, "PACKAGE_CREATED")

    _press(page, "SHIPPING_OPTIONS")
    _wait_status(page, "PICKUP_SLOT_RETRIEVED")
    # The recommended option is preselected; the packer may look and change it.
    page.get_by_text("change…").click()
    expect(page.locator("input[name=option]:checked")).to_have_count(1)
    shoot("24-shipping-options")
    _press(page, "CHOOSE_OPTION")

    _press(page, "INVOICE")
    _wait_status(page, "INVOICE_GENERATED")
    invoice = Document.objects.get(shipment=shipment, kind=Document.Kind.INVOICE, superseded=False)
    pdf = page.request.get(f"{live_server.url}/shipments/{shipment.amazon_id}/documents/{invoice.pk}/pdf/")
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf" and pdf.body().startswith(b"%PDF-")
    page.locator("[data-action=PRINT_INVOICE]").click()
    expect(page.locator("iframe.print-frame")).to_have_count(1)
    page.wait_for_function("(window.__printed || []).length === 1")

    _press(page, "LABELS")
    _wait_status(page, "SHIPLABEL_GENERATED")
    shoot("25-labels-ready")
    labels = _stored_label_matches_sandbox(sandbox, shipment)
    assert all(label.lstrip().startswith(b"^XA") for label in labels)
    _press(page, "PRINT_ALL")
    expect(page.locator("[data-print-result=ok]")).to_be_visible()
    assert label_printer.jobs and label_printer.jobs[0] == labels[0]
    shoot("26-label-printed")

    _press(page, "SHIP")
    _wait_status(page, "SHIPPED")
    expect(page.locator("[data-shipped]")).to_be_visible()
    # Shipped: the packer's claim ends now (not when its lease runs out), and the next scan has the cursor.
    expect(page.locator("[data-claim-done]")).to_be_visible()
    assert not Claim.objects.filter(shipment=shipment).exists()
    expect(page.locator("#scan-input")).to_be_focused()
    shoot("27-shipped")
    _press(page, "NEXT_SHIPMENT")
    page.wait_for_url(f"{live_server.url}/shipments/")
    expect(page.locator("#scan-input")).to_be_focused()
    assert sandbox.state(shipment.amazon_id)["shipment"]["status"] == "SHIPPED"


def test_self_ship_in_two_packages_with_a_pdf_label(packer_page, live_server, sandbox, station, shoot):
    """A station without a label printer: PDF labels print from the browser (the fallback)."""
    page = packer_page
    Station.objects.filter(pk=station.pk).update(printer_host="")
    shipment = _add(sandbox, programme="self_ship", marketplace="US", skus=["LEGO-60337-CITY", "ASICS-GELCONT-42-NVY"],
                    units=[1, 2], label_format="PDF", ship_by_hours=-1)
    _open_by_scan(page, live_server, shipment.amazon_id)
    expect(page.locator(".countdown").first).to_have_class("countdown overdue")
    _press(page, "CONFIRM")
    _wait_status(page, "CONFIRMED")
    page.get_by_role("button", name="Skip scanning and pack").click()
    form = page.locator("#packages-form")
    lego, asics = "input[name='pkg-{n}-qty_1']", "input[name='pkg-{n}-qty_2']"
    page.locator(asics.format(n=0)).fill("0")
    page.locator(asics.format(n=0)).press("Tab")
    _press(page, "ADD_PACKAGE")
    expect(page.get_by_role("heading", name="Package 2", exact=True)).to_be_visible()
    expect(page.locator(asics.format(n=0))).to_have_value("0")  # what was typed survives the re-draw
    page.locator(lego.format(n=1)).fill("0")
    page.locator(asics.format(n=1)).fill("2")
    for n, (weight, preset) in enumerate((("1300", "Medium box"), ("1900", "Small box"))):
        card = form.locator(f"[data-package-index='{n}']")
        card.get_by_role("button", name=preset).click()
        card.locator(f"input[name='pkg-{n}-weight']").fill(weight)
    shoot("30-packages-two")
    _press(page, "SAVE_PACKAGES")
    _wait_status(page, "PACKAGE_CREATED")
    assert shipment.packages.count() == 2

    _press(page, "SHIPPING_OPTIONS")
    _wait_status(page, "PICKUP_SLOT_RETRIEVED")
    _press(page, "INVOICE")  # Amazon answers with the packing slip where no tax invoice is required
    _wait_status(page, "INVOICE_GENERATED")
    # Self-Ship: the seller's own carrier and tracking number go with the label request.
    page.locator("input[name=carrier_name]").fill("UPS")
    page.locator("input[name=tracking_id]").fill("1Z999AA10123456784")
    shoot("31-self-ship-courier")
    _press(page, "LABELS")
    _wait_status(page, "SHIPLABEL_GENERATED")
    labels = _stored_label_matches_sandbox(sandbox, shipment)
    assert all(label.startswith(b"%PDF-") for label in labels)
    expect(page.locator("[data-document=packing-slip] [data-action=PRINT_SLIP]")).to_be_visible()
    _press(page, "PRINT_ALL")  # PDF labels print from the browser: a same-origin frame per label
    expect(page.locator("iframe.print-frame")).to_have_count(2)
    shoot("32-self-ship-labels")
    page.wait_for_function("(window.__printed || []).length === 2")
    # Printing from the browser counts as printed (the page posts it): it moves on to Mark shipped by itself,
    # and a reload shows the print was recorded.
    expect(page.locator("[data-action=SHIP]")).to_be_focused(timeout=STEP_TIMEOUT)
    page.reload()
    expect(page.locator("[data-action=SHIP]")).to_be_visible(timeout=STEP_TIMEOUT)
    _press(page, "SHIP")
    _wait_status(page, "SHIPPED")
    assert sandbox.state(shipment.amazon_id)["shipment"]["status"] == "SHIPPED"


def test_seller_flex_fast_path_pack_and_label(packer_page, live_server, sandbox, label_printer, shoot):
    page = packer_page
    shipment = _add(sandbox, programme="seller_flex", marketplace="IN", skus=["MILTON-THERMO-1000-SS"], units=1,
                    label_format="ZPL", invoice_shape="base64_pdf_text", ship_by_hours=0.5)
    _open_by_scan(page, live_server, shipment.amazon_id)  # action 1: the scan
    expect(page.locator("#pack-scan")).to_be_focused()  # scan to pack at every station; the form below it
    page.get_by_role("button", name="Medium box").click()  # action 2: the box
    page.locator("#fp-weight").fill("520")
    shoot("40-fast-path")
    _press(page, "PACK_AND_LABEL")  # action 3; the worker does the rest, the page only shows it
    done = page.locator("[data-fast-path=done]")
    expect(done).to_contain_text("1 label printed on Bench 1's printer", timeout=STEP_TIMEOUT)
    _wait_status(page, "SHIPLABEL_GENERATED")
    expect(page.locator("[data-label-package] .pill-done")).to_contain_text("Printed")
    labels = _stored_label_matches_sandbox(sandbox, shipment)
    assert label_printer.jobs == labels
    steps = list(shipment.steps.exclude(kind="REFRESH").order_by("created_at", "id"))
    assert [s.kind for s in steps] == ["CONFIRM", "CREATE_PACKAGES", "INVOICE", "LABELS"]
    assert all(s.payload["chain"] == "pack_and_label" for s in steps)
    package = shipment.packages.get()
    assert (package.length, package.weight) == (30, 520)
    assert not shipment.shipping_options.exists()  # Seller Flex: no options to choose
    shoot("41-fast-path-printed")
    _press(page, "SHIP")
    _wait_status(page, "SHIPPED")
    assert Shipment.objects.get(pk=shipment.pk).packages.filter(shipped_at__lte=timezone.now()).count() == 1


def test_easy_ship_png_label_through_pack_and_label_prints_from_the_browser(packer_page, live_server, sandbox,
                                                                            station, print_spy, shoot):
    """At a station without a label printer, a PNG label (Amazon's third label format): Pack & label
    stores it, the page prints it as a PDF page, and printing counts so the packer can mark it shipped."""
    page = packer_page
    Station.objects.filter(pk=station.pk).update(printer_host="")
    shipment = _add(sandbox, programme="easy_ship", marketplace="IN", skus=["MILTON-THERMO-1000-SS"], units=1,
                    label_format="PNG")
    _open_by_scan(page, live_server, shipment.amazon_id)
    page.get_by_role("button", name="Small box").click()
    page.locator("#fp-weight").fill("480")
    _press(page, "PACK_AND_LABEL")
    expect(page.locator("[data-fast-path=done]")).to_contain_text("they print from the shipment page",
                                                                   timeout=STEP_TIMEOUT)
    _wait_status(page, "SHIPLABEL_GENERATED")
    labels = _stored_label_matches_sandbox(sandbox, shipment)
    assert [label[:8] for label in labels] == [b"\x89PNG\r\n\x1a\n"]
    steps = [s.kind for s in shipment.steps.exclude(kind="REFRESH").order_by("created_at", "id")]
    assert steps == ["CONFIRM", "CREATE_PACKAGES", "SHIPPING_OPTIONS", "INVOICE", "LABELS"]
    _press(page, "PRINT_ALL")
    expect(page.locator("iframe.print-frame")).to_have_count(1)
    page.wait_for_function("(window.__printed || []).length === 1")
    printed = page.request.get(live_server.url + print_spy()[0])
    assert printed.ok and printed.headers["content-type"] == "application/pdf" and printed.body().startswith(b"%PDF-")
    expect(page.locator("[data-action=SHIP]")).to_be_focused(timeout=STEP_TIMEOUT)  # no reload needed
    shoot("43-png-label-printed")
    _press(page, "SHIP")
    _wait_status(page, "SHIPPED")
    assert sandbox.state(shipment.amazon_id)["shipment"]["status"] == "SHIPPED"


def test_a_multi_piece_item_packed_in_two_boxes_gets_a_zpl_label_per_box(packer_page, live_server, sandbox,
                                                                          label_printer, shoot):
    """A desk that ships in three cartons: one unit spread over two packages (two pieces, then one),
    each package its own ZPL label at the station's printer."""
    page = packer_page
    shipment = _add(sandbox, programme="easy_ship", marketplace="IN", skus=["WKFLD-DT6-OAK"], units=1)
    assert shipment.multi_piece
    _open_by_scan(page, live_server, shipment.amazon_id)
    _press(page, "CONFIRM")
    _wait_status(page, "CONFIRMED")
    page.get_by_role("button", name="Skip scanning and pack").click()
    form = page.locator("#packages-form")
    line = shipment.line_items.get().line_item_id
    _press(page, "ADD_PACKAGE")
    expect(page.get_by_role("heading", name="Package 2", exact=True)).to_be_visible()
    for n, (units, pieces, weight) in enumerate((("1", "2", "26000"), ("0", "1", "13000"))):
        card = form.locator(f"[data-package-index='{n}']")
        card.locator(f"input[name='pkg-{n}-qty_{line}']").fill(units)
        card.locator(f"input[name='pkg-{n}-pieces_{line}']").fill(pieces)
        card.get_by_role("button", name="Medium box").click()
        card.locator(f"input[name='pkg-{n}-weight']").fill(weight)
    shoot("33-multi-piece-packages")
    _press(page, "SAVE_PACKAGES")
    _wait_status(page, "PACKAGE_CREATED")
    at_amazon = sandbox.state(shipment.amazon_id)["shipment"]["packages"]
    assert sorted(item["pieces"] for p in at_amazon for item in p["packageLineItems"]) == [1, 2]

    _press(page, "SHIPPING_OPTIONS")
    _wait_status(page, "PICKUP_SLOT_RETRIEVED")
    _press(page, "INVOICE")  # the recommended shipping option is preselected
    _wait_status(page, "INVOICE_GENERATED")
    _press(page, "LABELS")
    _wait_status(page, "SHIPLABEL_GENERATED")
    labels = _stored_label_matches_sandbox(sandbox, shipment)
    assert len(labels) == 2 and all(label.lstrip().startswith(b"^XA") for label in labels)
    _press(page, "PRINT_ALL")
    expect(page.locator("[data-print-result=ok]").first).to_be_visible()
    assert sorted(label_printer.jobs) == sorted(labels)
    _press(page, "SHIP")
    _wait_status(page, "SHIPPED")
    assert sandbox.state(shipment.amazon_id)["shipment"]["status"] == "SHIPPED"


def test_pack_and_label_progress_follows_the_worker_step_by_step(page, live_server, sandbox_settings, station,
                                                                 settings, monkeypatch, label_printer, shoot):
    queued = []
    monkeypatch.setattr(services.steps, "enqueue_step", queued.append)  # the test plays the worker
    settings.AMAZON_RATE_LIMITS = {"*": "100/100"}
    shipment = _add(sandbox_settings, programme="seller_flex", marketplace="IN", skus=["MILTON-THERMO-1000-SS"],
                    units=1, label_format="ZPL")
    sign_in_at_station(page, live_server, make_packer(), station.name)
    page.goto(f"{live_server.url}/shipments/{shipment.amazon_id}/")
    page.locator("#fp-weight").fill("480")
    _press(page, "PACK_AND_LABEL")
    expect(page.locator("[data-fast-path=running]")).to_be_visible()
    expect(page.locator("[data-step=CONFIRM]")).to_contain_text("Waiting for Amazon")
    expect(page.locator("[data-action=PACK_AND_LABEL]")).to_have_count(0)  # nothing to press twice
    shoot("42-fast-path-in-progress")
    seen = []
    while queued:  # one worker message at a time; each finished step of the chain queues the next
        step = services.run_step(queued.pop(0))
        if step.kind != "REFRESH":
            seen.append(step.kind)
            if step.kind == "CREATE_PACKAGES":
                # The page went on from step to step by itself (it only polls).
                expect(page.locator("[data-step=INVOICE], [data-fast-path=running]").first).to_be_visible(
                    timeout=STEP_TIMEOUT)
    assert seen == ["CONFIRM", "CREATE_PACKAGES", "INVOICE", "LABELS"]
    expect(page.locator("[data-fast-path=done]")).to_contain_text("printed", timeout=STEP_TIMEOUT)
    expect(page.locator("[data-action=SHIP]")).to_be_visible()
    assert len(label_printer.jobs) == 1
    shoot("43-fast-path-done")


def test_sync_now_brings_new_shipments_into_the_queue(packer_page, live_server, sandbox):
    from django.core.cache import cache

    cache.delete_many(["shipments:sync:default", "shipments:sync-asked:default"])  # no sync asked for the account
    page = packer_page
    page.goto(f"{live_server.url}/shipments/")
    expect(page.locator("#sync-status")).to_contain_text("Amazon not checked yet")
    made = sandbox.create_shipment(location_id=LOCATION, programme="easy_ship", marketplace="IN",
                                   skus=["CAMEL-ACRYLIC-24SET"])
    expect(page.locator(f"tr[data-shipment='{made['id']}']")).to_have_count(0)
    page.locator("[data-action=SYNC_NOW]").click()
    expect(page.locator(f"tr[data-shipment='{made['id']}']")).to_be_visible(timeout=STEP_TIMEOUT)
    expect(page.locator("#sync-status [data-age]")).to_have_text(re.compile(r"^[0-9] s$"))
    expect(page.locator("[data-action=SYNC_NOW]")).to_be_enabled()


def test_a_shipment_cancelled_by_the_marketplace_shows_the_banner_on_open(packer_page, live_server, sandbox, shoot):
    page = packer_page
    shipment = _add(sandbox, programme="easy_ship", marketplace="IN", skus=["CAMEL-ACRYLIC-24SET"])
    sandbox.cancel(shipment.amazon_id)
    # Read from Amazon longer ago than SHIPMENT_FRESH_SECONDS, and no sync since: opening re-reads it.
    Shipment.objects.filter(pk=shipment.pk).update(synced_at=timezone.now() - timedelta(hours=1))
    page.goto(f"{live_server.url}/shipments/{shipment.amazon_id}/")
    expect(page.locator("[data-cancelled]")).to_be_visible(timeout=STEP_TIMEOUT)
    expect(page.locator("[data-action=CONFIRM]")).to_have_count(0)
    shoot("50-cancelled-by-marketplace")


def test_an_amazon_error_shows_what_to_do_and_the_step_can_be_retried(packer_page, live_server, sandbox, shoot,
                                                                      settings):
    page = packer_page
    settings.AMAZON_RETRY_MAX_WAIT_SECONDS = 0.1  # the pause between the step's own runs
    shipment = _add(sandbox, programme="easy_ship", marketplace="IN", skus=["CAMEL-ACRYLIC-24SET"])
    page.goto(f"{live_server.url}/shipments/{shipment.amazon_id}/")
    # A 503 the step outlives: each of its runs re-reads the shipment and sends the confirm again.
    sandbox.faults(operations=["processShipment"], error_rate=1, error_status=503, count=services.STEP_RUNS)
    _press(page, "CONFIRM")
    error = page.locator("[data-step-error]")
    expect(error).to_be_visible(timeout=STEP_TIMEOUT)
    assert "Traceback" not in page.content()
    shoot("60-amazon-error")
    _press(page, "REFRESH")  # what the message asks for: re-read the shipment, then try again
    expect(page.locator("[data-step-error]")).to_have_count(0, timeout=STEP_TIMEOUT)
    _press(page, "CONFIRM")
    _wait_status(page, "CONFIRMED")


def test_the_page_follows_a_step_the_worker_runs_and_a_double_click_sends_once(page, live_server, sandbox_settings,
                                                                                station, settings, monkeypatch, shoot):
    queued = []
    monkeypatch.setattr(services.steps, "enqueue_step", queued.append)  # the test plays the worker
    settings.AMAZON_RATE_LIMITS = {"*": "100/100"}
    shipment = _add(sandbox_settings, programme="easy_ship", marketplace="IN", skus=["CAMEL-ACRYLIC-24SET"])
    sign_in_at_station(page, live_server, make_packer(), station.name)
    page.goto(f"{live_server.url}/shipments/{shipment.amazon_id}/")
    page.locator("[data-action=CONFIRM]").dblclick()
    waiting = page.locator("[data-step=CONFIRM][data-step-state=PENDING]")
    expect(waiting).to_contain_text("Waiting for Amazon")
    expect(page.locator("[data-action=CONFIRM]")).to_be_disabled()
    shoot("12-waiting-for-amazon")
    for step_id in queued:
        services.run_step(step_id)
    _wait_status(page, "CONFIRMED")  # the 1 s poll saw the step end and reloaded the shipment
    expect(page.locator("#verify-input")).to_be_focused()
    assert len(sandbox_settings.calls(operation="processShipment", shipment_id=shipment.amazon_id)) == 1
