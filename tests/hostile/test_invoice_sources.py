"""Invoices that misbehave, from a real HTTP server (the sandbox, through HostileAmazon): a
shipment with a good invoice stored asks for it again and gets a bomb, a web page, a fake PDF or
base64 nested five deep. The step fails with words for the packer, nothing is stored, the good
invoice stays; the same good invoice again is not stored twice."""

import base64
import io

import pytest
from PIL import Image

from fulfillment.documents.models import Document
from fulfillment.shipments.models import ShipmentStep
from fulfillment.shipments.services.documents import store_invoice
from tests.shipments.factories import INDIA
from tests.shipments.sandbox_helpers import create_shipment
from tests.shipments.test_flows_sandbox import run

from .steps import work_until

pytestmark = pytest.mark.django_db
Kind, State = ShipmentStep.Kind, ShipmentStep.State


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _png(width, height) -> bytes:
    out = io.BytesIO()
    Image.new("1", (width, height), 1).save(out, format="PNG")
    return out.getvalue()


def _nested(data: bytes, layers: int) -> str:
    for _ in range(layers):
        data = base64.b64encode(data)
    return data.decode()



@pytest.fixture
def invoiced(hostile, sandbox_settings, packer, django_capture_on_commit_callbacks):
    """An Indian Easy Ship shipment (tax invoice required) whose invoice Packbench stored."""
    shipment = create_shipment(sandbox_settings, programme="EASY_SHIP", marketplace_id=INDIA, invoice_shape="pdf")
    work_until(shipment, packer, django_capture_on_commit_callbacks)
    assert shipment.status == "INVOICE_GENERATED"
    good = Document.objects.get(shipment=shipment, kind=Document.Kind.INVOICE, superseded=False)
    return shipment, good


@pytest.mark.parametrize(("content", "said"), [
    pytest.param(lambda: "A" * 12_000_000, "far larger than any shipment or invoice", id="12MB-answer"),
    pytest.param(lambda: _b64(b"%PDF-1.4\n" + b"0" * 6_000_000 + b"\n%%EOF"), "far larger than any invoice (over 5 MB)",
                 id="6MB-invoice"),
    pytest.param(lambda: _b64(("TAX INVOICE line of text\n" * 45_000).encode()),
                 "far longer than any text invoice", id="1MB-text"),
    pytest.param(lambda: _b64((("2 x TEA-ASSAM-500G 499.00 " * 4 + "\n") * 1_200).encode()),
                 "text far longer than any invoice (126,000 characters)", id="126k-characters"),
    pytest.param(lambda: _b64(b"Invoice\n" * 4_000), "text far longer than any invoice (4,001 lines)",
                 id="4000-short-lines"),
    pytest.param(lambda: _b64(b"Invoice page\f" * 2_000), "text far longer than any invoice", id="2000-page-breaks"),
    pytest.param(lambda: _b64(_png(9_000, 9_000)), "far larger than any invoice", id="9000x9000-png"),
    pytest.param(lambda: _b64(_png(5_000, 5_000)), "far larger than any invoice (5000 × 5000 pixels)", id="25MP-png"),
    pytest.param(lambda: _nested(b"%PDF-1.4\n%%EOF\n", 5), "more layers of base64 than any invoice", id="five-layers"),
    pytest.param(lambda: _b64(b"<html><body><script>alert(document.cookie)</script></body></html>"),
                 "is a web page (HTML), not an invoice", id="html"),
    pytest.param(lambda: _b64(b'{"invoice": "INV-1", "total": 998}'), "is data (JSON), not an invoice", id="json"),
    pytest.param(lambda: _b64(b"%PDF-1.4\nthis is no PDF at all\n%%EOF\n"), "says it is a PDF but is not a readable one",
                 id="fake-pdf"),
    pytest.param(lambda: _b64(b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj"), "incomplete", id="cut-off-pdf"),
])
def test_a_bad_invoice_is_refused_and_the_good_one_stays(content, said, hostile, invoiced, packer,
                                                         django_capture_on_commit_callbacks):
    shipment, good = invoiced
    hostile.invoice_is(content())
    step = run(shipment, Kind.INVOICE, packer, expect=State.FAILED, capture=django_capture_on_commit_callbacks)
    assert said in step.error_message, step.error_message
    assert "Seller Central" in step.error_message  # what to do about it
    invoices = list(Document.objects.filter(shipment=shipment, kind=Document.Kind.INVOICE))
    assert [d.pk for d in invoices] == [good.pk] and not invoices[0].superseded


def test_the_same_invoice_again_is_stored_once(hostile, invoiced, packer, django_capture_on_commit_callbacks):
    shipment, good = invoiced
    run(shipment, Kind.INVOICE, packer, capture=django_capture_on_commit_callbacks)  # retrieveInvoice: same bytes
    assert list(Document.objects.filter(shipment=shipment, kind=Document.Kind.INVOICE)) == [good]


def test_an_invoice_that_changed_replaces_the_old_one(hostile, invoiced, packer, django_capture_on_commit_callbacks):
    from fulfillment.sandbox import documents as sandbox_documents

    shipment, good = invoiced
    hostile.invoice_is(_b64(sandbox_documents.pdf_bytes(["Invoice INV-1 (corrected)"])))
    run(shipment, Kind.INVOICE, packer, capture=django_capture_on_commit_callbacks)
    current = Document.objects.get(shipment=shipment, kind=Document.Kind.INVOICE, superseded=False)
    assert current.pk != good.pk and Document.objects.filter(shipment=shipment, kind="INVOICE").count() == 2


def test_store_invoice_refuses_without_touching_the_database_first(invoiced):
    """The check comes before any write: a refused invoice supersedes nothing."""
    from types import SimpleNamespace

    from fulfillment.amazon.schemas import InvoiceResponse
    from fulfillment.documents.errors import DocumentError

    shipment, good = invoiced
    response = InvoiceResponse.model_validate({"document": {"format": "PDF", "content": _b64(b"<html></html>")}})
    with pytest.raises(DocumentError):
        store_invoice(SimpleNamespace(shipment=shipment, requested_by=None), response)
    good.refresh_from_db()
    assert not good.superseded
