"""What a document's bytes are: decided by the bytes, never by what the sender says, and within
bounds, because labels and invoices come from outside.

A label must be a ZPL, PNG, JPEG or PDF file that reads to its end; an invoice (Amazon's base64
`Document.content`) a PDF, PNG or JPEG file, or plain text. Anything else (a web page, JSON, a
script, a fake or cut-off PDF, base64 nested deeper than any invoice) is refused with words for the
packer. What a decode may cost is bounded:

- `DOCUMENT_MAX_BYTES` (setting) for the file itself, before and after base64;
- MAX_IMAGE_PIXELS for a PNG or JPEG, read from its header before any pixel is decoded (Pillow's
  own decompression-bomb guard is set from it too);
- MAX_TEXT_CHARS and MAX_TEXT_LINES for a plain-text invoice, whose lines are cut at WRAP_COLUMNS
  before WeasyPrint sets them (one endless line costs WeasyPrint far more than many short ones, and
  every page costs about 50 ms);
- MAX_BASE64_LAYERS of base64 inside Amazon's base64.

A stored document is served back only as the type found here (`original_file`).
"""

from __future__ import annotations

import base64
import codecs
import io
import json
import re
import unicodedata
import warnings
from dataclasses import dataclass

import pypdf
from django.conf import settings
from PIL import Image

from .errors import TRY_AGAIN, UnreadableDocument

MAX_IMAGE_PIXELS = 16_000_000  # a 4×6 inch label at 600 dpi is 8.6 million, an A4 page at 300 dpi 8.7
MAX_TEXT_CHARS = 50_000  # a long plain-text invoice is a few thousand
MAX_TEXT_LINES = 1_500  # once long lines are cut, and a page break counted as a page of lines: ~25 pages
LINES_PER_PAGE = 60
WRAP_COLUMNS = 140  # what fits across A4 at the smallest font the text pages use
MAX_BASE64_LAYERS = 3  # the seller guide's sample has two; more than three is not a document
# Pillow refuses (DecompressionBombError) anything over twice this wherever it decodes an image; between
# once and twice it only warns, and checked_image refuses those itself with the size in words.
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

MEDIA_TYPES = {"PDF": "application/pdf", "PNG": "image/png", "JPEG": "image/jpeg", "ZPL": "application/zpl",
               "TEXT": "text/plain; charset=utf-8"}
EXTENSIONS = {"PDF": "pdf", "PNG": "png", "JPEG": "jpg", "ZPL": "zpl", "TEXT": "txt"}

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_IHDR_LENGTH = b"\x00\x00\x00\x0d"
_DATA_URL = re.compile(r"data:[\w.+/-]*(?:;[\w.+-]+=[^;,]*)*;base64,", re.IGNORECASE)
_BASE64_NOISE = re.compile(r"\s+|\\[rn]")  # line breaks, also when JSON-escaped twice
_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/]")
_URL_SAFE = str.maketrans("-_", "+/")
_ZPL_START = re.compile(rb"\s*(?:CT~~CD,~CC\^~CT~\s*)?[\^~]", re.IGNORECASE)  # Zebra exports may open with CT~~
_ZPL_LABEL = re.compile(rb"\^XA.*\^XZ", re.IGNORECASE | re.DOTALL)
_WEB_PAGE = re.compile(rb"<\s*(?:!doctype|html|head|body|script|iframe|svg|object|embed|meta)\b", re.IGNORECASE)
_MARKUP_START = re.compile(rb"\s*<[!?a-zA-Z]")


def max_bytes() -> int:
    return int(getattr(settings, "DOCUMENT_MAX_BYTES", 5_000_000))


# --- What the bytes are ------------------------------------------------------------------------------


def sniff(data: bytes) -> str | None:
    """"pdf", "png", "jpeg" or "zpl" by the file's own signature, or None."""
    head = data[:1024]
    if b"%PDF-" in head:  # PDF readers accept junk before the header within the first 1024 bytes
        return "pdf"
    if data[1:4] == b"PNG" and data[12:16] == b"IHDR":  # also the damaged headers of Amazon's sandbox
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if _ZPL_START.match(head) and b"^XA" in head.upper():
        return "zpl"
    return None


def describe(data: bytes) -> str:
    """What bytes that are no document look like, in words: "a web page (HTML)", "data (JSON)"…"""
    if not data.strip():
        return "empty"
    head = data[:4096]
    if _WEB_PAGE.search(head):
        return "a web page (HTML)"
    if _MARKUP_START.match(head):
        return "markup (XML or HTML)"
    if head.lstrip()[:1] in (b"{", b"["):
        try:
            json.loads(data)
        except ValueError:
            pass
        else:
            return "data (JSON)"
    if _as_text(head) is not None:
        return "text (a script or a message, not a file)"
    return "unknown binary data"


@dataclass(frozen=True)
class LabelFile:
    kind: str  # "ZPL", "PNG", "JPEG" or "PDF"

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.kind]


_NOT_A_LABEL = "Nothing was stored and the label kept before (if any) stays. Press Retry to get the label again; " \
               "if it happens again, tell your supervisor."


def checked_label(content: bytes) -> LabelFile:
    """The label file `content` is, read to its end within the limits; UnreadableDocument otherwise."""
    content = bytes(content)
    if len(content) > max_bytes():
        raise UnreadableDocument(
            f"The label file is larger than any shipping label ({len(content) // 1_000_000} MB). {_NOT_A_LABEL}",
            detail=f"{len(content)} bytes")
    kind = sniff(content)
    if kind is None:
        raise UnreadableDocument(
            f"The label file Amazon's link gave is {describe(content)}, not a ZPL, PNG or PDF label. {_NOT_A_LABEL}",
            detail=f"{len(content)} bytes starting {content[:16]!r}")
    if kind == "zpl":
        if b"\x00" in content or not _ZPL_LABEL.search(content):
            raise UnreadableDocument(f"The ZPL label file is incomplete or damaged. {_NOT_A_LABEL}",
                                     detail="no ^XA … ^XZ label in it")
    elif kind == "pdf":
        checked_pdf(content, "label", then=_NOT_A_LABEL)
    else:
        checked_image(content, kind, "label", then=_NOT_A_LABEL)
    return LabelFile(kind.upper())


# --- Checks of whole files ---------------------------------------------------------------------------


def checked_pdf(data: bytes, what: str, *, then: str = TRY_AGAIN) -> bytes:
    """`data` when it is a whole PDF with at least one page (pypdf reads its page tree)."""
    # A PDF's trailer (%%EOF) comes last: without it the file was cut off and viewers show nothing.
    if b"%%EOF" not in data[-2048:]:
        raise UnreadableDocument(
            f"The {what} PDF Amazon sent is incomplete (it stops part-way), so it cannot be printed. {then}",
            detail=f"{len(data)} bytes, no %%EOF trailer",
        )
    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise ValueError("encrypted")
        pages = len(reader.pages)
    except Exception as exc:  # pypdf raises many kinds for a damaged file
        raise UnreadableDocument(
            f"The {what} Amazon sent says it is a PDF but is not a readable one, so it cannot be printed. {then}",
            detail=repr(exc)[:300],
        ) from exc
    if pages < 1:
        raise UnreadableDocument(f"The {what} PDF Amazon sent has no pages. {then}", detail="0 pages")
    return data


@dataclass(frozen=True)
class CheckedImage:
    data: bytes
    width: int
    height: int


def repaired_png(data: bytes) -> bytes:
    """Amazon's static sandbox invoices are PNGs with one damaged signature byte or a damaged IHDR
    length, every chunk CRC intact. Both fields are the same in every PNG, so they are put back;
    Pillow's CRC check then proves the rest of the file."""
    if data.startswith(PNG_SIGNATURE) and data[8:12] == _IHDR_LENGTH:
        return data
    return PNG_SIGNATURE + _IHDR_LENGTH + data[12:]


def checked_image(data: bytes, kind: str, what: str, *, then: str = TRY_AGAIN) -> CheckedImage:
    """A PNG or JPEG no larger than MAX_IMAGE_PIXELS whose pixel data decodes to the end."""
    if kind == "png":
        data = repaired_png(data)
    too_large = f"The {what} image Amazon sent is far larger than any {what}{{size}}, so Packbench does not open it. {then}"
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size  # from the header: nothing decoded yet
            if width * height > MAX_IMAGE_PIXELS:
                raise UnreadableDocument(too_large.format(size=f" ({width} × {height} pixels)"),
                                         detail=f"{width}x{height}")
            image.verify()  # chunk CRCs
        with Image.open(io.BytesIO(data)) as image:
            image.load()  # the pixel data decodes to the end
    except UnreadableDocument:
        raise
    except Image.DecompressionBombError as exc:  # Pillow's own guard, at twice MAX_IMAGE_PIXELS
        raise UnreadableDocument(too_large.format(size=""), detail=repr(exc)) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise UnreadableDocument(
            f"The {what} image Amazon sent is damaged and cannot be shown. {then}", detail=repr(exc)
        ) from exc
    return CheckedImage(data, width, height)


# --- Invoices: Amazon's base64 ---------------------------------------------------------------------------


@dataclass(frozen=True)
class InvoiceFile:
    """The file inside an invoice's content: `kind` "pdf", "png", "jpeg", "zpl" or "text" (then
    `text` holds it), `layers` the extra base64 layers it was wrapped in."""

    kind: str
    data: bytes
    layers: int = 0
    text: str = ""


def invoice_file(content: str | bytes, format_hint: str | None = None) -> InvoiceFile:
    """Identify the file in Amazon's invoice `Document.content` (base64 text, as str or bytes; or the
    file's own bytes). Raises UnreadableDocument, with a message for the packer, for anything that is
    not a file Packbench reads, or is larger or deeper than the limits."""
    data = _decoded_content(content)
    found = _unwrap(data)
    if found is not None:
        kind, payload, layers = found
        return InvoiceFile(kind, payload, layers)
    if _looks_like_base64(data):
        raise UnreadableDocument(
            f"The invoice Amazon sent is wrapped in more layers of base64 than any invoice, so Packbench does not "
            f"unwrap it further. {TRY_AGAIN}", detail=f"more than {MAX_BASE64_LAYERS} layers")
    what = describe(data)
    if what in ("a web page (HTML)", "markup (XML or HTML)", "data (JSON)"):
        raise UnreadableDocument(
            f"The invoice Amazon sent is {what}, not an invoice, so Packbench does not print it. {TRY_AGAIN}",
            detail=f"format={format_hint!r}, {len(data)} bytes starting {data[:16]!r}")
    if len(data) > MAX_TEXT_CHARS * 4:  # more than any text invoice, even at four bytes a character
        raise UnreadableDocument(
            f"The invoice Amazon sent is not a PDF or an image, and far longer than any text invoice, so Packbench "
            f"does not set it on pages. {TRY_AGAIN}", detail=f"{len(data)} bytes")
    text = _as_text(data)
    if text is None:
        raise UnreadableDocument(
            f"The invoice Amazon sent is not a PDF, an image or text, so Packbench cannot show it. {TRY_AGAIN}",
            detail=f"format={format_hint!r}, {len(data)} bytes starting {data[:16]!r}",
        )
    if len(text) > MAX_TEXT_CHARS:
        raise UnreadableDocument(
            f"The invoice Amazon sent is text far longer than any invoice ({len(text):,} characters), so Packbench "
            f"does not set it on pages. {TRY_AGAIN}", detail=f"{len(text)} characters")
    lines = wrapped_text(text).count("\n") + 1 + LINES_PER_PAGE * text.count("\f")  # a form feed starts a page
    if lines > MAX_TEXT_LINES:
        raise UnreadableDocument(
            f"The invoice Amazon sent is text far longer than any invoice ({lines:,} lines), so Packbench does not "
            f"set it on pages. {TRY_AGAIN}", detail=f"{lines} lines")
    return InvoiceFile("text", data, 0, text)


def _decoded_content(content: str | bytes | None) -> bytes:
    """Amazon's base64 content decoded once (whitespace, missing padding, data: prefixes and the
    URL-safe alphabet tolerated). Bytes that already are a file (a stored PDF) are returned as they are."""
    limit = max_bytes()
    if isinstance(content, (bytes, bytearray, memoryview)):
        content = bytes(content)
        if sniff(content):
            _within(len(content), limit)
            return content
        content = content.decode("ascii", errors="replace")  # a replaced byte then fails as non-base64
    if not content or not content.strip():
        raise UnreadableDocument(f"Amazon sent an empty invoice. {TRY_AGAIN}")
    _within(len(content) * 3 // 4, limit)
    decoded = decode_base64(content)
    if decoded is None:
        raise UnreadableDocument(
            f"The invoice Amazon sent is not base64-encoded file data, so Packbench cannot read it. {TRY_AGAIN}"
        )
    if not decoded:
        raise UnreadableDocument(f"Amazon sent an empty invoice. {TRY_AGAIN}")
    return decoded


def _within(size: int, limit: int) -> None:
    if size > limit:
        raise UnreadableDocument(
            f"The invoice Amazon sent is far larger than any invoice (over {limit // 1_000_000} MB), so Packbench "
            f"did not store it. {TRY_AGAIN}", detail=f"about {size} bytes")


def decode_base64(text: str) -> bytes | None:
    text = text.strip()
    if match := _DATA_URL.match(text):
        text = text[match.end():]
    compact = _BASE64_NOISE.sub("", text).rstrip("=").translate(_URL_SAFE)
    if not compact or _NOT_BASE64.search(compact):
        return None
    if len(compact) % 4 == 1:  # cut off mid-stream: decode what is whole, so a cut-off file is reported as such
        compact = compact[:-1]
    return base64.b64decode(compact + "=" * (-len(compact) % 4))


def _unwrap(data: bytes, layers: int = 0) -> tuple[str, bytes, int] | None:
    """(kind, bytes, extra base64 layers) of the file inside `data`, or None when no known file is
    found. Text that merely looks like base64 is decoded further only if a file is inside."""
    if kind := sniff(data):
        return kind, data, layers
    if layers >= MAX_BASE64_LAYERS or len(data) < 8:
        return None
    try:
        inner = decode_base64(data.decode("ascii"))
    except UnicodeDecodeError:
        return None
    return _unwrap(inner, layers + 1) if inner else None


def _looks_like_base64(data: bytes) -> bool:
    """Nothing but base64 (no spaces, no line of text): what is left after too many layers."""
    try:
        text = data.decode("ascii").strip()
    except UnicodeDecodeError:
        return False
    lines = text.split()
    # One run of base64, or MIME-style lines of one width (the last shorter): text lines are never alike.
    alike = len(lines) == 1 or (len(lines[0]) >= 60 and all(len(line) == len(lines[0]) for line in lines[:-1])
                                and len(lines[-1]) <= len(lines[0]))
    return len(text) >= 24 and alike and not re.search(r"[ \t]", text) and decode_base64(text) is not None


def _as_text(data: bytes) -> str | None:
    """`data` as text (UTF-8, UTF-16 with a BOM, else Windows-1252/Latin-1), or None if it is not text."""
    if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = data.decode("cp1252")  # Latin-1 plus € and typographic quotes where Latin-1 has controls
            except UnicodeDecodeError:
                text = data.decode("latin-1")
    if not text.strip() or "\x00" in text:
        return None
    controls = sum(1 for ch in text if ch not in "\t\n\r\f" and unicodedata.category(ch) == "Cc")
    return None if controls > len(text) // 100 else text


def wrapped_text(text: str) -> str:
    """Lines longer than WRAP_COLUMNS cut into pieces (WeasyPrint would wrap them anyway, slowly)."""
    lines = []
    for line in text.split("\n"):
        expanded = line.expandtabs(8)
        if len(expanded) <= WRAP_COLUMNS:
            lines.append(line)
        else:
            lines.extend(expanded[i:i + WRAP_COLUMNS] for i in range(0, len(expanded), WRAP_COLUMNS))
    return "\n".join(lines)


# --- Serving a stored document back -----------------------------------------------------------------------


@dataclass(frozen=True)
class OriginalFile:
    content: bytes
    kind: str  # a key of MEDIA_TYPES

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.kind]

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.kind]


def original_file(content: bytes, *, is_label: bool) -> OriginalFile:
    """A stored document's file as it is served for download: a label's bytes as the label type they
    sniff as; an invoice's or slip's file decoded out of Amazon's base64 (or text, re-encoded as
    UTF-8). Raises UnreadableDocument for bytes that are none of these: they are never served."""
    content = bytes(content)
    if is_label:
        kind = sniff(content)
        if kind is None:
            raise UnreadableDocument(
                f"This stored label is {describe(content)}, not a ZPL, PNG or PDF label, so Packbench does not "
                "serve it. Get the label again; if it happens again, tell your supervisor.")
        return OriginalFile(content, kind.upper())
    found = invoice_file(content)
    if found.kind == "text":
        return OriginalFile(found.text.encode(), "TEXT")
    return OriginalFile(found.data, found.kind.upper())
