"""Login with Amazon: seller credentials and the access tokens they buy.

An access token lives about an hour. It is kept in Django's cache (Redis in production, the
database cache on an embedded station) so every web and worker process reuses it, and it is
dropped 60 s before Amazon would expire it. The cache key is a hash: the secrets never appear
in it, in a log line or in a repr.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field

import httpx
from django.conf import settings
from django.core.cache import cache

from .endpoints import resolve_endpoint
from .errors import (
    AmazonAuthConfigurationError,
    AmazonConnectionError,
    AmazonError,
    AmazonServerError,
    AmazonTimeout,
)
from .schemas import Error

logger = logging.getLogger(__name__)

#: Refresh this long before Amazon's own expiry, so a token never dies mid-request.
EXPIRY_MARGIN_SECONDS = 60
#: How long other processes wait for the one refreshing the token before asking LWA themselves.
REFRESH_LOCK_SECONDS = 3
#: LWA answers these when the credentials themselves are wrong: retrying cannot help.
CONFIGURATION_ERRORS = {"invalid_grant", "invalid_client", "unauthorized_client", "invalid_request"}


@dataclass(frozen=True)
class Credentials:
    """Everything needed to call Amazon for one seller account."""

    seller_account: str
    endpoint: str
    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)

    @property
    def base_url(self) -> str:
        return resolve_endpoint(self.endpoint)

    @property
    def cache_fingerprint(self) -> str:
        """Stable, secret-free identity of these credentials (for cache keys)."""
        material = "\x1f".join([self.token_url, self.client_id, self.client_secret, self.refresh_token])
        return hashlib.sha256(material.encode()).hexdigest()

    @classmethod
    def from_settings(cls) -> Credentials:
        return cls(
            seller_account=settings.AMAZON_SELLER_ACCOUNT,
            endpoint=settings.AMAZON_ENDPOINT,
            token_url=settings.AMAZON_LWA_TOKEN_URL,
            client_id=settings.AMAZON_LWA_CLIENT_ID,
            client_secret=settings.AMAZON_LWA_CLIENT_SECRET,
            refresh_token=settings.AMAZON_LWA_REFRESH_TOKEN,
        )

    @classmethod
    def from_account(cls, account) -> Credentials:
        """From a `fulfillment.accounts.models.SellerAccount`."""
        return cls(
            seller_account=account.name,
            endpoint=account.endpoint,
            token_url=account.token_url,
            client_id=account.lwa_client_id,
            client_secret=account.lwa_client_secret,
            refresh_token=account.refresh_token,
        )


class AccessTokens:
    """Access tokens for one set of credentials, shared through Django's cache."""

    def __init__(self, credentials: Credentials, http: httpx.Client, recorder=None):
        self.credentials = credentials
        self.http = http
        self.recorder = recorder  # callable(**fields) writing an AmazonCall row
        self.cache_key = f"amazon:lwa:{credentials.cache_fingerprint}"

    def get(self) -> str:
        token = _cache_call(cache.get, self.cache_key)
        if token:
            return token
        # One process refreshes; the others wait briefly for its token instead of all asking LWA at once.
        if not _cache_call(cache.add, self.cache_key + ":refreshing", 1, REFRESH_LOCK_SECONDS):
            deadline = time.monotonic() + REFRESH_LOCK_SECONDS
            while time.monotonic() < deadline:
                time.sleep(0.05)
                token = _cache_call(cache.get, self.cache_key)
                if token:
                    return token
        try:
            return self.refresh()
        finally:
            _cache_call(cache.delete, self.cache_key + ":refreshing")

    def invalidate(self) -> None:
        _cache_call(cache.delete, self.cache_key)

    def refresh(self) -> str:
        """Trade the refresh token for a new access token and share it."""
        token, expires_in = self._request_token()
        # Short-lived tokens (test sandboxes) are kept for half their life instead.
        ttl = expires_in - EXPIRY_MARGIN_SECONDS if expires_in > 2 * EXPIRY_MARGIN_SECONDS else expires_in // 2
        if ttl > 0:
            _cache_call(cache.set, self.cache_key, token, ttl)
        return token

    def _request_token(self) -> tuple[str, int]:
        creds = self.credentials
        started = time.monotonic()
        status = None
        error: AmazonError | None = None
        try:
            response = self.http.post(
                creds.token_url,
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": creds.refresh_token,
                    "client_id": creds.client_id,
                    "client_secret": creds.client_secret,
                },
                headers={"Accept": "application/json"},
            )
        except httpx.TimeoutException as exc:
            error = AmazonTimeout(operation="lwaToken", detail=type(exc).__name__)
        except httpx.TransportError as exc:
            error = AmazonConnectionError(operation="lwaToken", detail=type(exc).__name__)
        else:
            status = response.status_code
            error = self._error_for(response)
            if error is None:
                body = response.json()
                token, expires_in = body.get("access_token"), body.get("expires_in", 3600)
                if not token:
                    error = AmazonServerError(status, operation="lwaToken", detail="no access_token in LWA answer")
        finally:
            if self.recorder is not None:
                self.recorder(
                    operation="lwaToken",
                    method="POST",
                    path=httpx.URL(creds.token_url).path,
                    http_status=status,
                    duration_ms=int((time.monotonic() - started) * 1000),
                    error=error,
                )
        if error is not None:
            logger.warning("LWA token request failed for seller account %s: %s", creds.seller_account, error)
            raise error
        return token, int(expires_in)

    @staticmethod
    def _error_for(response: httpx.Response) -> AmazonError | None:
        if response.is_success:
            return None
        try:
            body = response.json()
        except (json.JSONDecodeError, ValueError):
            body = {}
        code = str(body.get("error") or "") if isinstance(body, dict) else ""
        description = str(body.get("error_description") or "") if isinstance(body, dict) else ""
        errors = [Error(code=code or str(response.status_code), message=description or response.reason_phrase)]
        if code in CONFIGURATION_ERRORS or response.status_code in {400, 401}:
            return AmazonAuthConfigurationError(response.status_code, errors, operation="lwaToken")
        return AmazonServerError(response.status_code, errors, operation="lwaToken")


def _cache_call(func, *args):
    """A broken cache costs a token refresh, never the call."""
    try:
        return func(*args)
    except Exception:  # noqa: BLE001 - any cache backend failure
        logger.warning("Cache unavailable for LWA tokens; fetching a fresh token", exc_info=True)
        return None
