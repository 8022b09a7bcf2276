"""The address a sign-in comes from, for django-axes (`AXES_CLIENT_IP_CALLABLE`).

Behind the documented reverse proxy every request's REMOTE_ADDR is the proxy's, so a lockout of
"user on this address" would lock that user on every workstation. The real client is in
X-Forwarded-For, but anyone can write that header: it is believed only when the request came from
one of TRUSTED_PROXIES, and then read from the right (the end the trusted proxies appended to), the
first address that is not itself a trusted proxy being the client.

django-ipware's trusted-proxy list matches hops written inside X-Forwarded-For and never the
connecting address, so a request that reaches gunicorn directly could name itself a proxy; hence
these few lines on the standard library instead.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(proxy.strip(), strict=False) for proxy in proxies if proxy.strip())


def _address(value: str):
    try:
        return ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None


def client_ip(request) -> str:
    remote = request.META.get("REMOTE_ADDR", "")
    trusted = _networks(tuple(settings.TRUSTED_PROXIES))
    if not trusted or not _is_trusted(_address(remote), trusted):
        return remote
    hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:  # not written by a proxy of ours: stop believing the header here
            return remote
        if not _is_trusted(address, trusted):
            return str(address)
    return remote


def _is_trusted(address, trusted) -> bool:
    return address is not None and any(address.version == net.version and address in net for net in trusted)
