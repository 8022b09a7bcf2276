"""A stand-in IPP document printer for the embedded station and the tests: it takes Print-Job like a
network printer (ipp://127.0.0.1:8631/ipp/print), keeps every job it gets as a file in its out
folder (the PDF, and a .json of who sent which document), and answers Get-Printer-Attributes as an
idle printer. pyipp reads the requests and writes the attribute values."""

from __future__ import annotations

import itertools
import json
import logging
import struct
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from pyipp.enums import IppOperation, IppStatus, IppTag
from pyipp.parser import parse
from pyipp.serializer import construct_attribute

logger = logging.getLogger(__name__)

NAME = "Packbench virtual document printer"
MAX_JOB_BYTES = 50 * 1024 * 1024


def _message(status: int, request_id: int, groups: list[tuple[IppTag, list[tuple[str, object, IppTag]]]]) -> bytes:
    body = struct.pack(">bbhi", 2, 0, status, request_id)
    for tag, attributes in groups:
        body += struct.pack(">b", tag.value)
        for name, value, value_tag in attributes:
            body += construct_attribute(name, value, value_tag)
    return body + struct.pack(">b", IppTag.END.value)


def _operation_group(message: str = ""):
    attributes = [("attributes-charset", "utf-8", IppTag.CHARSET),
                  ("attributes-natural-language", "en", IppTag.LANGUAGE)]
    if message:
        attributes.append(("status-message", message, IppTag.TEXT))
    return (IppTag.OPERATION, attributes)


class _IppHandler(BaseHTTPRequestHandler):
    server: VirtualDocumentPrinter
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # the job log below says what matters
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Content-Type", "").split(";")[0] != "application/ipp" or not 0 < length <= MAX_JOB_BYTES:
            self.send_error(400, "Send application/ipp")
            return
        raw = self.rfile.read(length)
        try:
            request = parse(raw, contains_data=True)
        except Exception:
            self.send_error(400, "Not an IPP message")
            return
        self._answer(self.server.handle_ipp(request, peer=self.client_address[0]))

    def do_GET(self):
        self.send_response(200)
        body = f"{NAME}: {self.server.jobs} job(s) kept in {self.server.out_dir}\n".encode()
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _answer(self, body: bytes):
        self.send_response(200)
        self.send_header("Content-Type", "application/ipp")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class VirtualDocumentPrinter(ThreadingHTTPServer):
    """`VirtualDocumentPrinter(("127.0.0.1", 0), out_dir)`; `serve_forever()` in a thread, `shutdown()`."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], out_dir: Path | str):
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._numbers = itertools.count(len(list(self.out_dir.glob("*.json"))) + 1)
        self._lock = threading.Lock()
        self.jobs = 0
        super().__init__(address, _IppHandler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"ipp://{host}:{port}/ipp/print"

    def handle_ipp(self, request: dict, *, peer: str = "") -> bytes:
        operation, request_id = request["status-code"], request["request-id"]  # a request's op sits there
        attributes = request.get("operation-attributes") or {}
        if operation == IppOperation.GET_PRINTER_ATTRIBUTES.value:
            return _message(IppStatus.OK.value, request_id, [_operation_group(), (IppTag.PRINTER, [
                ("printer-name", NAME, IppTag.NAME), ("printer-state", 3, IppTag.ENUM),
                ("printer-state-reasons", "none", IppTag.KEYWORD),
                ("printer-is-accepting-jobs", True, IppTag.BOOLEAN),
                ("printer-state-message", f"{self.jobs} job(s) kept", IppTag.TEXT),
                ("document-format-supported", ["application/pdf", "application/octet-stream"], IppTag.MIME_TYPE),
            ])])
        if operation == IppOperation.VALIDATE_JOB.value:
            return _message(IppStatus.OK.value, request_id, [_operation_group()])
        if operation != IppOperation.PRINT_JOB.value:
            return _message(IppStatus.ERROR_OPERATION_NOT_SUPPORTED.value, request_id,
                            [_operation_group("Only Print-Job, Validate-Job and Get-Printer-Attributes.")])
        data = request.get("data") or b""
        if not data:
            return _message(IppStatus.ERROR_BAD_REQUEST.value, request_id, [_operation_group("No document data.")])
        job_id = self.store(data, attributes, peer=peer)
        return _message(IppStatus.OK.value, request_id, [_operation_group(), (IppTag.JOB, [
            ("job-id", job_id, IppTag.INTEGER), ("job-uri", f"{self.url}/{job_id}", IppTag.URI),
            ("job-state", 9, IppTag.ENUM), ("job-state-reasons", "job-completed-successfully", IppTag.KEYWORD),
        ])])

    def store(self, data: bytes, attributes: dict, *, peer: str = "") -> int:
        with self._lock:
            number = next(self._numbers)
            self.jobs += 1
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        extension = ".pdf" if data.startswith(b"%PDF") else ".bin"
        path = self.out_dir / f"{stamp}-{number}{extension}"
        partial = path.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(path)
        meta = {key: attributes.get(key) for key in ("job-name", "requesting-user-name", "document-format")}
        path.with_suffix(".json").write_text(json.dumps({**meta, "job-id": number, "file": path.name, "peer": peer}))
        logger.info("Document printer job %d from %s: %r, %d bytes -> %s", number, peer or "?",
                    meta.get("job-name"), len(data), path)
        return number


__all__ = ["VirtualDocumentPrinter"]
