"""Bytes from outside, bounded: one deadline per exchange, a size cap per answer and, for links
Amazon hands out, no connection to an address inside our own network.

httpx's timeouts bound each network operation, not the exchange: a server that sends one byte
every few seconds never trips them. `BoundedTransport` gives every request one deadline for
connecting, sending, the headers and the whole body (every socket wait ends by then) and refuses
an answer longer than its cap, by Content-Length before reading and by counting otherwise.

With an `AddressGuard` the transport resolves the host itself, refuses a loopback, private,
link-local or otherwise non-public address (unless the guard exempts that host and port, as the
local sandbox is in development) and connects to the very address it checked, so a second DNS
answer cannot slip a private address in between.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpcore
import httpx

__all__ = ["AddressGuard", "AddressRefused", "BoundedTransport", "ResponseTooLarge", "deadline_at"]


class ResponseTooLarge(httpx.TransportError):
    """The answer is longer than the transport's cap; it was not read further."""


class AddressRefused(httpx.ConnectError):
    """The host resolves to an address Packbench never connects to for this kind of request."""


# --- Deadline --------------------------------------------------------------------------------------

_local = threading.local()


@contextmanager
def deadline_at(when: float | None):
    """Socket waits in this thread end no later than `when` (a time.monotonic() value). Nested
    deadlines keep the earliest."""
    previous = getattr(_local, "deadline", None)
    _local.deadline = when if previous is None else (previous if when is None else min(previous, when))
    try:
        yield
    finally:
        _local.deadline = previous


def _time_left(timeout: float | None, expired: type[Exception]) -> float | None:
    """`timeout` shortened to what is left of this thread's deadline; `expired` once it has passed."""
    deadline = getattr(_local, "deadline", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise expired("the deadline for this exchange has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream):
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _time_left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _time_left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> httpcore.NetworkStream:
        return _DeadlineStream(
            self._inner.start_tls(ssl_context, server_hostname, _time_left(timeout, httpcore.ConnectTimeout))
        )

    def get_extra_info(self, info: str):
        return self._inner.get_extra_info(info)


# --- Addresses -------------------------------------------------------------------------------------


def is_public_address(address: str) -> bool:
    """True for an address on the public internet: not loopback, private, link-local, shared
    (carrier NAT), multicast, reserved or unspecified, also when written as IPv4-mapped IPv6."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


@dataclass(frozen=True)
class AddressGuard:
    """Connect only to public addresses; `exempt` lists (host, port) pairs that may be anything
    (the local sandbox outside production)."""

    exempt: frozenset[tuple[str, int]] = frozenset()

    def checked_address(self, host: str, port: int) -> str:
        """The address to connect to for host:port, every address the name has checked first."""
        host = host.strip("[]").lower()
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise httpx.ConnectError(f"cannot resolve {host}: {exc}") from exc
        addresses = [info[4][0] for info in found]
        if (host, int(port)) in self.exempt:
            return addresses[0]
        refused = [address for address in addresses if not is_public_address(address)]
        if refused or not addresses:
            raise AddressRefused(f"{host} resolves to {', '.join(refused) or 'nothing'}, not a public address")
        return addresses[0]


class _Backend(httpcore.NetworkBackend):
    def __init__(self, guard: AddressGuard | None):
        self._inner = httpcore.SyncBackend()
        self._guard = guard

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        if self._guard is not None:
            host = self._guard.checked_address(host, port)
        stream = self._inner.connect_tcp(
            host, port, timeout=_time_left(timeout, httpcore.ConnectTimeout), local_address=local_address,
            socket_options=socket_options,
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise httpcore.ConnectError("outside byte streams never use Unix sockets")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


# --- Transport -------------------------------------------------------------------------------------


class BoundedTransport(httpx.HTTPTransport):
    """httpx's transport with a total deadline (`total_seconds` per request, or the caller's
    `deadline_at` if that comes first), a size cap on every answer and an optional AddressGuard."""

    def __init__(self, *, total_seconds: float, max_bytes: int, guard: AddressGuard | None = None,
                 max_connections: int = 20):
        super().__init__(trust_env=False)
        # httpx offers no way to pass httpcore a network backend: the pool it made is replaced
        # by an identical one whose sockets honour the deadline (and the guard).
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(), max_connections=max_connections,
            max_keepalive_connections=max_connections, keepalive_expiry=5.0, network_backend=_Backend(guard),
        )
        self.total_seconds = float(total_seconds)
        self.max_bytes = int(max_bytes)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        deadline = time.monotonic() + self.total_seconds
        outer = getattr(_local, "deadline", None)
        if outer is not None:
            deadline = min(deadline, outer)
        with deadline_at(deadline):
            response = super().handle_request(request)
        length = response.headers.get("content-length", "")
        if length.strip().isdigit() and int(length) > self.max_bytes:
            response.close()
            raise ResponseTooLarge(f"the answer is {int(length)} bytes, more than {self.max_bytes}", request=request)
        return httpx.Response(
            status_code=response.status_code, headers=response.headers, extensions=response.extensions,
            stream=_BoundedBody(response.stream, deadline, self.max_bytes, request),
        )


class _BoundedBody(httpx.SyncByteStream):
    def __init__(self, inner: Iterable[bytes], deadline: float, max_bytes: int, request: httpx.Request):
        self._inner, self._deadline, self._max_bytes, self._request = inner, deadline, max_bytes, request

    def __iter__(self) -> Iterator[bytes]:
        chunks, received = iter(self._inner), 0
        while True:
            with deadline_at(self._deadline):  # only while waiting for the next chunk
                chunk = next(chunks, None)
            if chunk is None:
                return
            received += len(chunk)
            if received > self._max_bytes:
                raise ResponseTooLarge(f"the answer is longer than {self._max_bytes} bytes", request=self._request)
            yield chunk

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if close is not None:
            close()
