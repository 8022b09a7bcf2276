"""Which label links Packbench follows, and the download itself.

A label link comes from outside, so Packbench follows it only when it is https on one of
Amazon's hosts (`AMAZON_LABEL_URL_HOSTS`: `.amazonaws.com` means that domain and every name under
it) on the default port, with no user name in it; every redirect (at most three) meets the same
rules, and the host must resolve to public addresses only (checked by `transport.AddressGuard`
when connecting, so no later DNS answer can differ).

Outside production the local sandbox serves labels from its own origin, so one more kind of link
is allowed there: the origin of the client's configured endpoint (`AMAZON_ENDPOINT`, or a seller
account's endpoint URL), exactly that scheme, host and port, and only its label files
(`/_sandbox/labels/<id>`). Its `/_sandbox/config`, any other path, and any other port on that
machine (a printer's 9100) stay refused.
"""

from __future__ import annotations

import ipaddress
import os
import re
import threading
import time
from dataclasses import dataclass

import httpx
from django.conf import settings

from .transport import AddressGuard, BoundedTransport, deadline_at

SANDBOX_LABEL_PATH = "/_sandbox/labels/"
MAX_REDIRECTS = 3
_DEFAULT_PORTS = {"http": 80, "https": 443}
_LABEL_ID = re.compile(r"[A-Za-z0-9_-]+")


class LinkRefused(Exception):
    """A label link (or a redirect) Packbench does not follow; `reason` completes "the link …"."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class LabelLinkPolicy:
    hosts: tuple[str, ...]
    sandbox: tuple[str, str, int] | None = None  # (scheme, host, port) of the local sandbox

    @classmethod
    def for_endpoint(cls, base_url: str) -> LabelLinkPolicy:
        hosts = tuple(h.strip().lower() for h in settings.AMAZON_LABEL_URL_HOSTS if h.strip())
        sandbox = None
        if not settings.PRODUCTION:
            url = httpx.URL(base_url)
            if url.scheme in _DEFAULT_PORTS and url.host:
                sandbox = (url.scheme, url.host.lower(), url.port or _DEFAULT_PORTS[url.scheme])
        return cls(hosts, sandbox)

    def refusal(self, url: httpx.URL) -> str | None:
        """Why `url` is not followed (words that complete "the link …"), or None when it may be."""
        scheme, host = url.scheme, (url.host or "").lower()
        port = url.port or _DEFAULT_PORTS.get(scheme)
        if url.userinfo:
            return "carries a user name or password"
        if self.sandbox is not None and (scheme, host, port) == self.sandbox:
            path = url.path
            if path.startswith(SANDBOX_LABEL_PATH) and _LABEL_ID.fullmatch(path[len(SANDBOX_LABEL_PATH):]):
                return None
            return f"points at the sandbox's {path[:80]} instead of one of its label files"
        where = f"{host}:{port}" if port else host
        if scheme != "https":
            return f"uses {scheme or 'no scheme'}, not https ({where})"
        if port != 443:
            return f"points at port {port} of {host}, not at one of Amazon's label hosts"
        if _is_address(host) or not any(_host_matches(host, allowed) for allowed in self.hosts):
            return f"points at {host}, not at one of Amazon's label hosts"
        return None

    def guard(self) -> AddressGuard:
        return AddressGuard(frozenset({self.sandbox[1:]}) if self.sandbox else frozenset())


def _host_matches(host: str, allowed: str) -> bool:
    if allowed.startswith("."):
        return host == allowed[1:] or host.endswith(allowed)
    return host == allowed


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def download(url: httpx.URL, *, policy: LabelLinkPolicy, deadline: float, max_bytes: int,
             user_agent: str) -> httpx.Response:
    """GET a label link, following at most MAX_REDIRECTS redirects, each checked like the link,
    all of it by `deadline` (time.monotonic()). Returns the final answer with its body read.

    Raises LinkRefused, transport.AddressRefused, transport.ResponseTooLarge, httpx.TimeoutException
    (also when the deadline passed) or another httpx.TransportError."""
    client = _client(policy, max_bytes, user_agent)
    for _ in range(MAX_REDIRECTS + 1):
        refusal = policy.refusal(url)
        if refusal:
            raise LinkRefused(refusal)
        if time.monotonic() >= deadline:
            raise httpx.ReadTimeout("the deadline for the label download has passed")
        with deadline_at(deadline):
            response = client.get(url, headers={"Accept": "*/*"})
        if not response.is_redirect:
            return response
        url = url.join(response.headers["location"])
    raise LinkRefused(f"kept redirecting (more than {MAX_REDIRECTS} times)")


_clients: dict[tuple, httpx.Client] = {}
_clients_lock = threading.Lock()


def _client(policy: LabelLinkPolicy, max_bytes: int, user_agent: str) -> httpx.Client:
    """One connection pool per process and policy: labels of one step reuse the connection to S3."""
    total = float(settings.AMAZON_LABEL_DOWNLOAD_SECONDS)
    timeout = float(settings.AMAZON_TIMEOUT_SECONDS)
    key = (os.getpid(), policy.guard(), max_bytes, total, timeout, user_agent)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            transport = BoundedTransport(total_seconds=total, max_bytes=max_bytes, guard=policy.guard())
            client = httpx.Client(transport=transport, timeout=timeout, follow_redirects=False, trust_env=False,
                                  headers={"User-Agent": user_agent})
            _clients[key] = client
        return client
