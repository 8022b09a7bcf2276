"""Where SP-API calls go: a region, Amazon's own sandbox, or any URL (the local sandbox)."""

from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

REGIONS = {
    "na": "https://sellingpartnerapi-na.amazon.com",
    "eu": "https://sellingpartnerapi-eu.amazon.com",
    "fe": "https://sellingpartnerapi-fe.amazon.com",
    "sandbox-na": "https://sandbox.sellingpartnerapi-na.amazon.com",
    "sandbox-eu": "https://sandbox.sellingpartnerapi-eu.amazon.com",
    "sandbox-fe": "https://sandbox.sellingpartnerapi-fe.amazon.com",
}
LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"


def resolve_endpoint(endpoint: str) -> str:
    """Base URL (no trailing slash) for a region name, sandbox name or URL."""
    value = (endpoint or "").strip()
    if value.lower() in REGIONS:
        return REGIONS[value.lower()]
    parts = urlsplit(value)
    if parts.scheme in {"http", "https"} and parts.netloc:
        return value.rstrip("/")
    raise ImproperlyConfigured(
        f"Amazon endpoint {endpoint!r} is not one of {', '.join(REGIONS)} nor an http(s) URL."
    )
