"""Login with Amazon: seller credentials and the access tokens they buy.

An access token lives about an hour. It is kept in Django's cache (Redis in production, the
database cache on an embedded station) so every web and worker process reuses it, encrypted with
the key that protects the seller secrets, and it is dropped 60 s before Amazon would expire it.
The cache key is a hash: the secrets never appear in it, in a log line or in a repr.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import filelock
import httpx
import redis
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.cache import cache
from encrypted_fields.fields import EncryptedTextField

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
    """Access tokens for one set of credentials, shared through Django's cache, encrypted at rest."""

    def __init__(self, credentials: Credentials, http: httpx.Client, recorder=None):
        self.credentials = credentials
        self.http = http
        self.recorder = recorder  # callable(**fields) writing an AmazonCall row
        self.cache_key = f"amazon:lwa:{credentials.cache_fingerprint}"

    def get(self) -> str:
        return self.token()[0]

    def token(self, *, replacing: str | None = None) -> tuple[str, bool]:
        """The shared access token and whether this call just fetched it from LWA.

        `replacing` is a token Amazon refused: it is dropped (unless another process replaced it
        already) and a new one fetched. One process asks LWA; the others wait on the refresh lock
        and then read the token it stored."""
        token = self.cached()
        if token and token != replacing:
            return token, False
        with self._refresh_lock():
            token = self.cached()  # whoever held the lock before us may have stored a new one
            if token and token != replacing:
                return token, False
            return self.refresh(), True

    def cached(self) -> str | None:
        stored = _cache_call(cache.get, self.cache_key)
        if not stored:
            return None
        try:
            return _cipher().decrypt(str(stored).encode()).decode()
        except (InvalidToken, ValueError, TypeError):  # another key, or a value from before encryption
            return None

    def invalidate(self) -> None:
        _cache_call(cache.delete, self.cache_key)

    def refresh(self) -> str:
        """Trade the refresh token for a new access token and share it (encrypted)."""
        token, expires_in = self._request_token()
        # Short-lived tokens (test sandboxes) are kept for half their life instead.
        ttl = expires_in - EXPIRY_MARGIN_SECONDS if expires_in > 2 * EXPIRY_MARGIN_SECONDS else expires_in // 2
        if ttl > 0:
            _cache_call(cache.set, self.cache_key, _cipher().encrypt(token.encode()).decode(), ttl)
        else:
            self.invalidate()
        return token

    @contextmanager
    def _refresh_lock(self):
        """Held while one process asks LWA. It outlives the slowest LWA call, and only its owner
        releases it (redis-py's token lock, or an OS file lock on an embedded station)."""
        ttl = refresh_lock_seconds()
        name = f"packbench:lwa-refresh:{self.credentials.cache_fingerprint[:32]}"
        if settings.REDIS_URL:
            lock = _redis().lock(name, timeout=ttl, blocking_timeout=ttl + 5)
            try:
                acquired = lock.acquire()
            except redis.RedisError:
                logger.warning("Redis unavailable for the LWA refresh lock; refreshing without it", exc_info=True)
                yield
                return
            if not acquired:
                raise AmazonConnectionError(
                    operation="lwaToken", detail="another process kept the access-token refresh lock too long"
                )
            try:
                yield
            finally:
                try:
                    lock.release()
                except redis.exceptions.LockError:
                    logger.warning("The LWA refresh lock expired before this process released it")
                except redis.RedisError:
                    logger.warning("Redis unavailable releasing the LWA refresh lock", exc_info=True)
        else:
            folder = Path(settings.VAR_DIR) / "locks"
            folder.mkdir(parents=True, exist_ok=True)
            try:
                with filelock.FileLock(folder / f"{name.rpartition(':')[2]}.lock", timeout=ttl + 5):
                    yield
            except filelock.Timeout:
                raise AmazonConnectionError(
                    operation="lwaToken", detail="another process kept the access-token refresh lock too long"
                ) from None

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
                token, expires_in, error = self._read_grant(response)
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
        return token, expires_in

    @staticmethod
    def _read_grant(response: httpx.Response) -> tuple[str | None, int, AmazonError | None]:
        """The token and its lifetime from a 2xx, or the (transient) error an unreadable answer is:
        a proxy's HTML page or a cut-off body is not a reason to give up on the credentials."""
        content_type = response.headers.get("content-type", "").split(";")[0].strip() or "no content type"
        try:
            body = response.json()
            if not isinstance(body, dict):
                raise TypeError("not an object")
            token, expires_in = body.get("access_token"), int(body.get("expires_in", 3600))
        except (ValueError, TypeError):
            return None, 0, AmazonServerError(
                response.status_code, operation="lwaToken", detail=f"LWA answered something that is not its JSON ({content_type})"
            )
        if not token or not isinstance(token, str):
            return None, 0, AmazonServerError(response.status_code, operation="lwaToken", detail="no access_token in LWA answer")
        return token, expires_in, None

    @staticmethod
    def _error_for(response: httpx.Response) -> AmazonError | None:
        if response.is_success:
            return None
        try:
            body = response.json()
        except (json.JSONDecodeError, ValueError):
            body = None
        code = str(body.get("error") or "") if isinstance(body, dict) else ""
        description = str(body.get("error_description") or "") if isinstance(body, dict) else ""
        errors = [Error(code=code or str(response.status_code), message=description or response.reason_phrase)]
        # Only LWA's own JSON answer says the credentials are wrong; a proxy's page never does.
        if code in CONFIGURATION_ERRORS or (isinstance(body, dict) and response.status_code in {400, 401}):
            return AmazonAuthConfigurationError(response.status_code, errors, operation="lwaToken")
        return AmazonServerError(response.status_code, errors, operation="lwaToken")


def refresh_lock_seconds() -> float:
    """Longer than the slowest LWA call can take: connect, send and read each get the timeout."""
    return 3 * float(getattr(settings, "AMAZON_TIMEOUT_SECONDS", 20.0)) + 5


@lru_cache(maxsize=4)
def _cipher_for(secret_key: str, salt, fallbacks: tuple) -> Fernet | MultiFernet:
    # The key derivation of the seller secrets' encrypted fields (SECRET_KEY, its fallbacks and
    # PACKBENCH_ENCRYPTION_SALT), so one key rotation covers both.
    return EncryptedTextField().f


def _cipher() -> Fernet | MultiFernet:
    salt = settings.SALT_KEY
    return _cipher_for(settings.SECRET_KEY, tuple(salt) if isinstance(salt, list) else salt,
                       tuple(getattr(settings, "SECRET_KEY_FALLBACKS", [])))


_redis_client: tuple[int, str, redis.Redis] | None = None


def _redis() -> redis.Redis:
    global _redis_client
    if _redis_client is None or _redis_client[:2] != (os.getpid(), settings.REDIS_URL):
        _redis_client = (os.getpid(), settings.REDIS_URL, redis.Redis.from_url(settings.REDIS_URL))
    return _redis_client[2]


def _cache_call(func, *args):
    """A broken cache costs a token refresh, never the call."""
    try:
        return func(*args)
    except Exception:
        logger.warning("Cache unavailable for LWA tokens; fetching a fresh token", exc_info=True)
        return None
