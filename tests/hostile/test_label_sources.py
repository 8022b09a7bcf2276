"""Label links that misbehave, against real HTTP servers: a shipment with a good label stored asks
Amazon (the sandbox, through HostileAmazon) to regenerate it, and the new label's link drips, never
ends, is a web page, redirects in a loop or points inside our own network.

Every case must end with: the step failed within the deadline and says what to do, nothing that is
not a label stored, the good label still the current one, and REGENERATE sent to Amazon once."""

import io
import time

import pytest
from PIL import Image

from fulfillment.documents import formats
from fulfillment.documents.models import Document
from fulfillment.shipments.models import Package, ShipmentStep
from tests.shipments.factories import US
from tests.shipments.sandbox_helpers import create_shipment
from tests.shipments.test_flows_sandbox import run, work_through_until_labels

from . import sources
from .conftest import LABEL_DEADLINE_SECONDS

pytestmark = pytest.mark.django_db
Kind, State = ShipmentStep.Kind, ShipmentStep.State
REGENERATE = {"operation": "REGENERATE", "reason": "label torn"}
NOTHING_STORED = "Nothing was stored and the label kept before (if any) stays. Press Retry"


def _png_bomb() -> bytes:
    out = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(out, format="PNG")  # 100 million pixels in a few kilobytes
    return out.getvalue()


@pytest.fixture
def labelled(hostile, sandbox_settings, packer, django_capture_on_commit_callbacks):
    """A US Easy Ship shipment whose (ZPL) label Packbench fetched through the proxy and stored."""
    shipment = create_shipment(sandbox_settings, programme="EASY_SHIP", marketplace_id=US, label_format="ZPL")
    work_through_until_labels(shipment, packer, django_capture_on_commit_callbacks)
    package = shipment.packages.get()
    good = Document.objects.get(package=package, kind=Document.Kind.LABEL, superseded=False)
    assert formats.checked_label(bytes(good.content)).kind == "ZPL"
    hostile.label_requests.clear()
    return shipment, package, good


def _regenerate_against(hostile_source, labelled, sandbox, packer, capture):
    shipment, package, good = labelled
    hostile_source()
    started = time.monotonic()
    step = run(shipment, Kind.LABELS, packer, REGENERATE, expect=State.FAILED, capture=capture)
    elapsed = time.monotonic() - started
    package.refresh_from_db()
    # Nothing but the good label is stored, and it is still the current one.
    labels = list(Document.objects.filter(shipment=shipment, kind=Document.Kind.LABEL))
    assert [d.pk for d in labels] == [good.pk] and not labels[0].superseded
    assert bytes(labels[0].content) == bytes(good.content)
    assert not any(b"sandbox-secret" in bytes(d.content) for d in Document.objects.all())
    # Amazon was asked once; the packer is told what happened and what to do.
    regenerations = [c for c in sandbox.calls("generateShipLabels", shipment.amazon_id)
                     if c["query"].get("operation") == "REGENERATE"]
    assert len(regenerations) == 1
    assert package.label_status == Package.LabelStatus.FAILED
    assert package.label_error in step.error_message
    return step, package, elapsed


@pytest.mark.parametrize(("source", "said"), [
    pytest.param(lambda: sources.drip(every=0.5), "did not finish in time (3 seconds)", id="slow-drip"),
    pytest.param(lambda: sources.endless(), "larger than any shipping label", id="endless-chunked-body"),
    pytest.param(lambda: sources.endless(declare=200_000_000), "larger than any shipping label", id="declares-200MB"),
    pytest.param(lambda: sources.answer(b"<!doctype html><html><body>Access Denied</body></html>", "text/html"),
                 "is a web page (HTML), not a ZPL, PNG or PDF label", id="html"),
    pytest.param(lambda: sources.answer(b"<script>fetch('/supervision/export.csv')</script>", "application/pdf"),
                 "is a web page (HTML)", id="script-as-pdf"),
    pytest.param(lambda: sources.answer(b"fetch('/supervision/export.csv').then(r => r.text())",
                                        "application/javascript"),
                 "is text (a script or a message, not a file)", id="javascript"),
    pytest.param(lambda: sources.answer(b'{"clientSecret": "x", "refreshToken": "y"}', "application/json"),
                 "is data (JSON)", id="json"),
    pytest.param(lambda: sources.answer(b"%PDF-1.7\n<html><script>alert(1)</script></html>\n%%EOF\n",
                                        "application/pdf"),
                 "says it is a PDF but is not a readable one", id="fake-pdf"),
    pytest.param(lambda: sources.answer(_png_bomb(), "image/png"), "far larger than any label, so Packbench does not open it",
                 id="png-decompression-bomb"),
    pytest.param(lambda: sources.answer(b"^XA^FO50,50^FDcut off", "x.application/zpl"),
                 "ZPL label file is incomplete", id="zpl-cut-off"),
    pytest.param(lambda: sources.redirect(lambda handler: handler.path), "kept redirecting", id="redirect-loop"),
    pytest.param(lambda: sources.redirect("/_sandbox/config"), "points at the sandbox's /_sandbox/config",
                 id="redirect-to-sandbox-config"),
    pytest.param(lambda: sources.redirect("http://169.254.169.254/latest/meta-data/"),
                 "uses http, not https (169.254.169.254:80)", id="redirect-to-link-local"),
])
def test_a_label_source_that_misbehaves_is_stopped_and_replaces_nothing(
        source, said, hostile, sandbox_settings, labelled, packer, django_capture_on_commit_callbacks):
    _, package, elapsed = _regenerate_against(lambda: hostile.serve_label(source()), labelled,
                                                 sandbox_settings, packer, django_capture_on_commit_callbacks)
    assert said in package.label_error and NOTHING_STORED in package.label_error
    assert elapsed < LABEL_DEADLINE_SECONDS + 4, f"the step held its worker {elapsed:.1f} s"
    assert hostile.label_requests  # the source was really asked


def test_a_slow_drip_frees_the_worker_at_the_deadline(hostile, sandbox_settings, labelled, packer,
                                                      django_capture_on_commit_callbacks):
    step, _, elapsed = _regenerate_against(lambda: hostile.serve_label(sources.drip(every=0.2)), labelled,
                                                 sandbox_settings, packer, django_capture_on_commit_callbacks)
    assert LABEL_DEADLINE_SECONDS - 0.5 < elapsed < LABEL_DEADLINE_SECONDS + 4  # + the step's Amazon calls
    assert "did not finish in time" in step.error_message
    assert len(hostile.label_requests) == 1  # a download that ran out of time is not tried again


@pytest.mark.parametrize(("link", "said"), [
    pytest.param(lambda proxy, sandbox, printer: f"{proxy}/_sandbox/config", "points at the sandbox's /_sandbox/config",
                 id="configured-sandbox-config"),
    pytest.param(lambda proxy, sandbox, printer: f"{sandbox}/_sandbox/config", "uses http, not https",
                 id="another-local-server"),
    pytest.param(lambda proxy, sandbox, printer: f"http://127.0.0.1:{printer}/", "uses http, not https",
                 id="printer-port"),
    pytest.param(lambda proxy, sandbox, printer: f"https://127.0.0.1:{printer}/label.zpl",
                 "points at port {printer}", id="printer-port-https"),
    pytest.param(lambda proxy, sandbox, printer: "http://10.0.0.1/label.zpl", "uses http, not https", id="private"),
    pytest.param(lambda proxy, sandbox, printer: "https://169.254.169.254/latest/meta-data/",
                 "points at 169.254.169.254, not at one of Amazon's label hosts", id="link-local"),
    pytest.param(lambda proxy, sandbox, printer: "https://[::1]/label.zpl", "points at ::1", id="loopback-v6"),
    pytest.param(lambda proxy, sandbox, printer: "https://user:pw@labels.s3.amazonaws.com/l.zpl",
                 "carries a user name or password", id="userinfo"),
    pytest.param(lambda proxy, sandbox, printer: "file:///etc/passwd", "uses file, not https", id="file-scheme"),
])
def test_label_links_to_our_own_network_are_never_followed(
        link, said, hostile, sandbox_settings, labelled, packer, printer_port, django_capture_on_commit_callbacks):
    url = link(hostile.url, sandbox_settings.url, printer_port.port)
    _, package, _ = _regenerate_against(lambda: hostile.label_links_to(url), labelled, sandbox_settings, packer,
                                           django_capture_on_commit_callbacks)
    assert said.format(printer=printer_port.port) in package.label_error
    assert printer_port.connections == 0 and not hostile.label_requests


def test_an_allowed_host_that_resolves_to_loopback_is_refused_after_dns(
        hostile, sandbox_settings, labelled, packer, printer_port, settings, django_capture_on_commit_callbacks):
    """The host passes the list of Amazon's hosts; its address does not."""
    settings.AMAZON_LABEL_URL_HOSTS = [".amazonaws.com", "localhost"]
    url = "https://localhost/label.zpl"
    _, package, _ = _regenerate_against(lambda: hostile.label_links_to(url), labelled, sandbox_settings, packer,
                                           django_capture_on_commit_callbacks)
    assert "leads to an address inside a private network" in package.label_error
    assert printer_port.connections == 0


def test_after_a_bad_label_the_next_good_one_is_stored(hostile, sandbox_settings, labelled, packer,
                                                       django_capture_on_commit_callbacks):
    """Retry (Get the labels again) fetches the regenerated label once the source behaves."""
    shipment, package, good = labelled
    hostile.serve_label(sources.answer(b"<html>oops</html>", "text/html"))
    run(shipment, Kind.LABELS, packer, REGENERATE, expect=State.FAILED, capture=django_capture_on_commit_callbacks)
    hostile.serve_label(None)
    run(shipment, Kind.FETCH_LABELS, packer, capture=django_capture_on_commit_callbacks)
    package.refresh_from_db()
    current = Document.objects.get(package=package, kind=Document.Kind.LABEL, superseded=False)
    assert package.label_status == Package.LabelStatus.READY and current.pk != good.pk
    assert current.original_format == "ZPL" and current.content_type == "application/zpl"
    regenerations = [c for c in sandbox_settings.calls("generateShipLabels", shipment.amazon_id)
                     if c["query"].get("operation") == "REGENERATE"]
    assert len(regenerations) == 1  # the retry asked with GENERATE: the regenerated label, not a new one
