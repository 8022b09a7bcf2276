"""A stand-in Zebra printer for the embedded station and tests: it listens on raw TCP like a Zebra,
stores every job it receives as a .zpl file and answers the ~HS status query as a ready printer."""

from __future__ import annotations

import itertools
import logging
import socketserver
import threading
from datetime import UTC, datetime
from pathlib import Path

logger = logging.getLogger(__name__)

# A ready printer's ~HS answer (ZPL manual): no paper out, not paused, head closed, ribbon present.
READY_STATUS = (
    b"\x02030,0,0,1218,000,0,0,0,000,0,0,0\x03\r\n"
    b"\x02000,0,0,0,0,2,6,0,00000000,1,000\x03\r\n"
    b"\x021234,0\x03\r\n"
)
IDLE_SECONDS = 30  # a client that neither sends nor closes for this long has finished its job


class _JobHandler(socketserver.BaseRequestHandler):
    server: VirtualPrinter

    def handle(self):
        self.request.settimeout(IDLE_SECONDS)
        received = bytearray()
        try:
            while chunk := self.request.recv(65536):
                received += chunk
                if b"~HS" in received.upper():  # answered at once: the asker waits before closing
                    received = bytearray(_without_status_queries(bytes(received)))
                    self.request.sendall(READY_STATUS)
        except (TimeoutError, ConnectionError):
            pass
        if received.strip():
            self.server.store(bytes(received), peer=self.client_address[0])


def _without_status_queries(data: bytes) -> bytes:
    index = data.upper().find(b"~HS")
    while index != -1:
        data = data[:index] + data[index + 3:]
        index = data.upper().find(b"~HS")
    return data


class VirtualPrinter(socketserver.ThreadingTCPServer):
    """`VirtualPrinter(("127.0.0.1", 9100), out_dir)`; `serve_forever()` in a thread, `shutdown()` to stop.
    Jobs land in out_dir as <UTC timestamp>-<n>.zpl, written whole (temporary name, then renamed)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], out_dir: Path | str):
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()
        super().__init__(address, _JobHandler)

    @property
    def address(self) -> str:
        host, port = self.server_address[:2]
        return f"{host}:{port}"

    def store(self, job: bytes, *, peer: str = "") -> Path:
        with self._lock:
            number = next(self._numbers)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        path = self.out_dir / f"{stamp}-{number}.zpl"
        partial = path.with_suffix(".part")
        partial.write_bytes(job)
        partial.replace(path)
        labels = job.upper().count(b"^XA")
        logger.info("Printed job %d from %s: %d bytes, %d label%s -> %s",
                    number, peer or "?", len(job), labels, "" if labels == 1 else "s", path)
        return path


def parse_address(value: str, default_port: int = 9100) -> tuple[str, int]:
    """'host:port', 'port' or 'host' as (host, port)."""
    host, _, port = value.rpartition(":")
    if not host and not port.isdigit():
        return port, default_port
    if not port.isdigit():
        raise ValueError(f"{value!r} is not host:port")
    return (host or "127.0.0.1").strip("[]"), int(port)


__all__ = ["READY_STATUS", "VirtualPrinter", "parse_address"]
