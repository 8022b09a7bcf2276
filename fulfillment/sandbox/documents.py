"""Invoices and labels as Amazon hands them out: small but real PDF, PNG and ZPL files.

Labels are drawn from a LabelCard (carrier, address, references, tracking), whichever API sold
them: SmartConnect's presigned label links and Merchant Fulfillment's gzip'd label contents.

Built by hand from the file formats (no PDF or imaging library) so the sandbox stays a tiny,
dependency-free server and every byte it serves is predictable from the shipment.
"""

from __future__ import annotations

import base64
import struct
import zlib
from dataclasses import dataclass

# The invoice shapes met in the wild (see the team brief): the format field cannot be trusted.
INVOICE_SHAPES = ("pdf", "png_as_pdf", "base64_pdf_text", "text")
LABEL_FORMATS = ("ZPL", "PNG", "PDF")
LABEL_CONTENT_TYPES = {"ZPL": "x.application/zpl", "PNG": "image/png", "PDF": "application/pdf"}


# --- PDF -----------------------------------------------------------------------------------------


def _pdf_text(value: str) -> str:
    ascii_only = value.encode("latin-1", "replace").decode("latin-1")
    return ascii_only.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def pdf_bytes(
    lines: list[str],
    *,
    width: int = 595,
    height: int = 842,
    bars: list[tuple[int, int, int, int]] = (),
) -> bytes:
    """A one-page PDF 1.4 with Helvetica text lines from the top and optional filled rectangles (barcodes)."""
    text = ["BT", "/F1 10 Tf", "14 TL", f"36 {height - 48} Td"]
    for index, line in enumerate(lines):
        text.append(f"({_pdf_text(line)}) {'Tj' if index == 0 else chr(39)}")
    text.append("ET")
    text.extend(f"{x} {y} {w} {h} re f" for x, y, w, h in bars)
    stream = "\n".join(text).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width} {height}] "
        f"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


# --- PNG -----------------------------------------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def png_bytes(width: int, height: int, black: list[tuple[int, int, int, int]]) -> bytes:
    """A 1-bit greyscale PNG, white, with the given (x, y, w, h) rectangles black."""
    rows = [bytearray(b"\xff" * ((width + 7) // 8)) for _ in range(height)]
    for x, y, w, h in black:
        for row in rows[max(y, 0) : min(y + h, height)]:
            for col in range(max(x, 0), min(x + w, width)):
                row[col // 8] &= ~(0x80 >> (col % 8)) & 0xFF
    raw = b"".join(b"\x00" + bytes(row) for row in rows)
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )


def barcode_bars(
    value: str, *, x: int, y: int, height: int, module: int
) -> list[tuple[int, int, int, int]]:
    """Bars that look like a linear barcode of `value` (drawn, not a decodable symbology)."""
    bars, cursor = [], x
    for byte in value.encode():
        for bit in range(7, -1, -2):
            width = module * (1 + ((byte >> bit) & 1))
            bars.append((cursor, y, width, height))
            cursor += width + module * (1 + ((byte >> (bit - 1)) & 1))
    return bars


# --- Invoices ----------------------------------------------------------------------------------------


def invoice_lines(shipment: dict, invoice_id: str) -> list[str]:
    marketplace = shipment["marketplaceAttributes"]
    address = shipment["shippingInfo"].get("shipToAddress", {})
    lines = [
        "TAX INVOICE"
        if shipment["shipmentRequirements"]["invoice"].get("requirement") == "REQUIRED"
        else "PACKING SLIP",
        f"Invoice number: {invoice_id}",
        f"Order: {shipment['shipmentInfo']['buyerOrderId']}    Shipment: {shipment['id']}",
        f"Marketplace: {marketplace['marketplaceId']}    Channel: {marketplace['channelName']}",
        "",
        "Ship to:",
        *[
            address[key]
            for key in ("name", "addressLine1", "addressLine2", "city", "postalCode")
            if address.get(key)
        ],
        "",
        "Qty  SKU                          Amount",
    ]
    for item in shipment["lineItems"]:
        product = next(
            (c for c in item["charges"] if c["chargeType"] == "PRODUCT"), item["charges"][0]
        )
        amount = product["totalCharge"]["netAmount"]
        lines.append(
            f"{item['numberOfUnits']:>3}  {item['merchantSku']:<28} {amount['value']} {amount['currencyCode']}"
        )
    total = next((c for c in shipment["charges"] if c["chargeType"] == "TOTAL"), None)
    if total:
        amount = total["totalCharge"]["netAmount"]
        lines += ["", f"Total: {amount['value']} {amount['currencyCode']}"]
    return lines


def invoice_document(shipment: dict, invoice_id: str, shape: str) -> dict:
    """The `Document` of an InvoiceResponse in one of the shapes Amazon has been seen to send."""
    lines = invoice_lines(shipment, invoice_id)
    if shape == "pdf":
        return {"format": "PDF", "content": base64.b64encode(pdf_bytes(lines)).decode()}
    if shape == "png_as_pdf":  # Amazon's static sandbox labels a PNG as PDF
        image = png_bytes(
            200,
            280,
            [(10, 10 + 14 * i, 8 * min(len(line), 22), 8) for i, line in enumerate(lines) if line],
        )
        return {"format": "PDF", "content": base64.b64encode(image).decode()}
    if shape == "base64_pdf_text":  # the guide's sample: base64 of the base64 of a PDF
        inner = base64.b64encode(pdf_bytes(lines))
        return {"format": "PLAIN_TEXT", "content": base64.b64encode(inner).decode()}
    if shape == "text":
        return {
            "format": "PLAIN_TEXT",
            "content": base64.b64encode("\n".join(lines).encode()).decode(),
        }
    raise ValueError(f"unknown invoice shape {shape!r}")


# --- Labels -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelCard:
    """What a 4x6 inch shipping label shows, whichever API bought it."""

    carrier: str
    ship_to: list[str]  # name, street lines, then "city state postcode country"
    references: list[str]  # order, shipment/package, weight...
    tracking: str


def _zpl_field(value: str) -> str:
    return str(value).replace("^", " ").replace("~", " ")


def card_zpl(card: LabelCard, dpi: int = 203) -> bytes:
    """A 4x6 inch Zebra label at 203 or 300 dpi: carrier, address, Code 128 tracking barcode,
    references. Positions are laid out in 203-dpi dots and scaled."""

    def d(dots: int) -> int:
        return round(dots * dpi / 203)

    tracking = _zpl_field(card.tracking)
    parts = [
        "^XA",
        "^CI28",
        f"^PW{d(812)}",
        f"^LL{d(1218)}",
        f"^FO{d(40)},{d(40)}^A0N,{d(44)},{d(44)}^FD{_zpl_field(card.carrier)}^FS",
        f"^FO{d(560)},{d(30)}^BQN,2,{d(5)}^FDQA,{tracking}^FS",
        f"^FO{d(40)},{d(180)}^GB{d(732)},{d(3)},{d(3)}^FS",
        f"^FO{d(40)},{d(200)}^A0N,{d(26)},{d(26)}^FDSHIP TO:^FS",
    ]
    y = 240
    for line in card.ship_to:
        parts.append(f"^FO{d(40)},{d(y)}^A0N,{d(32)},{d(32)}^FD{_zpl_field(line)}^FS")
        y += 40
    parts += [
        f"^FO{d(40)},{d(520)}^GB{d(732)},{d(3)},{d(3)}^FS",
        f"^FO{d(60)},{d(560)}^BY{d(3)},3,{d(220)}^BCN,{d(220)},Y,N,N^FD{tracking}^FS",
        f"^FO{d(40)},{d(880)}^GB{d(732)},{d(3)},{d(3)}^FS",
    ]
    for index, line in enumerate(card.references):
        parts.append(
            f"^FO{d(40)},{d(900 + 40 * index)}^A0N,{d(28)},{d(28)}^FD{_zpl_field(line)}^FS"
        )
    parts.append("^XZ")
    return ("\n".join(parts) + "\n").encode()


def card_png(card: LabelCard) -> bytes:
    """812 x 1218 dots (4x6 inch at 203 dpi): frame, rule and the tracking barcode's bars."""
    bars = barcode_bars(card.tracking, x=40, y=700, height=220, module=3)
    frame = [
        (20, 20, 772, 4),
        (20, 1194, 772, 4),
        (20, 20, 4, 1178),
        (788, 20, 4, 1178),
        (40, 180, 732, 3),
    ]
    return png_bytes(812, 1218, frame + bars)


def card_pdf(card: LabelCard) -> bytes:
    """A 4x6 inch page in points with the card's text; bars scaled from dots (203 dpi) to points."""
    bars = barcode_bars(card.tracking, x=40, y=700, height=220, module=3)
    scaled = [(int(x * 0.35), 80, max(1, int(w * 0.35)), 80) for x, _, w, _ in bars]
    lines = [card.carrier, "SHIP TO:", *card.ship_to, *card.references, f"Tracking {card.tracking}"]
    return pdf_bytes(lines, width=288, height=432, bars=scaled)


def shipment_card(shipment: dict, package: dict, label: dict) -> LabelCard:
    """The card of a SmartConnect package label."""
    address = shipment["shippingInfo"].get("shipToAddress", {})
    lines = [
        address[k]
        for k in ("name", "addressLine1", "addressLine2", "addressLine3")
        if address.get(k)
    ]
    city = " ".join(
        address[k] for k in ("city", "state", "postalCode", "countryCode") if address.get(k)
    )
    return LabelCard(
        carrier=label["carrierName"],
        ship_to=[*lines, city],
        references=[
            f"Order {shipment['shipmentInfo']['buyerOrderId']}",
            f"Shipment {shipment['id']}  Package {package['id']}",
            f"Weight {package['weight']['value']} {package['weight']['weightUnit']}",
        ],
        tracking=label["trackingId"],
    )


def label_zpl(shipment: dict, package: dict, label: dict) -> bytes:
    return card_zpl(shipment_card(shipment, package, label))


def label_content(fmt: str, shipment: dict, package: dict, label: dict) -> bytes:
    """A SmartConnect label file in one of LABEL_FORMATS."""
    card = shipment_card(shipment, package, label)
    if fmt == "ZPL":
        return card_zpl(card)
    if fmt == "PNG":
        return card_png(card)
    if fmt == "PDF":
        return card_pdf(card)
    raise ValueError(f"unknown label format {fmt!r}")
