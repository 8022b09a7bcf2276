"""What a document's bytes are, and what a stored document is served back as."""

import base64
import io

import pytest
from PIL import Image

from fulfillment.documents import formats
from fulfillment.documents.errors import UnreadableDocument
from fulfillment.sandbox import documents as sandbox_documents

ZPL = b"^XA\n^FO40,40^A0N,44,44^FDATSPL^FS\n^XZ\n"
LABEL_PNG = sandbox_documents.png_bytes(812, 1218, [(40, 700, 300, 220)])
LABEL_PDF = sandbox_documents.pdf_bytes(["ATSPL", "Tracking 343284200328"], width=288, height=432)


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (400, 600), "white").save(out, format="JPEG")
    return out.getvalue()


@pytest.mark.parametrize(("content", "kind", "media_type"), [
    (ZPL, "ZPL", "application/zpl"), (LABEL_PNG, "PNG", "image/png"), (LABEL_PDF, "PDF", "application/pdf"),
    (jpeg(), "JPEG", "image/jpeg"),
])
def test_real_labels_pass_as_what_they_are(content, kind, media_type):
    checked = formats.checked_label(content)
    assert (checked.kind, checked.media_type) == (kind, media_type)


@pytest.mark.parametrize(("content", "said"), [
    (b"", "is empty"),
    (b"<svg onload=alert(1)>", "a web page (HTML)"),
    (b"<?xml version='1.0'?><Error><Code>AccessDenied</Code></Error>", "markup (XML or HTML)"),
    (b'[{"a": 1}]', "data (JSON)"),
    (b"alert(document.domain)", "text (a script or a message, not a file)"),
    (bytes(range(256)) * 4, "unknown binary data"),
    (LABEL_PNG[:400], "image Amazon sent is damaged"),
    (LABEL_PDF[: len(LABEL_PDF) // 2], "PDF Amazon sent is incomplete"),
    (b"^XA^FDno end", "ZPL label file is incomplete"),
])
def test_anything_else_is_no_label(content, said):
    with pytest.raises(UnreadableDocument) as refused:
        formats.checked_label(content)
    assert said in refused.value.packer_message and "Press Retry" in refused.value.packer_message


def test_a_label_over_the_size_limit_is_refused_before_reading_it(settings):
    settings.DOCUMENT_MAX_BYTES = 1000
    with pytest.raises(UnreadableDocument) as refused:
        formats.checked_label(ZPL * 100)
    assert "larger than any shipping label" in refused.value.packer_message


@pytest.mark.parametrize("text", [
    "TAX INVOICE\nSold by: Example GmbH\nTotal 12,50 EUR",
    "INVOICE\nABCDEFGHIJKLMNOPQRSTUVWXYZ\nTOTAL\n",  # words alone on their lines are not base64
    "a\n" * 500,
])
def test_plain_text_invoices_are_not_mistaken_for_base64(text):
    found = formats.invoice_file(base64.b64encode(text.encode()).decode())
    assert found.kind == "text" and found.text == text


@pytest.mark.parametrize(("content", "is_label", "kind", "media_type", "extension"), [
    (ZPL, True, "ZPL", "application/zpl", "zpl"),
    (LABEL_PNG, True, "PNG", "image/png", "png"),
    (base64.b64encode(LABEL_PDF), False, "PDF", "application/pdf", "pdf"),
    (LABEL_PDF, False, "PDF", "application/pdf", "pdf"),  # an invoice stored as its file
    (base64.b64encode("Rechnung 12,50 €".encode()), False, "TEXT", "text/plain; charset=utf-8", "txt"),
])
def test_a_stored_document_is_served_as_the_type_its_bytes_are(content, is_label, kind, media_type, extension):
    original = formats.original_file(content, is_label=is_label)
    assert (original.kind, original.media_type, original.extension) == (kind, media_type, extension)


def test_invoice_text_is_served_as_utf8_text():
    original = formats.original_file(base64.b64encode("Rechnung 12,50 €".encode("cp1252")), is_label=False)
    assert original.content == "Rechnung 12,50 €".encode()


@pytest.mark.parametrize(("content", "is_label"), [
    (b"<script>fetch('/supervision/export.csv')</script>", True),
    (b"alert(1)", True),
    (base64.b64encode(b"<html><script>alert(1)</script></html>"), False),
])
def test_a_stored_document_that_is_no_document_is_never_served(content, is_label):
    with pytest.raises(UnreadableDocument):
        formats.original_file(content, is_label=is_label)
