"""Page tokens: opaque to the caller, they carry the position and the query they belong to."""

from __future__ import annotations

import base64
import hashlib
import json

from .errors import bad_request


def fingerprint(filters: dict) -> str:
    return hashlib.sha256(json.dumps(filters, sort_keys=True, default=str).encode()).hexdigest()[
        :12
    ]


def page_token(position: dict, query_fingerprint: str) -> str:
    raw = json.dumps({**position, "q": query_fingerprint}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def read_page_token(
    token: str, query_fingerprint: str, keys: tuple[str, ...], parameter: str
) -> tuple:
    """The position (values of `keys`) a token points at; 400 for a forged token or one that
    belongs to a query with other filters."""
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        position = tuple(data[key] for key in keys)
        same_query = data["q"] == query_fingerprint
    except (ValueError, KeyError, TypeError):
        raise bad_request(f"Invalid input for parameter '{parameter}'.") from None
    if not same_query:
        raise bad_request(f"The {parameter} belongs to a query with other filters.")
    return position
