"""The printable sheet of command barcodes a scan-to-pack station works from: Pack & label, New
carton, Mark shipped, Reprint, Skip, Cancel and the station's box presets, each as a Code 128
barcode (python-barcode, as SVG) on an A4 page rendered by WeasyPrint."""

from __future__ import annotations

import base64
import io

from barcode import Code128
from barcode.writer import SVGWriter
from django.template.loader import render_to_string

from .rendering import _render


def barcode_svg(code: str) -> str:
    """A data: URL of the Code 128 barcode of `code` (no text under it: the sheet writes it)."""
    out = io.BytesIO()
    Code128(code, writer=SVGWriter()).write(out, {"module_width": 0.4, "module_height": 14, "quiet_zone": 4,
                                                  "write_text": False})
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode()


def command_sheet_pdf(commands: list[tuple[str, str, str]], boxes: list[tuple[str, str]], *, station: str = "") -> bytes:
    """`commands`: (code, name, what it does); `boxes`: (code, box name)."""
    context = {
        "station": station,
        "commands": [{"code": code, "name": name, "help": help_text, "barcode": barcode_svg(code)}
                     for code, name, help_text in commands],
        "boxes": [{"code": code, "name": name, "barcode": barcode_svg(code)} for code, name in boxes],
    }
    return _render(render_to_string("documents/command_sheet.html", context))
