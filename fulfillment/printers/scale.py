"""Network scales speaking Mettler-Toledo's MT-SICS over TCP.

Why MT-SICS: it is the most widely implemented weighing protocol (Mettler-Toledo's own scales and
terminals, and many others' "SICS" or "MT-SICS compatible" modes), it is plain text over a TCP socket,
and level 0 (`SI`, `S`, `Z`) is all a packing station needs. We send `SI` (weight now, stable or not)
so the page can show a moving weight as it settles; the answer is

    S S      1.234 kg     stable
    S D      1.236 kg     dynamic (still moving)
    S I                   busy, no value now
    S +  /  S -           over / under the scale's range
    ES / ET / EL          syntax, transmission or logical error

Errors carry `.packer_message`: what happened and what to do, safe to show at the station.
"""

from __future__ import annotations

import re
import socket
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

__all__ = ["ScaleError", "ScaleNotReady", "ScaleReading", "ScaleTimeout", "ScaleUnreachable", "read_weight"]

DEFAULT_TIMEOUT = 2.0
# An MT-SICS answer is one short line; a device that sends more (or drips it) is no scale we read.
MAX_ANSWER_BYTES = 256
# MT-SICS units as Amazon's weight units (Amazon takes G, KG, LB, OZ).
_UNITS = {"g": "G", "kg": "KG", "lb": "LB", "oz": "OZ"}
_GRAMS_PER = {"G": Decimal(1), "KG": Decimal(1000), "LB": Decimal("453.59237"), "OZ": Decimal("28.349523125")}
_ANSWER = re.compile(r"^S\s+([SD])\s+(-?\d+(?:\.\d+)?)\s*([A-Za-z]+)\s*$")


class ScaleError(Exception):
    """The scale gave no usable weight."""

    def __init__(self, packer_message: str, *, host: str = "", port: int | None = None):
        super().__init__(packer_message)
        self.packer_message = packer_message
        self.host, self.port = host, port


class ScaleUnreachable(ScaleError):
    """No connection: unknown name, nothing listening, no route."""


class ScaleTimeout(ScaleError):
    """The scale took the connection but did not answer in time."""


class ScaleNotReady(ScaleError):
    """The scale answered without a weight: busy, overloaded, under zero, or an error code."""


@dataclass(frozen=True)
class ScaleReading:
    value: Decimal
    unit: str  # Amazon's unit: G, KG, LB, OZ
    stable: bool

    @property
    def grams(self) -> Decimal:
        return self.value * _GRAMS_PER[self.unit]


def parse_answer(line: str, *, host: str = "", port: int | None = None) -> ScaleReading:
    """One MT-SICS answer line to `S`/`SI` as a reading, or ScaleNotReady saying why not."""
    text = line.strip()
    match = _ANSWER.match(text)
    if match:
        status, value, unit = match.groups()
        if unit.lower() not in _UNITS:
            raise ScaleNotReady(f"The scale weighs in {unit!r}, which Amazon does not take. Set the scale to "
                                "g, kg, lb or oz.", host=host, port=port)
        try:
            number = Decimal(value)
        except InvalidOperation:  # pragma: no cover - the pattern only lets numbers through
            raise ScaleNotReady(f"The scale sent {text!r}, which is not a weight.", host=host, port=port) from None
        return ScaleReading(number, _UNITS[unit.lower()], stable=status == "S")
    word = text.split()
    if word[:2] == ["S", "I"]:
        message = "The scale is busy (taring or zeroing). Wait a moment."
    elif word[:2] == ["S", "+"]:
        message = "The scale is overloaded: the parcel is too heavy for it."
    elif word[:2] == ["S", "-"]:
        message = "The scale reads below zero. Take everything off and zero it."
    elif word[:1] in (["ES"], ["ET"], ["EL"]):
        message = "The scale did not understand Packbench (it may not speak MT-SICS). Check its interface setting."
    else:
        message = f"The scale sent {text[:40]!r}, which is not a weight. Check it speaks MT-SICS."
    raise ScaleNotReady(message, host=host, port=port)


def read_weight(host: str, port: int, timeout: float | None = None) -> ScaleReading:
    """Ask the scale at host:port for its weight now (`SI`), stable or still moving."""
    port = int(port)
    timeout = DEFAULT_TIMEOUT if timeout is None else float(timeout)
    where = f"{host}:{port}"
    try:
        connection = socket.create_connection((host, port), timeout=timeout)
    except socket.gaierror as exc:
        raise ScaleUnreachable(f"Packbench cannot find the scale {host!r}: that name is unknown on this network. "
                               "Check the scale address in the station settings.", host=host, port=port) from exc
    except TimeoutError as exc:
        raise ScaleTimeout(f"The scale at {where} did not answer. Check it is switched on and its network cable "
                           "is in.", host=host, port=port) from exc
    except OSError as exc:
        raise ScaleUnreachable(f"The scale at {where} cannot be reached ({exc.strerror or exc}). Check it is switched "
                               "on and connected, and its address and port in the station settings.",
                               host=host, port=port) from exc
    with connection:
        answer = b""
        try:
            connection.sendall(b"SI\r\n")
            deadline = time.monotonic() + timeout  # the whole answer, however it is dripped
            while b"\n" not in answer and len(answer) <= MAX_ANSWER_BYTES:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                connection.settimeout(left)
                chunk = connection.recv(256)
                if not chunk:
                    break
                answer += chunk
        except TimeoutError as exc:
            raise ScaleTimeout(f"The scale at {where} took the connection but sent no weight. Check it is an MT-SICS "
                               "scale and not busy with another program.", host=host, port=port) from exc
        except OSError as exc:
            raise ScaleUnreachable(f"The connection to the scale at {where} broke ({exc.strerror or exc}).",
                                   host=host, port=port) from exc
    if not answer.strip():
        raise ScaleNotReady(f"The scale at {where} closed the connection without a weight.", host=host, port=port)
    return parse_answer(answer.split(b"\n", 1)[0].decode("ascii", "replace"), host=host, port=port)
