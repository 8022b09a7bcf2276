"""Invoice documents in every shape Amazon sends them, turned into real PDFs (read back with pypdf)."""

import base64
import io
import json
import random
from pathlib import Path

import pypdf
import pytest
from django.conf import settings
from PIL import Image

from fulfillment.documents.errors import UnreadableDocument
from fulfillment.documents.rendering import checked_invoice, invoice_to_pdf
from fulfillment.sandbox import documents as sandbox_documents

CONTRACT = Path(settings.BASE_DIR) / "fulfillment/amazon/contract/externalFulfillmentShipments_2024-09-11.json"
A4 = (595, 842)
# The seller guide's PLAIN_TEXT sample (seed 003, step 4), exactly as printed: cut off mid-PDF.
GUIDE_SAMPLE = (
    "SlZCRVJpMHhMalFLSmFxcnJLMEtNU0F3SUc5aWFnbzhQQW92UTNKbFlYUnZjaUFvUVhCaFkyaGxJRVpQVUNCV1pYSnphVzl1SURJdU1Ta0t"
    "MMUJ5YjJSMVkyVnlJQ2hCY0dGamFHVWdSazlRSUZabGNuTnBiMjRnTWk0eEtRb3ZRM0psWVhScGIyNUVZWFJsSUNoRU9qSXdNalF3TVRFeE1U"
    "QXlOREl4V2lrS1BqNEtaVzVrYj"
)

SHIPMENT = {
    "id": "SHIP-INV-1",
    "marketplaceAttributes": {"marketplaceId": "A21TJRUUN4KGV", "channelName": "EASY_SHIP"},
    "shipmentInfo": {"buyerOrderId": "402-1234567-7654321"},
    "shipmentRequirements": {"invoice": {"requirement": "REQUIRED"}},
    "shippingInfo": {"shipToAddress": {"name": "Asha Rao", "city": "Bengaluru", "postalCode": "560001"}},
    "lineItems": [{
        "merchantSku": "TEA-ASSAM-500G", "numberOfUnits": 2,
        "charges": [{"chargeType": "PRODUCT",
                     "totalCharge": {"netAmount": {"value": "499.00", "currencyCode": "INR"}}}],
    }],
    "charges": [{"chargeType": "TOTAL", "totalCharge": {"netAmount": {"value": "998.00", "currencyCode": "INR"}}}],
}


def read_pdf(pdf: bytes) -> pypdf.PdfReader:
    assert pdf.startswith(b"%PDF-") and b"%%EOF" in pdf[-32:]
    return pypdf.PdfReader(io.BytesIO(pdf), strict=True)


def page_size(page) -> tuple[int, int]:
    return round(float(page.mediabox.width)), round(float(page.mediabox.height))


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in read_pdf(pdf).pages)


def amazon_static_sandbox_invoice(operation: str) -> dict:
    model = json.loads(CONTRACT.read_text())
    for methods in model["paths"].values():
        for op in methods.values():
            if isinstance(op, dict) and op.get("operationId") == operation:
                return op["responses"]["200"]["x-amzn-api-sandbox"]["static"][0]["response"]["document"]
    raise LookupError(operation)


def a_pdf(*lines: str) -> bytes:
    return sandbox_documents.pdf_bytes(list(lines) or ["Invoice INV-77", "TEA-ASSAM-500G x 2"])


# --- Every shape the local sandbox serves ---------------------------------------------------------------


@pytest.mark.parametrize(("shape", "detected"), [
    ("pdf", "pdf"), ("png_as_pdf", "png"), ("base64_pdf_text", "base64-pdf"), ("text", "text"),
])
def test_every_sandbox_invoice_shape_becomes_a_readable_pdf(shape, detected):
    document = sandbox_documents.invoice_document(SHIPMENT, "INV-2024-0001", shape)

    rendered = invoice_to_pdf(document["content"], document["format"])

    assert rendered.detected == detected
    assert rendered.note
    reader = read_pdf(rendered.pdf)
    assert len(reader.pages) == 1
    if shape == "png_as_pdf":
        assert page_size(reader.pages[0]) == A4
        assert [image.image.size for image in reader.pages[0].images] == [(200, 280)]
    else:
        text = pdf_text(rendered.pdf)
        assert "INV-2024-0001" in text and "TEA-ASSAM-500G" in text


@pytest.mark.parametrize(("shape", "is_pdf"), [
    ("pdf", True), ("base64_pdf_text", True), ("png_as_pdf", False), ("text", False),
])
def test_checking_an_invoice_draws_no_page(shape, is_pdf, monkeypatch):
    """What the worker stores with: a PDF is its own printable copy; text and images are drawn when
    first needed (Document.pdf), so checking them draws nothing."""
    from fulfillment.documents import rendering

    document = sandbox_documents.invoice_document(SHIPMENT, "INV-2024-0001", shape)
    monkeypatch.setattr(rendering, "_render", lambda html: pytest.fail("a page was drawn"))

    pdf = checked_invoice(document["content"], document["format"])

    if is_pdf:
        assert "INV-2024-0001" in pdf_text(pdf)
    else:
        assert pdf is None


def test_a_pdf_passes_through_byte_for_byte():
    pdf = a_pdf()
    assert invoice_to_pdf(base64.b64encode(pdf).decode(), "PDF").pdf == pdf


@pytest.mark.parametrize("operation", ["generateInvoice", "retrieveInvoice"])
def test_amazon_static_sandbox_png_labelled_pdf_with_damaged_header_is_laid_on_a4(operation):
    # Amazon's own sandbox answer: format PDF, content a PNG whose signature/IHDR length bytes are damaged.
    document = amazon_static_sandbox_invoice(operation)
    assert document["format"] == "PDF" and not base64.b64decode(document["content"]).startswith(b"\x89PNG\r\n\x1a\n\0\0\0\r")

    rendered = invoice_to_pdf(document["content"], document["format"])

    assert rendered.detected == "png"
    assert "labelled PDF" in rendered.note
    page = read_pdf(rendered.pdf).pages[0]
    assert page_size(page) == A4
    assert [image.image.size for image in page.images] == [(812, 1218)]


def test_jpeg_invoice_is_laid_on_a4():
    out = io.BytesIO()
    Image.new("RGB", (300, 400), "white").save(out, format="JPEG")
    rendered = invoice_to_pdf(base64.b64encode(out.getvalue()).decode(), "PDF")
    assert rendered.detected == "jpeg"
    assert page_size(read_pdf(rendered.pdf).pages[0]) == A4


def test_base64_of_base64_of_a_pdf_labelled_plain_text_is_the_pdf():
    pdf = a_pdf()
    twice = base64.b64encode(base64.b64encode(pdf)).decode()
    rendered = invoice_to_pdf(twice, "PLAIN_TEXT")
    assert rendered.detected == "base64-pdf"
    assert rendered.pdf == pdf


def test_the_guides_own_sample_is_refused_as_cut_off():
    with pytest.raises(UnreadableDocument) as refused:
        invoice_to_pdf(GUIDE_SAMPLE, "PLAIN_TEXT")
    assert "incomplete" in refused.value.packer_message


# --- Base64 as it arrives ----------------------------------------------------------------------------------


def _mime_lines(text: str) -> str:
    return "\r\n".join(text[i:i + 76] for i in range(0, len(text), 76))


@pytest.mark.parametrize("transform", [
    pytest.param(lambda b64: _mime_lines(b64), id="line-breaks"),
    pytest.param(lambda b64: "  \n" + b64 + "\n\t", id="surrounding-whitespace"),
    pytest.param(lambda b64: b64.rstrip("="), id="missing-padding"),
    pytest.param(lambda b64: "data:application/pdf;base64," + b64, id="data-url"),
    pytest.param(lambda b64: "data:application/octet-stream;name=inv.pdf;base64," + b64, id="data-url-params"),
    pytest.param(lambda b64: b64.replace("+", "-").replace("/", "_"), id="url-safe-alphabet"),
    pytest.param(lambda b64: "\\n".join(b64[i:i + 64] for i in range(0, len(b64), 64)), id="json-escaped-newlines"),
    pytest.param(lambda b64: b64.encode(), id="as-bytes"),
])
def test_base64_quirks_are_tolerated(transform):
    pdf = a_pdf() + b"%" + bytes(range(256)) + b"\n"  # a trailing comment that encodes to + and /
    while len(pdf) % 3 != 1:  # one byte over a multiple of 3: the base64 ends in "=="
        pdf += b"\n"
    b64 = base64.b64encode(pdf).decode()
    assert b64.endswith("==") and ("+" in b64 or "/" in b64)
    assert invoice_to_pdf(transform(b64), "PDF").pdf == pdf


def test_raw_pdf_bytes_are_accepted_as_they_are():
    pdf = a_pdf()
    assert invoice_to_pdf(pdf).pdf == pdf


# --- Plain text ----------------------------------------------------------------------------------------


def test_utf8_text_keeps_its_characters_and_lines_in_a_monospace_font():
    text = "TAX INVOICE\nSold by: Müller & Söhne GmbH\nTotal: 998.00 ₹ / 12,50 €\n\n  2  TEA-ASSAM-500G"
    rendered = invoice_to_pdf(base64.b64encode(text.encode()).decode(), "PLAIN_TEXT")

    assert rendered.detected == "text"
    extracted = pdf_text(rendered.pdf).splitlines()
    for line in ("TAX INVOICE", "Sold by: Müller & Söhne GmbH", "Total: 998.00 ₹ / 12,50 €"):
        assert line in extracted
    assert any(line.strip() == "2  TEA-ASSAM-500G" for line in extracted)
    page = read_pdf(rendered.pdf).pages[0]
    fonts = {str(page["/Resources"]["/Font"][name]["/BaseFont"]) for name in page["/Resources"]["/Font"]}
    assert any("DejaVu-Sans-Mono" in font for font in fonts)


def test_latin1_text_is_read_as_latin1():
    text = "Rechnung für Jürgen Weiß\nBetrag: 12,50"
    rendered = invoice_to_pdf(base64.b64encode(text.encode("latin-1")).decode(), "PLAIN_TEXT")
    assert rendered.detected == "text"
    assert "Rechnung für Jürgen Weiß" in pdf_text(rendered.pdf)


def test_long_text_and_form_feeds_make_more_pages():
    long_text = "\n".join(f"line {n:03d}" for n in range(200))
    assert len(read_pdf(invoice_to_pdf(base64.b64encode(long_text.encode()).decode()).pdf).pages) >= 3
    two_pages = "Invoice page one\fInvoice page two"
    reader = read_pdf(invoice_to_pdf(base64.b64encode(two_pages.encode()).decode()).pdf)
    assert [page.extract_text().strip() for page in reader.pages] == ["Invoice page one", "Invoice page two"]


def test_wide_text_columns_are_not_wrapped():
    row = "  2  TEA-ASSAM-500G" + " " * 60 + "499.00 INR" + " " * 40 + "998.00 INR"
    extracted = pdf_text(invoice_to_pdf(base64.b64encode(row.encode()).decode()).pdf)
    assert len(extracted.strip().splitlines()) == 1


# --- Refused, with words for the packer -----------------------------------------------------------------


def _damaged_png() -> str:
    png = bytearray(sandbox_documents.png_bytes(40, 40, [(5, 5, 10, 10)]))
    png[60] ^= 0xFF  # inside the IDAT data: its CRC no longer matches
    return base64.b64encode(bytes(png)).decode()


@pytest.mark.parametrize(("content", "says"), [
    pytest.param(base64.b64encode(random.Random(7).randbytes(3000)).decode(), "not a PDF, an image or text", id="random-bytes"),
    pytest.param("this is %% not base64 !!", "not base64", id="not-base64"),
    pytest.param("", "empty", id="empty"),
    pytest.param("  \n ", "empty", id="blank"),
    pytest.param(None, "empty", id="none"),
    pytest.param(base64.b64encode(a_pdf()[:300]).decode(), "incomplete", id="cut-off-pdf"),
    pytest.param(_damaged_png(), "damaged", id="damaged-png"),
    pytest.param(base64.b64encode(b"^XA^FO50,50^FDInvoice^FS^XZ").decode(), "ZPL", id="zpl"),
    pytest.param(b"\x00\x01\x02\xff\xfe garbage", "not base64", id="binary-bytes"),
])
@pytest.mark.parametrize("read", [invoice_to_pdf, checked_invoice])
def test_unreadable_invoices_are_refused_with_a_message_the_packer_can_act_on(content, says, read):
    with pytest.raises(UnreadableDocument) as refused:
        read(content, "PDF")
    message = refused.value.packer_message
    assert says in message
    assert str(refused.value) == message
    assert "Seller Central" in message  # always says what to do next
