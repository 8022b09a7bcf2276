"""PNG and PDF labels as ZPL, so every label goes to the station's Zebra printer without a print
dialog. zebrafy does the conversion (a dithered ^GF graphic field per page); a label is fitted to
the 4×6 inch label at the Zebra's 203 dpi, turned upright when it came landscape."""

from __future__ import annotations

import io

from PIL import Image
from zebrafy import ZebrafyImage, ZebrafyPDF

from . import formats
from .errors import DocumentError
from .rendering import detect_label_format

DPI = 203
LABEL_DOTS = (4 * DPI, 6 * DPI)  # 812 × 1218 dots: a 4×6 inch label


def label_to_zpl(content: bytes, content_type: str | None = None) -> bytes:
    """The label as ZPL (^XA … ^XZ, one label per page). ZPL comes back as it is. Raises DocumentError
    (UnreadableDocument) for bytes that are no label."""
    content = bytes(content)
    kind = detect_label_format(content, content_type)
    if kind == "ZPL":
        return content
    try:
        if kind == "PDF":
            formats.checked_pdf(content, "label")
            return ZebrafyPDF(content, format="Z64", dpi=DPI, width=LABEL_DOTS[0], split_pages=True).to_zpl().encode()
        with Image.open(io.BytesIO(content)) as image:
            image = image.convert("L")
            if image.width > image.height:
                image = image.transpose(Image.Transpose.ROTATE_90)
            image.thumbnail(LABEL_DOTS)  # only ever shrinks
            scale = min(LABEL_DOTS[0] / image.width, LABEL_DOTS[1] / image.height)
            if scale > 1:  # a small label image is printed label-sized, not postage-stamp-sized
                image = image.resize((int(image.width * scale), int(image.height * scale)), Image.Resampling.NEAREST)
            return ZebrafyImage(image, format="Z64").to_zpl().encode()
    except DocumentError:
        raise
    except Exception as exc:  # zebrafy/Pillow/pdfium raise their own types for a damaged file
        raise DocumentError(
            "This label could not be turned into a Zebra label. Open it and print it from the browser; "
            "if it keeps happening, tell your supervisor.", detail=f"{kind}: {exc!r}",
        ) from exc
