"""Document printers (invoices, packing slips) over IPP, the protocol every network office printer
and CUPS queue speaks (ipp://host[:631]/path). pyipp encodes and decodes the IPP messages; they
travel over httpx (IPP is HTTP POSTs of application/ipp).

`print_pdf` sends one Print-Job and returns the printer's job id; `printer_state` asks
Get-Printer-Attributes. Errors carry `.packer_message`: what happened and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx
from pyipp.enums import IppOperation
from pyipp.parser import parse
from pyipp.serializer import encode_dict

from fulfillment.amazon.transport import BoundedTransport, ResponseTooLarge

__all__ = [
    "DocumentPrinterError",
    "DocumentPrinterRefused",
    "DocumentPrinterTimeout",
    "DocumentPrinterUnreachable",
    "PrinterState",
    "print_pdf",
    "printer_state",
]

DEFAULT_TIMEOUT = 10.0
MAX_ANSWER_BYTES = 1024 * 1024  # a printer's IPP answer is a few kilobytes
IPP_VERSION = (2, 0)
_STATES = {3: "idle", 4: "printing", 5: "stopped"}


class DocumentPrinterError(Exception):
    """A document could not be handed to the document printer."""

    def __init__(self, packer_message: str, *, url: str = ""):
        super().__init__(packer_message)
        self.packer_message = packer_message
        self.url = url


class DocumentPrinterUnreachable(DocumentPrinterError):
    """No connection to the printer (unknown name, nothing listening, no route)."""


class DocumentPrinterTimeout(DocumentPrinterError):
    """The printer did not answer in time."""


class DocumentPrinterRefused(DocumentPrinterError):
    """The printer answered and refused the job (IPP status ≥ 0x0400), or did not answer as a printer."""


@dataclass(frozen=True)
class PrinterState:
    state: str  # idle, printing, stopped
    accepting: bool
    reasons: tuple[str, ...]
    message: str = ""
    name: str = ""

    @property
    def problems(self) -> list[str]:
        """What stops printing, in the printer's words ('media-empty', 'toner-empty' …)."""
        problems = [reason for reason in self.reasons if reason and reason != "none"]
        if self.state == "stopped":
            problems.insert(0, "stopped")
        if not self.accepting:
            problems.append("not accepting jobs")
        return problems


def http_url(printer_url: str) -> str:
    """ipp://host/path → http://host:631/path (ipps → https:443), as IPP runs over HTTP."""
    parts = urlsplit(printer_url)
    scheme = {"ipp": "http", "ipps": "https"}.get(parts.scheme, parts.scheme)
    if scheme not in ("http", "https") or not parts.hostname:
        raise DocumentPrinterError(f"{printer_url!r} is not a printer address like ipp://printer.local/ipp/print. "
                                   "Check the document printer in the station settings.", url=printer_url)
    netloc = parts.netloc if parts.port or parts.scheme in ("http", "https") else f"{parts.netloc}:631"
    return urlunsplit((scheme, netloc, parts.path or "/", "", ""))


def _printer_uri(printer_url: str) -> str:
    parts = urlsplit(printer_url)
    return urlunsplit(({"http": "ipp", "https": "ipps"}.get(parts.scheme, parts.scheme), parts.netloc,
                       parts.path or "/", "", ""))


def _call(printer_url: str, operation: IppOperation, attributes: dict, data: bytes | None, timeout: float | None):
    message = {"version": IPP_VERSION, "operation": operation, "operation-attributes-tag": {
        "attributes-charset": "utf-8", "attributes-natural-language": "en",
        "printer-uri": _printer_uri(printer_url), **attributes}}
    if data is not None:
        message["data"] = data
    where = printer_url
    timeout = DEFAULT_TIMEOUT if timeout is None else timeout
    # One deadline for the whole exchange and a cap on the answer, as for every byte from outside.
    bounded = BoundedTransport(total_seconds=timeout, max_bytes=MAX_ANSWER_BYTES, max_connections=1)
    try:
        with httpx.Client(transport=bounded, timeout=timeout) as client:
            response = client.post(http_url(printer_url), content=encode_dict(message),
                                   headers={"Content-Type": "application/ipp"})
    except ResponseTooLarge as exc:
        raise DocumentPrinterRefused(f"The device at {where} sent a far longer answer than a printer does. Check the "
                                     "document printer's address in the station settings.", url=printer_url) from exc
    except httpx.TimeoutException as exc:
        raise DocumentPrinterTimeout(f"The document printer at {where} did not answer in time. Check it is switched "
                                     "on and not busy, then print again.", url=printer_url) from exc
    except httpx.TransportError as exc:
        raise DocumentPrinterUnreachable(f"The document printer at {where} cannot be reached ({exc}). Check it is "
                                         "switched on and connected, and its address in the station settings.",
                                         url=printer_url) from exc
    if response.status_code != 200 or not response.headers.get("content-type", "").startswith("application/ipp"):
        raise DocumentPrinterRefused(f"The device at {where} did not answer like an IPP printer (HTTP "
                                     f"{response.status_code}). Check the document printer's address in the station "
                                     "settings.", url=printer_url)
    try:
        answer = parse(response.content)
    except Exception as exc:  # pyipp raises struct/Index errors on a damaged answer
        raise DocumentPrinterRefused(f"The document printer at {where} sent an answer Packbench cannot read.",
                                     url=printer_url) from exc
    status = answer["status-code"]
    if status >= 0x0400:
        said = (answer.get("operation-attributes") or {}).get("status-message") or f"IPP status 0x{status:04x}"
        raise DocumentPrinterRefused(f"The document printer at {where} refused the job: {said}. Check the printer "
                                     "(paper, toner, paused queue), then print again.", url=printer_url)
    return answer


def print_pdf(printer_url: str, pdf: bytes, *, job_name: str, user_name: str = "packbench",
              timeout: float | None = None) -> int:
    """Print one PDF; returns the printer's job id."""
    answer = _call(printer_url, IppOperation.PRINT_JOB, {
        "requesting-user-name": user_name or "packbench", "job-name": job_name[:255],
        "document-format": "application/pdf"}, bytes(pdf), timeout)
    jobs = answer.get("jobs") or [{}]
    return int(jobs[0].get("job-id") or 0)


def printer_state(printer_url: str, timeout: float | None = None) -> PrinterState:
    answer = _call(printer_url, IppOperation.GET_PRINTER_ATTRIBUTES, {"requested-attributes": [
        "printer-state", "printer-is-accepting-jobs", "printer-state-reasons", "printer-state-message",
        "printer-name"]}, None, timeout)
    printer = (answer.get("printers") or [{}])[0]
    reasons = printer.get("printer-state-reasons") or []
    return PrinterState(
        state=_STATES.get(printer.get("printer-state"), "unknown"),
        accepting=bool(printer.get("printer-is-accepting-jobs", True)),
        reasons=tuple(reasons if isinstance(reasons, list) else [reasons]),
        message=str(printer.get("printer-state-message") or ""),
        name=str(printer.get("printer-name") or ""),
    )
