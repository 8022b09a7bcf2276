"""Invoices and labels as Amazon hands them out: small but real PDF, PNG and ZPL files.

Built by hand from the file formats (no PDF or imaging library) so the sandbox stays a tiny,
dependency-free server and every byte it serves is predictable from the shipment.
"""

from __future__ import annotations

import base64
import struct
import zlib

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


def _zpl_field(value: str) -> str:
    return str(value).replace("^", " ").replace("~", " ")


def label_lines(shipment: dict, package: dict, label: dict) -> list[str]:
    address = shipment["shippingInfo"].get("shipToAddress", {})
    return [
        label["carrierName"],
        "SHIP TO:",
        *[address[key] for key in ("name", "addressLine1", "addressLine2") if address.get(key)],
        " ".join(address[key] for key in ("city", "postalCode", "countryCode") if address.get(key)),
        f"Order {shipment['shipmentInfo']['buyerOrderId']}",
        f"Shipment {shipment['id']}  Package {package['id']}",
        f"Weight {package['weight']['value']} {package['weight']['weightUnit']}",
        f"Tracking {label['trackingId']}",
    ]


def label_zpl(shipment: dict, package: dict, label: dict) -> bytes:
    """A 4x6 inch, 203 dpi Zebra label: carrier, address, Code 128 tracking barcode, references."""
    address = shipment["shippingInfo"].get("shipToAddress", {})
    tracking = _zpl_field(label["trackingId"])
    parts = [
        "^XA",
        "^CI28",
        "^PW812",
        "^LL1218",
        f"^FO40,40^A0N,44,44^FD{_zpl_field(label['carrierName'])}^FS",
        f"^FO560,30^BQN,2,5^FDQA,{tracking}^FS",
        "^FO40,180^GB732,3,3^FS",
        "^FO40,200^A0N,26,26^FDSHIP TO:^FS",
    ]
    y = 240
    for key in ("name", "addressLine1", "addressLine2", "addressLine3"):
        if address.get(key):
            parts.append(f"^FO40,{y}^A0N,32,32^FD{_zpl_field(address[key])}^FS")
            y += 40
    city = " ".join(
        address[key] for key in ("city", "state", "postalCode", "countryCode") if address.get(key)
    )
    parts += [
        f"^FO40,{y}^A0N,32,32^FD{_zpl_field(city)}^FS",
        "^FO40,520^GB732,3,3^FS",
        f"^FO60,560^BY3,3,220^BCN,220,Y,N,N^FD{tracking}^FS",
        "^FO40,880^GB732,3,3^FS",
        f"^FO40,900^A0N,28,28^FDOrder {_zpl_field(shipment['shipmentInfo']['buyerOrderId'])}^FS",
        f"^FO40,940^A0N,28,28^FDShipment {_zpl_field(shipment['id'])}  Package {_zpl_field(package['id'])}^FS",
        f"^FO40,980^A0N,28,28^FDWeight {package['weight']['value']} {package['weight']['weightUnit']}^FS",
        "^XZ",
    ]
    return ("\n".join(parts) + "\n").encode()


def label_content(fmt: str, shipment: dict, package: dict, label: dict) -> bytes:
    if fmt == "ZPL":
        return label_zpl(shipment, package, label)
    bars = barcode_bars(label["trackingId"], x=40, y=700, height=220, module=3)
    if fmt == "PNG":
        frame = [
            (20, 20, 772, 4),
            (20, 1194, 772, 4),
            (20, 20, 4, 1178),
            (788, 20, 4, 1178),
            (40, 180, 732, 3),
        ]
        return png_bytes(812, 1218, frame + bars)
    if fmt == "PDF":  # 4x6 inch page in points; bars scaled from dots (203 dpi) to points
        scaled = [(int(x * 0.35), 80, max(1, int(w * 0.35)), 80) for x, _, w, _ in bars]
        return pdf_bytes(label_lines(shipment, package, label), width=288, height=432, bars=scaled)
    raise ValueError(f"unknown label format {fmt!r}")
