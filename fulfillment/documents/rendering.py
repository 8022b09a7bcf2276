"""Amazon's invoices and labels, and our packing slip, as PDFs a station can print.

Amazon's `Document.format` cannot be trusted: its static sandbox sends a PNG labelled PDF, and
the seller guide's PLAIN_TEXT sample is base64 of base64 of a PDF. So everything here decides by
the bytes. WeasyPrint renders every page we draw; it may load only `data:` URLs (never the
network or the disk), and text is set in the DejaVu fonts Debian ships.
"""

from __future__ import annotations

import base64
import html
import io
import math
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.template.loader import render_to_string
from PIL import Image
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from . import formats
from .errors import DocumentError, UnreadableDocument
from .formats import CheckedImage as _Image

__all__ = [
    "PackingSlip",
    "RenderedDocument",
    "SlipLine",
    "SlipPackage",
    "checked_invoice",
    "detect_label_format",
    "invoice_to_pdf",
    "label_to_printable_pdf",
    "packing_slip_from",
    "packing_slip_pdf",
]


@dataclass(frozen=True)
class RenderedDocument:
    """A printable PDF and what Amazon's bytes turned out to be.

    `detected`: "pdf", "png", "jpeg", "text", or "base64-pdf" / "base64-png" / "base64-jpeg" when the
    file was base64-encoded once more inside Amazon's base64. `note` says it in words for the station.
    """

    pdf: bytes
    detected: str
    note: str = ""


# --- Invoices ------------------------------------------------------------------------------------------


def invoice_to_pdf(content: str | bytes, format_hint: str | None = None) -> RenderedDocument:
    """Amazon's invoice `Document.content` (base64 text, as str or bytes; or the file's own bytes) as a PDF.

    A PDF passes through unchanged once it is known to be whole; a PNG/JPEG is laid on an A4 page; plain
    text (UTF-8 or Latin-1) is set on A4 pages in a monospace font. `format_hint` (Amazon's format field)
    only words the note. Raises UnreadableDocument, with a message for the packer, for anything else.
    """
    found = formats.invoice_file(content, format_hint)
    if found.kind == "text":
        return RenderedDocument(_text_pdf(found.text), "text",
                                "Amazon sent the invoice as plain text; it is set on A4 pages.")

    kind, payload, layers = found.kind, found.data, found.layers
    detected = f"base64-{kind}" if layers else kind
    labelled = f" (labelled {format_hint})" if format_hint and format_hint.upper() != kind.upper() else ""
    wrapped = " It was base64-encoded once more inside Amazon's base64, like the seller guide's sample." if layers else ""
    if kind == "pdf":
        pdf = formats.checked_pdf(payload, "invoice")
        return RenderedDocument(pdf, detected, f"Amazon's PDF invoice{labelled}, unchanged.{wrapped}")
    if kind == "zpl":
        raise _zpl_invoice(format_hint)
    image = formats.checked_image(payload, kind, "invoice")
    pdf = _image_pdf(image, kind, page_size="A4", margin="10mm", height="276mm", pixelated=False)
    return RenderedDocument(pdf, detected, f"Amazon sent the invoice as a {kind.upper()} image{labelled}; "
                                           f"it is printed on an A4 page.{wrapped}")


def checked_invoice(content: str | bytes, format_hint: str | None = None) -> bytes | None:
    """Every check `invoice_to_pdf` makes, without drawing a page: Amazon's PDF (unchanged) when the
    invoice is one, None when its printable PDF is a page still to draw (text, an image), which
    `Document.pdf()` draws when it is first printed or shown. Raises UnreadableDocument as
    invoice_to_pdf does."""
    found = formats.invoice_file(content, format_hint)
    if found.kind == "text":
        return None
    if found.kind == "pdf":
        return formats.checked_pdf(found.data, "invoice")
    if found.kind == "zpl":
        raise _zpl_invoice(format_hint)
    formats.checked_image(found.data, found.kind, "invoice")
    return None


def _zpl_invoice(format_hint: str | None) -> UnreadableDocument:
    return UnreadableDocument(
        "Amazon sent this invoice as a ZPL label file, which cannot be shown as a page. "
        "Download the invoice from Seller Central and tell your supervisor.",
        detail=f"format={format_hint!r}",
    )


_TEXT_PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>
@page {{ size: A4; margin: 15mm; }}
body {{ margin: 0; }}
pre {{ font-family: "DejaVu Sans Mono", monospace; font-size: {font_size:.2f}pt; line-height: 1.25;
      white-space: pre-wrap; overflow-wrap: anywhere; tab-size: 8; margin: 0; }}
pre + pre {{ break-before: page; }}
</style></head><body>{body}</body></html>"""
_TEXT_WIDTH_PT = 505  # A4 (595pt) less 2 × 15mm, less a little for rounding
_MONO_ADVANCE = 0.602  # DejaVu Sans Mono glyph width, in em


def _text_pdf(text: str) -> bytes:
    text = formats.wrapped_text(text.replace("\r\n", "\n").replace("\r", "\n"))
    text = "".join(ch for ch in text if ch in "\t\n\f" or unicodedata.category(ch) != "Cc")
    widest = max((len(line.expandtabs(8)) for line in text.splitlines()), default=1) or 1
    # Invoices are columns: shrink the font so the widest line fits rather than wrapping it (6–10pt).
    font_size = max(6.0, min(10.0, math.floor(_TEXT_WIDTH_PT * 100 / (widest * _MONO_ADVANCE)) / 100))
    body = "".join(f"<pre>{html.escape(page)}</pre>" for page in text.split("\f"))
    return _render(_TEXT_PAGE.format(font_size=font_size, body=body))


# --- Labels --------------------------------------------------------------------------------------------


def detect_label_format(content: bytes, content_type: str | None = None) -> str:
    """"ZPL", "PNG" or "PDF" (or "JPEG") for a label file, by its bytes first and then its Content-Type
    (Amazon serves ZPL as `x.application/zpl`). Raises UnreadableDocument for anything else."""
    kind = formats.sniff(content)
    if kind:
        return kind.upper()
    media_type = (content_type or "").split(";")[0].strip().lower()
    if "zpl" in media_type and b"^XA" in content.upper():
        return "ZPL"
    raise UnreadableDocument(
        "The label Amazon sent is not a ZPL, PNG or PDF file, so it cannot be printed. "
        "Download the labels again; if that does not help, tell your supervisor.",
        detail=f"Content-Type {content_type!r}, {len(content)} bytes starting {content[:16]!r}",
    )


def label_to_printable_pdf(content: bytes, content_type: str | None = None) -> bytes:
    """A PDF label as it is (once known whole), a PNG/JPEG label on a 4×6 inch page, as the browser's
    print dialog needs it. ZPL goes to the Zebra printer instead: DocumentError."""
    content = bytes(content)
    kind = detect_label_format(content, content_type)
    if kind == "PDF":
        return formats.checked_pdf(content, "label")
    if kind == "ZPL":
        raise DocumentError(
            "This label is a ZPL file for a Zebra label printer and cannot be shown as a page. "
            "Print it with Print label at a station that has a label printer."
        )
    image = formats.checked_image(content, kind.lower(), "label")
    if image.width > image.height:  # a landscape label would print tiny across a portrait 4×6 page
        image = _rotated(image)
    return _image_pdf(image, kind.lower(), page_size="4in 6in", margin="0", height="6in", pixelated=True)


def _rotated(image: _Image) -> _Image:
    out = io.BytesIO()
    with Image.open(io.BytesIO(image.data)) as source:
        source.transpose(Image.Transpose.ROTATE_90).save(out, format="PNG")
    return _Image(out.getvalue(), image.height, image.width)


# --- Image pages ---------------------------------------------------------------------------------------

_IMAGE_PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>
@page {{ size: {page_size}; margin: {margin}; }}
html, body {{ margin: 0; padding: 0; }}
img {{ display: block; width: 100%; height: {height}; object-fit: contain; object-position: center top;
      {rendering} }}
</style></head><body><img src="{src}" alt=""></body></html>"""


def _image_pdf(image: _Image, kind: str, *, page_size: str, margin: str, height: str, pixelated: bool) -> bytes:
    media_type = "image/jpeg" if kind == "jpeg" else "image/png"
    src = f"data:{media_type};base64,{base64.b64encode(image.data).decode()}"
    # Barcodes must stay sharp when scaled: no smoothing between pixels.
    rendering = "image-rendering: pixelated;" if pixelated else ""
    return _render(_IMAGE_PAGE.format(page_size=page_size, margin=margin, height=height, src=src, rendering=rendering))


# --- Packing slip --------------------------------------------------------------------------------------


@dataclass
class SlipLine:
    merchant_sku: str
    units: int
    gift_wrap: bool = False
    gift_wrap_label: str = ""
    gift_message: str = ""


@dataclass
class SlipPackage:
    package_id: str
    contents: list[tuple[str, int]] = field(default_factory=list)  # (merchant SKU, units)
    dimensions: str = ""  # e.g. "30 × 20 × 10 CM"
    weight: str = ""  # e.g. "1.2 KG"


@dataclass
class PackingSlip:
    """Everything a packing slip shows. Build it directly, or let `packing_slip_from` read a shipment."""

    shipment_id: str
    buyer_order_id: str
    marketplace: str = ""  # Amazon's marketplace id; shown with its name when known
    ship_to: list[str] = field(default_factory=list)  # address lines, name first
    lines: list[SlipLine] = field(default_factory=list)
    packages: list[SlipPackage] = field(default_factory=list)
    ship_by: datetime | str | None = None

    @property
    def marketplace_name(self) -> str:
        name = MARKETPLACE_NAMES.get(self.marketplace)
        return f"{name} ({self.marketplace})" if name else self.marketplace

    @property
    def total_units(self) -> int:
        return sum(line.units for line in self.lines)


MARKETPLACE_NAMES = {
    "ATVPDKIKX0DER": "Amazon.com", "A2EUQ1WTGCTBG2": "Amazon.ca", "A1AM78C64UM0Y8": "Amazon.com.mx",
    "A2Q3Y263D00KWC": "Amazon.com.br", "A1F83G8C2ARO7P": "Amazon.co.uk", "A1PA6795UKMFR9": "Amazon.de",
    "A13V1IB3VIYZZH": "Amazon.fr", "APJ6JRA9NG5V4": "Amazon.it", "A1RKKUPIHCS9HS": "Amazon.es",
    "A1805IZSGTT6HS": "Amazon.nl", "A2NODRKZP88ZB9": "Amazon.se", "A1C3SOZRARQ6R3": "Amazon.pl",
    "AMEN7PMS3EDWL": "Amazon.com.be", "A33AVAJ2PDY3EV": "Amazon.com.tr", "A2VIGQ35RCS4UG": "Amazon.ae",
    "A17E79C6D8DWNP": "Amazon.sa", "ARBP9OOSHTCHU": "Amazon.eg", "A21TJRUUN4KGV": "Amazon.in",
    "A1VC38T7YXB528": "Amazon.co.jp", "A39IBJ37TRP1C6": "Amazon.com.au", "A19VAU5U5O7RUS": "Amazon.sg",
}


def packing_slip_pdf(shipment: Any) -> bytes:
    """The packing slip of `shipment` (a PackingSlip, the station's Shipment model, Amazon's shipment
    JSON or its pydantic schema; see `packing_slip_from`) as a PDF rendered from
    templates/documents/packing_slip.html."""
    slip = packing_slip_from(shipment)
    return _render(render_to_string("documents/packing_slip.html", {"slip": slip}))


def packing_slip_from(shipment: Any) -> PackingSlip:
    """A PackingSlip read from whatever describes the shipment:

    - a PackingSlip: as it is;
    - Amazon's shipment JSON (a dict with "shipmentInfo") or an object with `model_dump` (the pydantic
      schema): id, shipmentInfo.buyerOrderId, marketplaceAttributes.marketplaceId,
      shippingInfo.shipToAddress / expectedShippingDateTimeInUTC, lineItems, packages;
    - any other object or dict (the station's Shipment model): `amazon_id` (or `shipment_id`),
      `buyer_order_id`, `marketplace_id`, `ship_by`, `raw` (Amazon's JSON, for the ship-to address) or
      `ship_to`, `line_items` (each `merchant_sku`, `number_of_units`, `gift_wrap_requirement`,
      `gift_wrap_label`, `gift_message`) and `packages` (each `package_id`, `length`/`width`/`height`/
      `dimension_unit`, `weight`/`weight_unit`, `items` with `line_item.merchant_sku` and `quantity`).
      Related managers are read with `.all()`.
    """
    if isinstance(shipment, PackingSlip):
        return shipment
    if not isinstance(shipment, Mapping) and callable(getattr(shipment, "model_dump", None)):
        shipment = shipment.model_dump(by_alias=True, exclude_none=True, mode="json")
    if isinstance(shipment, Mapping) and "shipmentInfo" in shipment:
        return _slip_from_amazon(shipment)
    return _slip_from_object(shipment)


def _get(obj: Any, name: str, default: Any = None) -> Any:
    value = obj.get(name, default) if isinstance(obj, Mapping) else getattr(obj, name, default)
    return default if value is None else value


def _many(value: Any) -> list:
    if value is None:
        return []
    if callable(getattr(value, "all", None)):  # a Django related manager
        value = value.all()
    return list(value)


def _number(value: Any) -> str:
    text = str(value)
    return text.rstrip("0").rstrip(".") if "." in text else text


def _address_lines(address: Mapping | None) -> list[str]:
    if not address:
        return []
    lines = [address.get(key) for key in ("name", "addressLine1", "addressLine2", "addressLine3")]
    lines.append(" ".join(filter(None, (address.get(key) for key in ("district", "municipality")))))
    lines.append(" ".join(filter(None, (address.get(key) for key in ("city", "state", "postalCode")))))
    lines.append(address.get("countryCode"))
    return [str(line) for line in lines if line]


def _slip_from_amazon(data: Mapping) -> PackingSlip:
    shipping = data.get("shippingInfo") or {}
    lines, skus = [], {}
    for item in data.get("lineItems") or []:
        gift = item.get("giftAttributes") or {}
        skus[item.get("shipmentLineItemId")] = item.get("merchantSku", "")
        lines.append(SlipLine(
            merchant_sku=item.get("merchantSku", ""), units=int(item.get("numberOfUnits") or 0),
            gift_wrap=gift.get("giftWrapRequirement") == "REQUIRED", gift_wrap_label=gift.get("giftWrapLabel") or "",
            gift_message=gift.get("giftMessage") or "",
        ))
    packages = []
    for package in data.get("packages") or []:
        dims = package.get("dimensions") or {}
        sides = [dims.get(side) or {} for side in ("length", "width", "height")]
        unit = sides[0].get("dimensionUnit", "")
        weight = package.get("weight") or {}
        packages.append(SlipPackage(
            package_id=package.get("id", ""),
            contents=[(skus.get(p.get("packageLineItemId"), p.get("packageLineItemId", "")), int(p.get("quantity") or 0))
                      for p in package.get("packageLineItems") or []],
            dimensions=f"{' × '.join(_number(s.get('value', '')) for s in sides)} {unit}".strip() if sides[0] else "",
            weight=f"{_number(weight['value'])} {weight.get('weightUnit', '')}".strip() if weight.get("value") else "",
        ))
    return PackingSlip(
        shipment_id=data.get("id", ""),
        buyer_order_id=(data.get("shipmentInfo") or {}).get("buyerOrderId", ""),
        marketplace=(data.get("marketplaceAttributes") or {}).get("marketplaceId", ""),
        ship_to=_address_lines(shipping.get("shipToAddress")),
        lines=lines, packages=packages, ship_by=_epoch_or_text(shipping.get("expectedShippingDateTimeInUTC")),
    )


def _epoch_or_text(value: Any) -> datetime | str | None:
    if isinstance(value, (int, float)):  # Amazon's DateTime is epoch seconds
        return datetime.fromtimestamp(value, tz=UTC)
    return value


def _slip_from_object(obj: Any) -> PackingSlip:
    lines = [
        SlipLine(
            merchant_sku=str(_get(item, "merchant_sku", "")),
            units=int(_get(item, "number_of_units", _get(item, "units", 0))),
            gift_wrap=bool(_get(item, "gift_wrap", False)) or _get(item, "gift_wrap_requirement") == "REQUIRED",
            gift_wrap_label=str(_get(item, "gift_wrap_label", "")),
            gift_message=str(_get(item, "gift_message", "")),
        )
        for item in _many(_get(obj, "line_items", _get(obj, "lines")))
    ]
    packages = []
    for package in _many(_get(obj, "packages")):
        sides = [_get(package, side) for side in ("length", "width", "height")]
        weight = _get(package, "weight")
        packages.append(SlipPackage(
            package_id=str(_get(package, "package_id", "")),
            contents=[(str(_get(_get(entry, "line_item"), "merchant_sku", _get(entry, "merchant_sku", ""))),
                       int(_get(entry, "quantity", 0)))
                      for entry in _many(_get(package, "items", _get(package, "contents")))],
            dimensions=(f"{' × '.join(_number(s) for s in sides)} {_get(package, 'dimension_unit', '')}".strip()
                        if all(s is not None for s in sides) else str(_get(package, "dimensions", ""))),
            weight=(f"{_number(weight)} {_get(package, 'weight_unit', '')}".strip()
                    if weight is not None and not isinstance(weight, str) else str(weight or "")),
        ))
    ship_to = _get(obj, "ship_to")
    if ship_to is None:
        raw = _get(obj, "raw", {}) or {}
        ship_to = _address_lines((raw.get("shippingInfo") or {}).get("shipToAddress"))
    elif isinstance(ship_to, Mapping):
        ship_to = _address_lines(ship_to)
    return PackingSlip(
        shipment_id=str(_get(obj, "amazon_id", _get(obj, "shipment_id", ""))),
        buyer_order_id=str(_get(obj, "buyer_order_id", "")),
        marketplace=str(_get(obj, "marketplace_id", _get(obj, "marketplace", ""))),
        ship_to=list(ship_to), lines=lines, packages=packages, ship_by=_get(obj, "ship_by"),
    )


# --- WeasyPrint ------------------------------------------------------------------------------------------


def _render(document_html: str) -> bytes:
    # Only data: URLs load: a document never reaches the network or reads local files.
    fetcher = URLFetcher(allowed_protocols={"data"}, allow_redirects=False)
    try:
        return HTML(string=document_html, url_fetcher=fetcher).write_pdf()
    except Exception as exc:  # WeasyPrint has no error hierarchy of its own
        raise DocumentError(
            "Packbench could not draw this document as a PDF. Try again; if it keeps failing, tell your supervisor.",
            detail=repr(exc),
        ) from exc

