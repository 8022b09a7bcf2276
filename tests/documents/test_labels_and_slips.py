"""Label detection and printable labels; the packing slip; no document ever reaches the network."""

import socket
from decimal import Decimal
from types import SimpleNamespace

import pytest
from PIL import Image

from fulfillment.documents import rendering
from fulfillment.documents.errors import DocumentError, UnreadableDocument
from fulfillment.documents.rendering import (
    PackingSlip,
    SlipLine,
    SlipPackage,
    detect_label_format,
    label_to_printable_pdf,
    packing_slip_pdf,
)
from fulfillment.sandbox import documents as sandbox_documents

from .test_invoices import page_size, pdf_text, read_pdf

FOUR_BY_SIX = (288, 432)  # points
ZPL = b"^XA\n^FO40,40^A0N,44,44^FDATSPL^FS\n^XZ\n"
LABEL_PNG = sandbox_documents.png_bytes(812, 1218, [(40, 700, 300, 220)])
LABEL_PDF = sandbox_documents.pdf_bytes(["ATSPL", "Tracking 343284200328"], width=288, height=432)


# --- Label formats -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("content", "content_type", "expected"), [
    pytest.param(ZPL, "x.application/zpl", "ZPL", id="zpl-amazon-content-type"),
    pytest.param(ZPL, "application/octet-stream", "ZPL", id="zpl-by-bytes"),
    pytest.param(b"CT~~CD,~CC^~CT~\n^XA~TA000^FDX^FS^XZ", "text/plain", "ZPL", id="zpl-zebra-export-prefix"),
    pytest.param(b"\n\n^FX comment first\n^XA^XZ", "x.application/zpl", "ZPL", id="zpl-leading-command"),
    pytest.param(LABEL_PNG, "image/png", "PNG", id="png"),
    pytest.param(LABEL_PNG, "application/pdf", "PNG", id="png-mislabelled"),
    pytest.param(LABEL_PDF, "application/pdf", "PDF", id="pdf"),
    pytest.param(LABEL_PDF, "binary/octet-stream", "PDF", id="pdf-generic-type"),
])
def test_label_format_is_detected_by_bytes_then_content_type(content, content_type, expected):
    assert detect_label_format(content, content_type) == expected


@pytest.mark.parametrize("content", [b"", b"<html>Access Denied</html>", bytes(range(256))])
def test_unknown_label_bytes_are_refused_with_a_message(content):
    with pytest.raises(UnreadableDocument) as refused:
        detect_label_format(content, "application/octet-stream")
    assert "not a ZPL, PNG or PDF file" in refused.value.packer_message


def test_png_label_is_placed_on_one_4x6_inch_page():
    pdf = label_to_printable_pdf(LABEL_PNG, "image/png")
    reader = read_pdf(pdf)
    assert len(reader.pages) == 1
    assert page_size(reader.pages[0]) == FOUR_BY_SIX
    assert [image.image.size for image in reader.pages[0].images] == [(812, 1218)]


def test_landscape_png_label_is_turned_to_fill_the_4x6_page():
    landscape = sandbox_documents.png_bytes(1218, 812, [(0, 0, 10, 10)])
    page = read_pdf(label_to_printable_pdf(landscape, "image/png")).pages[0]
    assert page_size(page) == FOUR_BY_SIX
    assert [image.image.size for image in page.images] == [(812, 1218)]


def test_pdf_label_passes_through_and_zpl_is_not_a_page():
    assert label_to_printable_pdf(LABEL_PDF, "application/pdf") == LABEL_PDF
    with pytest.raises(DocumentError) as refused:
        label_to_printable_pdf(ZPL, "x.application/zpl")
    assert "Zebra" in refused.value.packer_message


def test_damaged_png_label_is_refused():
    damaged = bytearray(LABEL_PNG)
    damaged[-20] ^= 0xFF
    with pytest.raises(UnreadableDocument) as refused:
        label_to_printable_pdf(bytes(damaged), "image/png")
    assert "damaged" in refused.value.packer_message


# --- Packing slip --------------------------------------------------------------------------------------

SLIP = PackingSlip(
    shipment_id="SHIP-PS-1", buyer_order_id="402-1234567-7654321", marketplace="A21TJRUUN4KGV",
    ship_to=["Asha Rao", "12 MG Road", "Bengaluru KA 560001", "IN"],
    lines=[SlipLine("TEA-ASSAM-500G", 2, gift_wrap=True, gift_wrap_label="Happy birthday", gift_message="Love, Ravi"),
           SlipLine("MUG-<BLUE>&CO", 1)],
    packages=[SlipPackage("PKG-1", [("TEA-ASSAM-500G", 2), ("MUG-<BLUE>&CO", 1)], "30 × 20 × 10 CM", "1.2 KG")],
)


def test_packing_slip_lists_the_order_items_gifts_and_packages():
    pdf = packing_slip_pdf(SLIP)
    reader = read_pdf(pdf)
    assert page_size(reader.pages[0]) == (595, 842)
    text = pdf_text(pdf)
    for expected in ("Packing slip", "402-1234567-7654321", "SHIP-PS-1", "Amazon.in (A21TJRUUN4KGV)", "Asha Rao",
                     "Bengaluru KA 560001", "TEA-ASSAM-500G", "MUG-<BLUE>&CO", "Gift wrap: Happy birthday",
                     "Love, Ravi", "Total units 3", "PKG-1", "30 × 20 × 10 CM", "1.2 KG", "Page 1 of 1"):
        assert expected in text, expected


def test_packing_slip_from_amazons_shipment_json():
    shipment = {
        "id": "SHIP-JSON-1", "locationId": "SANDBOX-LOC-1",
        "marketplaceAttributes": {"marketplaceId": "A1PA6795UKMFR9", "channelName": "EXTERNAL"},
        "shipmentInfo": {"buyerOrderId": "028-1111111-2222222", "shipmentType": "NEW"},
        "shippingInfo": {"expectedShippingDateTimeInUTC": 1735732800,
                         "shipToAddress": {"name": "Jürgen Weiß", "city": "Berlin", "postalCode": "10115", "countryCode": "DE"}},
        "lineItems": [
            {"shipmentLineItemId": "L1", "merchantSku": "KAFFEE-1KG", "numberOfUnits": 3,
             "giftAttributes": {"giftWrapRequirement": "REQUIRED", "giftMessagePresence": "PRESENT",
                                "giftMessage": "Alles Gute"}},
            {"shipmentLineItemId": "L2", "merchantSku": "FILTER-4", "numberOfUnits": 1},
        ],
        "packages": [{"id": "PKG-A", "dimensions": {side: {"value": "20.0", "dimensionUnit": "CM"}
                                                    for side in ("length", "width", "height")},
                      "weight": {"value": "2.500", "weightUnit": "KG"},
                      "packageLineItems": [{"packageLineItemId": "L1", "quantity": 3},
                                           {"packageLineItemId": "L2", "quantity": 1}]}],
    }
    slip = rendering.packing_slip_from(shipment)
    assert slip.packages[0].contents == [("KAFFEE-1KG", 3), ("FILTER-4", 1)]
    text = pdf_text(packing_slip_pdf(shipment))
    for expected in ("028-1111111-2222222", "Amazon.de", "Jürgen Weiß", "Berlin 10115", "KAFFEE-1KG", "FILTER-4",
                     "Gift wrap", "Alles Gute", "20 × 20 × 20 CM", "2.5 KG", "Wed 1 Jan 2025"):
        assert expected in text, expected


class _Related(list):
    """A Django related manager's `.all()`, for a duck-typed shipment."""

    def all(self):
        return self


def test_packing_slip_from_a_duck_typed_station_shipment():
    tea = SimpleNamespace(merchant_sku="TEA-ASSAM-500G", number_of_units=2, gift_wrap_requirement="REQUIRED",
                          gift_wrap_label="", gift_message="")
    shipment = SimpleNamespace(
        amazon_id="SHIP-OBJ-1", id=42, buyer_order_id="171-0000000-1111111", marketplace_id="ATVPDKIKX0DER",
        ship_by=None, raw={"shippingInfo": {"shipToAddress": {"city": "Seattle", "state": "WA", "postalCode": "98101"}}},
        line_items=_Related([tea]),
        packages=_Related([SimpleNamespace(
            package_id="PKG-9", length=Decimal("30.00"), width=Decimal("20.00"), height=Decimal("10.50"),
            dimension_unit="CM", weight=Decimal("1.250"), weight_unit="KG",
            items=_Related([SimpleNamespace(line_item=tea, quantity=2)]))]),
    )
    slip = rendering.packing_slip_from(shipment)
    assert (slip.shipment_id, slip.ship_to) == ("SHIP-OBJ-1", ["Seattle WA 98101"])
    assert slip.lines == [SlipLine("TEA-ASSAM-500G", 2, gift_wrap=True)]
    assert slip.packages == [SlipPackage("PKG-9", [("TEA-ASSAM-500G", 2)], "30 × 20 × 10.5 CM", "1.25 KG")]
    text = pdf_text(packing_slip_pdf(shipment))
    assert "SHIP-OBJ-1" in text and "Amazon.com (ATVPDKIKX0DER)" in text and "TEA-ASSAM-500G" in text


@pytest.mark.django_db
def test_packing_slip_from_the_station_shipment_model():
    from fulfillment.shipments.models import LineItem, Package, PackageLineItem, Shipment

    shipment = Shipment.objects.create(
        amazon_id="SHIP-DB-1", location_id="SANDBOX-LOC-1", marketplace_id="A21TJRUUN4KGV", channel_name="EASY_SHIP",
        status="PACKAGE_CREATED", buyer_order_id="402-9999999-0000000",
        raw={"shippingInfo": {"shipToAddress": {"name": "Asha Rao", "city": "Pune", "postalCode": "411001"}}},
    )
    line = LineItem.objects.create(shipment=shipment, line_item_id="L1", merchant_sku="SAREE-SILK-RED",
                                   number_of_units=1, gift_message="Happy Diwali")
    package = Package.objects.create(shipment=shipment, package_id="PKG-DB-1", length=40, width=30, height=5,
                                     weight=800, weight_unit="G")
    PackageLineItem.objects.create(package=package, line_item=line, quantity=1)

    text = pdf_text(packing_slip_pdf(shipment))
    for expected in ("SHIP-DB-1", "402-9999999-0000000", "Asha Rao", "Pune 411001", "SAREE-SILK-RED",
                     "Happy Diwali", "PKG-DB-1", "40 × 30 × 5 CM", "800 G"):
        assert expected in text, expected


# --- No network ----------------------------------------------------------------------------------------


def test_rendering_never_fetches_remote_or_local_urls(tmp_path):
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    secret = tmp_path / "secret.png"
    Image.new("RGB", (50, 50), "red").save(secret)

    pdf = rendering._render(
        f'<link rel="stylesheet" href="http://127.0.0.1:{port}/x.css">'
        f'<img src="http://127.0.0.1:{port}/logo.png"><img src="file://{secret}"><p>Offline</p>'
    )

    assert "Offline" in pdf_text(pdf)
    assert list(read_pdf(pdf).pages[0].images) == []
    listener.setblocking(False)
    with pytest.raises(BlockingIOError):  # nobody connected to the "remote" server
        listener.accept()
    listener.close()


# --- The stored Document's printable PDF (fulfillment.documents.models) uses these functions ---------------


def test_stored_documents_become_printable_pdfs_through_the_model():
    from fulfillment.documents.models import Document

    invoice = sandbox_documents.invoice_document({**SHIPMENT_FOR_MODEL}, "INV-M-1", "png_as_pdf")
    stored_invoice = Document(kind=Document.Kind.INVOICE, content=invoice["content"].encode(),
                              original_format=invoice["format"], content_type="text/plain")
    assert page_size(read_pdf(stored_invoice.pdf()).pages[0]) == (595, 842)

    stored_label = Document(kind=Document.Kind.LABEL, content=LABEL_PNG, original_format="PNG",
                            content_type="image/png")
    assert page_size(read_pdf(stored_label.pdf()).pages[0]) == FOUR_BY_SIX


SHIPMENT_FOR_MODEL = {
    "id": "SHIP-M-1", "marketplaceAttributes": {"marketplaceId": "A21TJRUUN4KGV", "channelName": "EASY_SHIP"},
    "shipmentInfo": {"buyerOrderId": "402-0000000-1111111"}, "shipmentRequirements": {"invoice": {}},
    "shippingInfo": {}, "lineItems": [], "charges": [],
}
