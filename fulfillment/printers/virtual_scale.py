"""A stand-in network scale for the embedded station and the tests: it speaks MT-SICS level 0 over
TCP like a Mettler-Toledo terminal (`SI`, `S`, `Z`, `@`), one command per line.

What lies on it is `place(value, unit)` (tests) or the number in its weight file (`make run`:
`echo 0.42 kg > var/scale-weight`), read again whenever the file changes. After something is put on
it, it reports a moving weight (`S D`) for `settle_seconds`, then the stable one (`S S`), as a real
scale does while a parcel stops rocking.
"""

from __future__ import annotations

import logging
import socketserver
import threading
import time
from decimal import Decimal, InvalidOperation
from pathlib import Path

logger = logging.getLogger(__name__)

IDLE_SECONDS = 60


class _SicsHandler(socketserver.StreamRequestHandler):
    server: VirtualScale

    def handle(self):
        self.request.settimeout(IDLE_SECONDS)
        try:
            for raw in self.rfile:
                command = raw.decode("ascii", "replace").strip().upper()
                if not command:
                    continue
                self.wfile.write(self.server.answer(command).encode("ascii") + b"\r\n")
                self.wfile.flush()
        except (TimeoutError, ConnectionError):
            pass


class VirtualScale(socketserver.ThreadingTCPServer):
    """`VirtualScale(("127.0.0.1", 0))`; `serve_forever()` in a thread, `shutdown()` to stop."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], *, weight_file: Path | str | None = None,
                 settle_seconds: float = 0.8):
        self.weight_file = Path(weight_file) if weight_file else None
        self.settle_seconds = settle_seconds
        self._lock = threading.Lock()
        self._value, self._unit, self._placed_at = Decimal("0.000"), "kg", 0.0
        self._file_stamp = None
        self.requests = 0
        super().__init__(address, _SicsHandler)

    @property
    def address(self) -> str:
        host, port = self.server_address[:2]
        return f"{host}:{port}"

    def place(self, value, unit: str = "kg", *, settled: bool = False) -> None:
        """Something (else) now lies on the scale: it moves, then settles on `value` `unit`."""
        with self._lock:
            self._value, self._unit = Decimal(str(value)), unit.lower()
            self._placed_at = 0.0 if settled else time.monotonic()

    def _read_weight_file(self) -> None:
        if not self.weight_file:
            return
        try:
            stat = self.weight_file.stat()
        except OSError:
            return
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._file_stamp:
            return
        first, self._file_stamp = self._file_stamp is None, stamp
        words = self.weight_file.read_text().split()
        try:
            value = Decimal(words[0])
        except (IndexError, InvalidOperation):
            logger.warning("Virtual scale: %s holds no weight (write e.g. '0.42 kg').", self.weight_file)
            return
        self.place(value, words[1] if len(words) > 1 else "kg", settled=first)  # at start it lies still

    def answer(self, command: str) -> str:
        self.requests += 1
        self._read_weight_file()
        if command == "@":
            return 'I4 A "PACKBENCH-VIRTUAL"'
        if command == "Z":
            self.place(0, self._unit)
            return "Z A"
        if command not in ("S", "SI"):
            return "ES"
        with self._lock:
            value, unit, placed_at = self._value, self._unit, self._placed_at
        moving = time.monotonic() - placed_at < self.settle_seconds
        if moving and command == "S":  # S waits for a stable weight
            time.sleep(max(self.settle_seconds - (time.monotonic() - placed_at), 0))
            moving = False
        if moving:
            value = value * Decimal("0.97")  # a parcel still rocking reads a little off
        places = 0 if unit == "g" else 3
        return f"S {'D' if moving else 'S'} {value:>10.{places}f} {unit}"


def start_virtual_scale(address=("127.0.0.1", 0), **kwargs) -> tuple[VirtualScale, threading.Thread]:
    scale = VirtualScale(address, **kwargs)
    thread = threading.Thread(target=scale.serve_forever, name="virtual-scale", daemon=True)
    thread.start()
    return scale, thread


__all__ = ["VirtualScale", "start_virtual_scale"]
