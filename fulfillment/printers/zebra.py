"""Zebra label printers over raw TCP (port 9100), the way every Zebra takes ZPL.

Raw 9100 has no acknowledgement, so `send_zpl` does what CUPS's socket backend does: it sends the
job, closes its side and waits for the printer to close the connection, which a printer does once
it has read the whole job. A printer that accepts the connection but never reads (a hung one, or
something that is no printer) never closes: PrinterTimeout when the timeout runs out, and the label
is not recorded as printed. Whether paper or ribbon ran out is what `printer_status` (Zebra's ~HS
query) tells.

Errors carry `.packer_message`: what happened and what to do, safe to show at the station.
"""

from __future__ import annotations

import errno
import re
import socket
import time
from dataclasses import dataclass

from django.conf import settings

__all__ = [
    "NotZpl",
    "PrinterError",
    "PrinterStatus",
    "PrinterTimeout",
    "PrinterUnreachable",
    "is_zpl",
    "printer_status",
    "send_zpl",
]

_UNREACHABLE_ERRNOS = {errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN, errno.ENETDOWN}
_ZPL_FORMAT = re.compile(rb"\^XA.*\^XZ", re.IGNORECASE | re.DOTALL)


class PrinterError(Exception):
    """A label could not be handed to the printer."""

    def __init__(self, packer_message: str, *, host: str = "", port: int | None = None):
        super().__init__(packer_message)
        self.packer_message = packer_message
        self.host, self.port = host, port


class PrinterUnreachable(PrinterError):
    """No connection: the name does not resolve, nothing listens there, or there is no route."""


class PrinterTimeout(PrinterError):
    """The printer did not answer, or stopped taking the label, within the timeout."""


class NotZpl(PrinterError):
    """The bytes are not a ZPL label (^XA … ^XZ), so a Zebra would print garbage or nothing."""


def is_zpl(data: bytes) -> bool:
    return bool(_ZPL_FORMAT.search(data))


def _timeout(timeout: float | None) -> float:
    return float(timeout if timeout is not None else getattr(settings, "PRINTER_TIMEOUT_SECONDS", 5.0))


def _connect(host: str, port: int, timeout: float) -> socket.socket:
    where = f"{host}:{port}"
    try:
        return socket.create_connection((host, port), timeout=timeout)
    except socket.gaierror as exc:
        raise PrinterUnreachable(
            f"Packbench cannot find the label printer {host!r}: that name is unknown on this network. "
            "Check the printer address in the station settings.", host=host, port=port,
        ) from exc
    except TimeoutError as exc:
        raise PrinterTimeout(
            f"The label printer at {where} did not answer. Check it is switched on and connected, "
            "then press Print again.", host=host, port=port,
        ) from exc
    except ConnectionRefusedError as exc:
        raise PrinterUnreachable(
            f"The label printer at {where} refused the connection. Check it is switched on and that the "
            "address and port (usually 9100) in the station settings are right, then press Print again.",
            host=host, port=port,
        ) from exc
    except OSError as exc:
        if exc.errno in _UNREACHABLE_ERRNOS:
            raise PrinterUnreachable(
                f"The label printer at {where} cannot be reached from here. Check it is switched on and "
                "connected to the network, then press Print again.", host=host, port=port,
            ) from exc
        raise PrinterError(
            f"Packbench could not connect to the label printer at {where} ({exc.strerror or exc}). "
            "Check the printer, then press Print again.", host=host, port=port,
        ) from exc


def send_zpl(host: str, port: int, zpl: bytes, timeout: float | None = None) -> None:
    """Send one ZPL job to the Zebra printer at host:port (raw TCP).

    `timeout` (default settings.PRINTER_TIMEOUT_SECONDS) bounds the connection and the whole send.
    Raises NotZpl before connecting when `zpl` is no ZPL label, PrinterUnreachable, PrinterTimeout
    or PrinterError.
    """
    zpl = bytes(zpl)
    if not is_zpl(zpl):
        raise NotZpl(
            "This label is not a ZPL file, so the Zebra printer cannot print it. "
            "Open the label and print it from the browser instead.", host=host, port=port,
        )
    port = int(port)
    where = f"{host}:{port}"
    deadline = time.monotonic() + _timeout(timeout)
    with _connect(host, port, _timeout(timeout)) as connection:
        try:
            connection.sendall(zpl)  # the timeout bounds the whole sendall (Python ≥ 3.5)
            connection.shutdown(socket.SHUT_WR)  # end of job: the printer sees the connection close
        except TimeoutError as exc:
            raise PrinterTimeout(
                f"The label printer at {where} stopped taking the label. Check it has labels and ribbon and "
                "is not paused; part of the label may have printed. Then press Print again.",
                host=host, port=port,
            ) from exc
        except OSError as exc:
            raise PrinterError(
                f"The connection to the label printer at {where} broke while sending the label "
                f"({exc.strerror or exc}). Check the printer, then press Print again.", host=host, port=port,
            ) from exc
        try:
            _wait_for_close(connection, deadline)
        except TimeoutError as exc:
            raise PrinterTimeout(
                f"The label printer at {where} took the connection but not the label: it did not finish reading "
                "it in time, so the label was probably not printed. Check the printer is switched on, has labels "
                "and ribbon and is not paused, then press Print again.", host=host, port=port,
            ) from exc
        except OSError:
            pass  # the printer reset the connection after reading: the job is with it


def _wait_for_close(connection: socket.socket, deadline: float) -> None:
    """Read (and drop) anything the printer says until it closes the connection, by `deadline`."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        connection.settimeout(left)
        if not connection.recv(4096):
            return


# --- ~HS host status -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrinterStatus:
    """The flags of a Zebra's ~HS answer that stop labels from printing."""

    paper_out: bool
    paused: bool
    head_open: bool
    ribbon_out: bool
    raw: bytes = b""

    @property
    def ready(self) -> bool:
        return not self.problems

    @property
    def problems(self) -> list[str]:
        """What is wrong, in the packer's words."""
        return [text for flag, text in (
            (self.paper_out, "out of labels"), (self.paused, "paused"),
            (self.head_open, "print head open"), (self.ribbon_out, "out of ribbon"),
        ) if flag]


def parse_host_status(answer: bytes) -> PrinterStatus:
    """Zebra's ~HS answer: three <STX>…<ETX> strings of comma-separated fields (ZPL manual, ~HS).
    String 1 field 2 = paper out, 3 = paused; string 2 field 3 = head up, 4 = ribbon out."""
    strings = re.findall(rb"\x02([^\x03]*)\x03", answer)
    if len(strings) < 2:
        raise ValueError(f"not a ~HS answer: {answer[:60]!r}")
    first, second = strings[0].split(b","), strings[1].split(b",")
    if len(first) < 3 or len(second) < 4:
        raise ValueError(f"not a ~HS answer: {answer[:60]!r}")
    return PrinterStatus(
        paper_out=first[1].strip() == b"1", paused=first[2].strip() == b"1",
        head_open=second[2].strip() == b"1", ribbon_out=second[3].strip() == b"1", raw=answer,
    )


def printer_status(host: str, port: int, timeout: float | None = None) -> PrinterStatus:
    """Ask the printer for its host status (~HS). Raises the PrinterError subclasses as send_zpl does;
    PrinterError when the answer is not a Zebra status (for instance a printer that does not speak ZPL)."""
    port = int(port)
    where = f"{host}:{port}"
    answer = b""
    with _connect(host, port, _timeout(timeout)) as connection:
        try:
            connection.sendall(b"~HS")
            while answer.count(b"\x03") < 3:
                chunk = connection.recv(1024)
                if not chunk:
                    break
                answer += chunk
        except TimeoutError as exc:
            if answer.count(b"\x03") < 2:
                raise PrinterTimeout(
                    f"The label printer at {where} did not report its status. Check it is switched on and "
                    "connected, then try again.", host=host, port=port,
                ) from exc
        except OSError as exc:
            raise PrinterError(f"The label printer at {where} broke off while reporting its status "
                               f"({exc.strerror or exc}).", host=host, port=port) from exc
    try:
        return parse_host_status(answer)
    except ValueError as exc:
        raise PrinterError(
            f"The device at {where} did not answer like a Zebra label printer. Check the printer address "
            "in the station settings.", host=host, port=port,
        ) from exc
