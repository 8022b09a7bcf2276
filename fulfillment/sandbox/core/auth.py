"""Login with Amazon as the sandbox plays it: the refresh-token grant and access-token checks.

Access tokens carry their own expiry, signed with a fixed key: a token cached by Packbench (in
Redis, across test runs) stays valid when the sandbox restarts, as a real LWA token would.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets

from .errors import ApiError

DEFAULT_CLIENT_ID = "amzn1.application-oa2-client.sandbox"
DEFAULT_CLIENT_SECRET = "sandbox-secret"
DEFAULT_REFRESH_TOKEN = "Atzr|sandbox-refresh-token"

_TOKEN_KEY = b"packbench-sandbox-lwa"


def grant_token(form: dict[str, str], config: dict, now: float) -> tuple[int, dict]:
    """LWA refresh-token grant: (status, JSON body) like api.amazon.com/auth/o2/token."""
    if form.get("grant_type") != "refresh_token":
        return 400, {
            "error": "unsupported_grant_type",
            "error_description": "The authorization grant type is not supported by the authorization server",
        }
    missing = [k for k in ("refresh_token", "client_id", "client_secret") if not form.get(k)]
    if missing:
        return 400, {
            "error": "invalid_request",
            "error_description": f"The request is missing a required parameter : {missing[0]}",
        }
    if config["lwa_clients"].get(form["client_id"]) != form["client_secret"]:
        return 401, {"error": "invalid_client", "error_description": "Client authentication failed"}
    refresh = form["refresh_token"]
    if refresh not in config["refresh_tokens"] or refresh in config["revoked_refresh_tokens"]:
        return 400, {
            "error": "invalid_grant",
            "error_description": "The request has an invalid grant parameter : refresh_token",
        }
    ttl = config["token_ttl_seconds"]
    payload = {
        "c": form["client_id"],
        "i": int(now * 1000),
        "e": int(now) + ttl,
        "n": secrets.token_hex(6),
        # The selling partner the token acts for: Amazon's rate limits are per selling partner.
        "s": seller_key(refresh),
    }
    return 200, {
        "access_token": _sign_token(payload),
        "refresh_token": refresh,
        "token_type": "bearer",
        "expires_in": ttl,
    }


def seller_key(refresh_token: str) -> str:
    """Who a refresh token belongs to, as the rate limiter tells sellers apart (never the token itself)."""
    return hashlib.sha256(refresh_token.encode()).hexdigest()[:12]


def authorize(token: str | None, now: float, expired_up_to_ms: int | None, revoked_up_to_ms: int | None = None) -> str:
    """403 unless the x-amz-access-token is one this sandbox issued and it has not expired
    (tokens issued up to `expired_up_to_ms` count as expired: the control API's expire_tokens) or
    been revoked (issued up to `revoked_up_to_ms`: a 403 that does not say "expired").
    Returns the seller the token acts for ("" for a token issued before tokens named one)."""
    payload = _read_token(token or "")
    if payload is None or (revoked_up_to_ms is not None and payload["i"] <= revoked_up_to_ms):
        raise ApiError(403, "Unauthorized", "Access to requested resource is denied.", "")
    if now >= payload["e"] or (expired_up_to_ms is not None and payload["i"] <= expired_up_to_ms):
        raise ApiError(
            403,
            "Unauthorized",
            "Access to requested resource is denied.",
            "The access token you provided has expired.",
        )
    return str(payload.get("s", ""))


def _sign_token(payload: dict) -> str:
    body = (
        base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode())
        .decode()
        .rstrip("=")
    )
    mac = hmac.new(_TOKEN_KEY, body.encode(), hashlib.sha256).hexdigest()[:32]
    return f"Atza|{body}.{mac}"


def _read_token(token: str) -> dict | None:
    if not token.startswith("Atza|") or "." not in token:
        return None
    body, mac = token[5:].rsplit(".", 1)
    if not hmac.compare_digest(
        mac, hmac.new(_TOKEN_KEY, body.encode(), hashlib.sha256).hexdigest()[:32]
    ):
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        return (
            payload
            if isinstance(payload.get("e"), int) and isinstance(payload.get("i"), int)
            else None
        )
    except ValueError:
        return None
