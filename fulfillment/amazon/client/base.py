"""The call machinery every Amazon API shares: login, rate limits, retries, the call log.

The client package is the only code that talks HTTP to Amazon (one module per Amazon API, each a
mixin of operations over `BaseClient`). Every call:
- waits for its turn in the rate-limit bucket of its seller account and operation, first come first
  served across processes, background work (`background=True`) after any packer's step;
- carries a Login with Amazon access token (a cached one Amazon refuses with 403 is replaced once);
- is retried when that is safe: reads on 429, 5xx, timeouts and connection failures; writes only
  when Amazon certainly did not act (429, or the request never left). A write that timed out or
  got a 5xx raises with `.outcome_unknown = True`: re-read the shipment and decide;
- is recorded as an `AmazonCall` row, even when it fails;
- sends only what Amazon's model allows (checked against the contract before sending) and reads
  answers into the typed models of `schemas.py`, Decimals exact.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import tenacity
from django.conf import settings
from django.db import transaction
from pydantic import BaseModel, ValidationError

from .. import contract_schema, ratelimit, transport
from ..auth import AccessTokens, Credentials
from ..errors import (
    AmazonAnswerTooLarge,
    AmazonAuthConfigurationError,
    AmazonBadRequest,
    AmazonConnectionError,
    AmazonError,
    AmazonServerError,
    AmazonThrottled,
    AmazonTimeout,
    AmazonUnexpectedResponse,
    error_class_for,
)
from ..schemas import Error, ErrorList

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
USER_AGENT = "Packbench/0.1 (Language=Python)"


class AmazonRequestInvalid(AmazonBadRequest):
    """The request breaks Amazon's model; it was not sent."""

    @property
    def packer_message(self) -> str:
        return f"These details cannot be sent to Amazon: {self.detail}. Correct them and try again."


@dataclass
class RetryPolicy:
    """How hard to try. Settings give the defaults; tests pass faster ones."""

    attempts: int = 4
    initial_wait: float = 0.5
    max_wait: float = 8.0
    rate_limit_wait: float = 30.0  # longest wait for a rate-limit token before AmazonThrottled

    @classmethod
    def from_settings(cls) -> RetryPolicy:
        return cls(
            attempts=int(getattr(settings, "AMAZON_RETRY_ATTEMPTS", cls.attempts)),
            initial_wait=float(getattr(settings, "AMAZON_RETRY_INITIAL_WAIT_SECONDS", cls.initial_wait)),
            max_wait=float(getattr(settings, "AMAZON_RETRY_MAX_WAIT_SECONDS", cls.max_wait)),
            rate_limit_wait=float(getattr(settings, "AMAZON_RATE_LIMIT_MAX_WAIT_SECONDS", cls.rate_limit_wait)),
        )


class BaseClient:
    def __init__(
        self,
        credentials: Credentials,
        *,
        http: httpx.Client | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        background: bool = False,
    ):
        self.credentials = credentials
        self.background = background
        self.base_url = credentials.base_url
        self.retry = retry or RetryPolicy.from_settings()
        self._owns_http = http is None and timeout is not None
        if http is None:
            http = _new_http(timeout) if timeout is not None else _shared_http()
        self.http = http
        self.tokens = AccessTokens(credentials, self.http, recorder=self._record)

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.credentials.seller_account!r} {self.base_url}>"

    # --- Plumbing -------------------------------------------------------------------------------

    def _call(
        self,
        operation_id: str,
        *,
        shipment_id: str | None = None,
        package_id: str | None = None,
        path: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        body: BaseModel | dict | None = None,
        context: dict[str, str] | None = None,
    ) -> Any:
        """Send one operation (with retries) and return its decoded JSON (None when empty).

        `operation_id` is the client's name for it (contract_schema.named_operations); `path`
        gives path values beyond shipmentId/packageId (orderId); list query values go
        comma-separated, as Amazon takes arrays; `body` is a schemas model or a plain dict."""
        reader, model_operation = contract_schema.resolve(operation_id)
        spec = reader.operations()[model_operation]
        path_values = {"shipmentId": shipment_id, "packageId": package_id, **(path or {})}
        path = spec["path"]
        for name, value in path_values.items():
            if "{" + name + "}" in path:
                if not value:
                    raise AmazonRequestInvalid(operation=operation_id, detail=f"{name} is missing")
                path = path.replace("{" + name + "}", quote(str(value), safe=""))
        query = {name: _query_value(value) for name, value in (params or {}).items() if value is not None}
        payload = body.to_amazon() if isinstance(body, BaseModel) else body
        problems = reader.parameter_problems(model_operation, "query", query)
        problems += reader.body_problems(model_operation, payload) if payload is not None else []
        if problems:
            raise AmazonRequestInvalid(operation=operation_id, detail="; ".join(problems))

        is_write = spec["method"] != "GET"
        context = {"shipment_id": shipment_id or "", "package_id": package_id or "", **(context or {})}
        return self._retrying(
            lambda: self._send(operation_id, spec["method"], path, query, payload, context), is_write=is_write
        )

    def _retrying(self, attempt, *, is_write: bool):
        policy = self.retry

        def should_retry(exc: BaseException) -> bool:
            if not isinstance(exc, AmazonError) or isinstance(exc, AmazonAuthConfigurationError):
                return False
            if getattr(exc, "not_sent", False):
                return True  # Amazon never saw it: safe for writes too
            if isinstance(exc, AmazonThrottled):
                return exc.status == 429  # a 429 means Amazon did not process it; our own wait already ran out
            if is_write:
                return False
            return isinstance(exc, AmazonServerError | AmazonTimeout | AmazonConnectionError)

        backoff = tenacity.wait_exponential_jitter(multiplier=policy.initial_wait, jitter=policy.initial_wait, max=policy.max_wait)

        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            retry_after = getattr(exc, "retry_after", None)
            if retry_after is not None:  # Amazon's own word wins over our backoff, within our patience
                return min(max(retry_after, 0.0), max(policy.max_wait, policy.rate_limit_wait))
            return backoff(state)

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(max(1, policy.attempts)),
            wait=wait,
            retry=tenacity.retry_if_exception(should_retry),
            reraise=True,
            before_sleep=lambda state: logger.info(
                "Retrying Amazon call after %s (attempt %s)", state.outcome.exception(), state.attempt_number
            ),
        )
        return retrying(attempt)

    def _send(self, operation_id, method, path, query, payload, context) -> Any:
        """One attempt: access token, rate-limit turn, request. A 403 on an access token taken from
        the shared cache (whatever Amazon's reason) drops that token and tries once with a new one."""
        account = self.credentials.seller_account
        refused = None  # the cached token Amazon refused, once it has
        while True:
            try:
                access_token, fresh = self.tokens.token(replacing=refused)
            except AmazonError as exc:
                exc.seller_account = account
                if not isinstance(exc, AmazonAuthConfigurationError):
                    exc.not_sent = True  # Amazon never saw the call: safe to try again, writes too
                raise
            # The LWA round trip above comes before the turn: a turn spent waiting on LWA would
            # make the request reach Amazon late, right beside the next caller's.
            slot = self._wait_for_turn(operation_id)
            response, error = self._exchange(operation_id, method, path, query, payload, context, access_token, slot)
            if response.status_code == 403 and refused is None and not fresh:
                logger.warning("Amazon refused the cached access token of seller account %s (403); "
                               "getting a new one once", account)
                refused = access_token
                continue
            if error is not None:
                error.seller_account = account
                if response.status_code == 403:
                    error.token_replaced = refused is not None or fresh
                raise error
            return self._decode(operation_id, response)

    def _wait_for_turn(self, operation_id: str) -> ratelimit.Slot:
        account = self.credentials.seller_account
        try:
            slot = ratelimit.acquire(account, operation_id, timeout=self.retry.rate_limit_wait, background=self.background)
        except ratelimit.RateLimitUnavailable as exc:
            error = AmazonThrottled(operation=operation_id, detail=str(exc))
            error.not_sent = True
            raise error from exc
        if slot is None:
            raise AmazonThrottled(
                operation=operation_id,
                detail=f"no rate-limit turn for {account} within {self.retry.rate_limit_wait:g}s",
            )
        return slot

    def _exchange(self, operation_id, method, path, query, payload, context, access_token, slot=None):
        """Send once and record it. Returns the response and, for a non-2xx, the error it means."""
        started = time.monotonic()
        is_write = method != "GET"
        headers = {"x-amz-access-token": access_token, "Accept": "application/json"}
        content = None
        if payload is not None:
            headers["Content-Type"] = "application/json"
            content = json.dumps(payload).encode()
        extensions = {"trace": _send_time_check(slot)} if slot is not None else None
        response = error = None
        try:
            response = self.http.request(
                method, self.base_url + path, params=query, content=content, headers=headers, extensions=extensions
            )
        except ratelimit.RateLimitUnavailable as exc:  # raised before a byte of the request left
            error = AmazonThrottled(operation=operation_id, detail=str(exc))
            error.not_sent = True
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            error = AmazonConnectionError(operation=operation_id, detail=type(exc).__name__)
            error.not_sent = True
        except httpx.TimeoutException as exc:
            error = AmazonTimeout(operation=operation_id, outcome_unknown=is_write, detail=type(exc).__name__)
        except transport.ResponseTooLarge as exc:
            error = AmazonAnswerTooLarge(operation=operation_id, outcome_unknown=is_write, detail=str(exc))
        except httpx.TransportError as exc:
            error = AmazonConnectionError(operation=operation_id, outcome_unknown=is_write, detail=type(exc).__name__)
        else:
            if not response.is_success:
                error = _response_error(operation_id, response, is_write)
        self._record(
            operation=operation_id,
            method=method,
            path=path,
            response=response,
            http_status=response.status_code if response is not None else None,
            duration_ms=int((time.monotonic() - started) * 1000),
            error=error,
            **context,
        )
        if response is None:
            raise error
        ratelimit.observe_rate_limit_header(
            self.credentials.seller_account, operation_id, response.headers.get("x-amzn-RateLimit-Limit")
        )
        return response, error

    @staticmethod
    def _decode(operation_id: str, response: httpx.Response) -> Any:
        if not response.content.strip():
            return None
        try:
            return json.loads(response.content, parse_float=Decimal)
        except ValueError:
            raise AmazonUnexpectedResponse(
                response.status_code, request_id=_request_id(response), operation=operation_id, detail="answer is not JSON"
            ) from None

    @staticmethod
    def _parse(operation_id: str, model: type[M], data: Any) -> M:
        try:
            return model.model_validate(data if data is not None else {})
        except ValidationError as exc:
            # Names and problems only: pydantic's own text repeats the values (a buyer's address).
            summary = _validation_summary(exc)
            logger.warning("Amazon's %s answer does not fit the model: %s", operation_id, summary)
            raise AmazonUnexpectedResponse(operation=operation_id, detail=summary) from exc

    def _record(self, *, operation, method, path, http_status, duration_ms, error=None, response=None, **context):
        """Write the AmazonCall row; a failure here must never break the call itself."""
        from ..models import AmazonCall

        try:
            # Inside the caller's transaction a savepoint, so a failed insert leaves it usable; outside
            # one the insert commits on its own (a transaction of its own would only add BEGIN/COMMIT).
            with transaction.atomic() if transaction.get_connection().in_atomic_block else nullcontext():
                AmazonCall.objects.create(
                    seller_account=self.credentials.seller_account[:80],
                    operation=operation,
                    method=method,
                    path=path[:500],
                    shipment_id=(context.get("shipment_id") or "")[:64],
                    package_id=(context.get("package_id") or "")[:64],
                    http_status=http_status,
                    request_id=(_request_id(response) if response is not None else "") or (getattr(error, "request_id", "") or ""),
                    duration_ms=max(0, duration_ms),
                    error_code=(error.error_code or type(error).__name__)[:100] if error is not None else "",
                    error_message=str(error)[:2000] if error is not None else "",
                )
        except Exception:
            logger.warning("Could not record Amazon call %s", operation, exc_info=True)


# --- Helpers ---------------------------------------------------------------------------------------

_shared: tuple[int, float, httpx.Client] | None = None
_shared_lock = threading.Lock()


def _new_http(timeout: float) -> httpx.Client:
    # The timeout also ends the whole exchange, and answers are capped: a slow or endless answer
    # cannot hold a worker (see transport.BoundedTransport).
    bounded = transport.BoundedTransport(total_seconds=timeout, max_bytes=int(settings.AMAZON_MAX_RESPONSE_BYTES))
    return httpx.Client(timeout=timeout, headers={"User-Agent": USER_AGENT}, transport=bounded)


def _shared_http() -> httpx.Client:
    """One connection pool per process (httpx.Client is thread-safe): calls reuse kept-alive
    connections to Amazon, and a caller that forgets close() leaks nothing."""
    global _shared
    timeout = float(settings.AMAZON_TIMEOUT_SECONDS)
    with _shared_lock:
        if _shared is None or _shared[0] != os.getpid() or _shared[1] != timeout:
            _shared = (os.getpid(), timeout, _new_http(timeout))
        return _shared[2]



def _model(model: type[M], value: Any, operation_id: str) -> M:
    if isinstance(value, model):
        return value
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise AmazonRequestInvalid(operation=operation_id, detail=_validation_summary(exc)) from exc


def _validation_summary(exc: ValidationError) -> str:
    return "; ".join(_problems(exc)[:5])


def _problems(exc: ValidationError) -> list[str]:
    """Each error as "field.path: what is wrong" (pydantic's message never holds the value; `input` does)."""
    return [f"{'.'.join(map(str, e['loc'])) or '(shipment)'}: {e['msg']}" for e in exc.errors(include_input=False)]


def _query_value(value: Any) -> Any:
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(str(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _iso8601(value: datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _request_id(response: httpx.Response | None) -> str:
    if response is None:
        return ""
    return response.headers.get("x-amzn-RequestId", "") or response.headers.get("x-amz-request-id", "")


def _error_list(response: httpx.Response) -> list[Error]:
    """Amazon's error list, or a one-line stand-in when the body is not one."""
    try:
        data = json.loads(response.content, parse_float=Decimal)
        return ErrorList.model_validate(data).errors
    except (ValueError, ValidationError):
        text = response.text.strip()[:300] if response.content else ""
        return [Error(code=str(response.status_code), message=text or response.reason_phrase or "")]


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
        except (TypeError, ValueError):
            return None


def _response_error(operation_id: str, response: httpx.Response, is_write: bool) -> AmazonError:
    status = response.status_code
    cls = error_class_for(status)
    kwargs = {"outcome_unknown": is_write and status >= 500}
    if cls is AmazonThrottled:
        kwargs["retry_after"] = _retry_after(response)
    return cls(status, _error_list(response), _request_id(response), operation_id, **kwargs)


def _send_time_check(slot: ratelimit.Slot):
    """An httpcore trace hook that takes the send-time turn once the connection is open and the
    request's headers are about to be written: connecting (TCP, TLS) no longer eats into the
    spacing Amazon sees."""

    def trace(event: str, info: dict) -> None:
        if event.endswith(".send_request_headers.started"):
            slot.go()
        elif event.endswith(".send_request_body.complete"):
            slot.left()

    return trace
