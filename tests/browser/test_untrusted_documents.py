"""What a person sees when a document from outside is bad, in Chromium: the packer whose label
link gives a web page is told so and what to do, and Retry stores the real label once the source
behaves; a supervisor who opens a label stored as a script gets words, never a running script."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from fulfillment.documents.models import Document
from fulfillment.shipments.models import Package
from fulfillment.stations.models import Station
from tests.hostile import sources
from tests.hostile.steps import work_until
from tests.shipments import factories
from tests.shipments.factories import US
from tests.shipments.sandbox_helpers import create_shipment

from .helpers import make_packer, make_user, sign_in_at_station

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LOCATION = "SANDBOX-LOC-1"
STEP_TIMEOUT = 20_000


@pytest.fixture
def eager_steps(settings):
    from fulfillment.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def hostile(sandbox_settings, settings):
    proxy = sources.HostileAmazon(sandbox_settings.url)
    settings.AMAZON_ENDPOINT = proxy.url
    settings.AMAZON_RATE_LIMITS = {"*": "100/100"}
    settings.AMAZON_LABEL_DOWNLOAD_SECONDS = 5
    yield proxy
    proxy.close()


def test_a_packer_is_told_what_was_wrong_with_a_label_and_retry_stores_the_real_one(
        page, live_server, sandbox_settings, hostile, eager_steps, print_spy, shoot,
        django_capture_on_commit_callbacks):
    station = Station.objects.create(name="Bench 1", location_id=LOCATION)
    packer = make_packer()
    shipment = create_shipment(sandbox_settings, programme="EASY_SHIP", marketplace_id=US, label_format="PDF",
                               location_id=LOCATION)
    work_until(shipment, packer, django_capture_on_commit_callbacks)
    sign_in_at_station(page, live_server, packer, station.name)
    page.goto(f"{live_server.url}/shipments/{shipment.amazon_id}/")

    hostile.serve_label(sources.answer(b"<!doctype html><html><body><h1>Access Denied</h1></body></html>",
                                       "application/pdf"))
    page.locator("[data-action=LABELS]").first.click()
    error = page.locator("[data-label-error]")
    expect(error).to_contain_text("is a web page (HTML), not a ZPL, PNG or PDF label", timeout=STEP_TIMEOUT)
    expect(error).to_contain_text("Nothing was stored")
    expect(error).to_contain_text("Press Retry")
    expect(page.locator("[data-action=RETRY_LABEL]")).to_be_visible()
    shoot("60-label-not-a-label")
    assert not Document.objects.filter(shipment=shipment, kind=Document.Kind.LABEL).exists()

    hostile.serve_label(None)  # the source behaves again
    page.locator("[data-action=RETRY_LABEL]").click()
    expect(page.locator("[data-label-package] [data-action=PRINT_LABEL]")).to_be_visible(timeout=STEP_TIMEOUT)
    expect(page.locator("[data-label-error]")).to_have_count(0)
    label = Document.objects.get(shipment=shipment, kind=Document.Kind.LABEL, superseded=False)
    assert label.original_format == "PDF" and label.content_type == "application/pdf"
    assert shipment.packages.get().label_status == Package.LabelStatus.READY
    shoot("61-label-after-retry")


def test_a_label_stored_as_a_script_never_runs_for_the_supervisor(page, live_server, shoot):
    """Before these checks, a label link could store JavaScript that the supervisor's "Download the
    original file" served inline: a same-origin script with the supervisor's session."""
    supervisor = make_user("sofia", "Supervisors")
    shipment = factories.shipment(status="SHIPLABEL_GENERATED")
    package = factories.package(shipment, label_status=Package.LabelStatus.READY)
    label = Document.objects.create(
        shipment=shipment, package=package, kind=Document.Kind.LABEL, content_type="text/html",
        content=b"<html><body><script>document.title = 'pwned'; fetch('/supervision/export.csv')</script></body></html>",
        fetched_at=timezone.now())
    page.goto(f"{live_server.url}/")
    page.fill("#id_username", supervisor.username)
    page.fill("#id_password", "packer-password-for-tests")
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login" not in url)
    exports = []
    page.on("request", lambda request: exports.append(request.url) if "export.csv" in request.url else None)

    page.goto(f"{live_server.url}/supervision/documents/{label.pk}/")
    expect(page.locator(".banner-error")).to_contain_text("cannot be shown")
    page.get_by_role("link", name="Download the original file").click()
    expect(page.locator(".banner-error")).to_contain_text("not a ZPL, PNG or PDF label")
    expect(page.get_by_role("link", name="Download the original file")).to_have_count(0)
    shoot("62-script-label-refused")
    assert page.title() != "pwned" and not exports
