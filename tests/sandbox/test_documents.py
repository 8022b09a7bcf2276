"""The files the sandbox serves open in real readers: PDF (pypdf), PNG (Pillow), ZPL structure."""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime

import pypdf
from PIL import Image

from fulfillment.sandbox import documents, seed

SHIPMENT = seed.seed_shipments(4, 2, datetime(2025, 3, 3, tzinfo=UTC))[1].doc
PACKAGE = {"id": "PKG-1", "weight": {"value": "850", "weightUnit": "G"}}
LABEL = {"carrierName": "ATSPL", "trackingId": "362012345678"}


def _pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data), strict=True)
    assert len(reader.pages) == 1
    return reader.pages[0].extract_text()


def test_pdf_invoice_is_a_readable_pdf_naming_the_order():
    document = documents.invoice_document(SHIPMENT, "INV-1", "pdf")
    text = _pdf_text(base64.b64decode(document["content"]))
    assert SHIPMENT["shipmentInfo"]["buyerOrderId"] in text and "INV-1" in text


def test_base64_text_invoice_unwraps_to_the_same_pdf_text():
    document = documents.invoice_document(SHIPMENT, "INV-1", "base64_pdf_text")
    text = _pdf_text(base64.b64decode(base64.b64decode(document["content"])))
    assert SHIPMENT["lineItems"][0]["merchantSku"] in text


def test_png_labelled_pdf_invoice_is_a_real_png():
    document = documents.invoice_document(SHIPMENT, "INV-1", "png_as_pdf")
    assert document["format"] == "PDF"
    image = Image.open(io.BytesIO(base64.b64decode(document["content"])))
    image.load()
    assert image.format == "PNG"


def test_png_label_is_4x6_inches_at_203_dpi_with_bars():
    image = Image.open(io.BytesIO(documents.label_content("PNG", SHIPMENT, PACKAGE, LABEL)))
    image.load()
    assert image.size == (812, 1218)
    assert image.convert("L").getextrema() == (0, 255)  # black bars on white


def test_pdf_label_is_a_4x6_inch_page_with_the_tracking_id():
    data = documents.label_content("PDF", SHIPMENT, PACKAGE, LABEL)
    reader = pypdf.PdfReader(io.BytesIO(data), strict=True)
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == (288, 432)
    assert "362012345678" in reader.pages[0].extract_text()


def test_zpl_label_fields_cannot_break_out_of_their_field():
    hostile = {
        **SHIPMENT,
        "shippingInfo": {
            **SHIPMENT["shippingInfo"],
            "shipToAddress": {"name": "Evil ^XZ^XA Name", "postalCode": "1"},
        },
    }
    zpl = documents.label_content("ZPL", hostile, PACKAGE, LABEL).decode()
    assert zpl.count("^XA") == 1 and zpl.count("^XZ") == 1
