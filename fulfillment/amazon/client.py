"""Amazon External Fulfillment Shipments API (2024-09-11) client.

The only module that talks HTTP to Amazon. Every call:
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
from collections.abc import Iterable, Iterator
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

from . import contract_schema, label_links, ratelimit, transport
from .auth import AccessTokens, Credentials
from .errors import (
    AmazonAnswerTooLarge,
    AmazonAuthConfigurationError,
    AmazonBadRequest,
    AmazonConnectionError,
    AmazonError,
    AmazonServerError,
    AmazonThrottled,
    AmazonTimeout,
    AmazonUnexpectedResponse,
    LabelDownloadTooSlow,
    LabelLinkRefused,
    LabelTooLarge,
    LabelUrlExpired,
    error_class_for,
)
from .schemas import (
    CourierSupportedAttributes,
    Error,
    ErrorList,
    InvoiceResponse,
    LineItemWithReason,
    Package,
    PackageDeliveryStatus,
    Packages,
    Pagination,
    ProcessShipmentOperation,
    ShipLabelsInput,
    ShipLabelsResponse,
    Shipment,
    ShipmentAcknowledgementRequest,
    ShippingOptionsResponse,
)

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
USER_AGENT = "Packbench/0.1 (Language=Python)"
MAX_PACKAGE_IDS_PER_LABEL_CALL = 50
MAX_EMPTY_PAGES_IN_A_ROW = 20


class AmazonRequestInvalid(AmazonBadRequest):
    """The request breaks Amazon's model; it was not sent."""

    @property
    def packer_message(self) -> str:
        return f"These details cannot be sent to Amazon: {self.detail}. Correct them and try again."


@dataclass(frozen=True)
class UnreadableShipment:
    """A shipment of a getShipments page that breaks Amazon's model. `problems` name the fields and
    what is wrong with them, never their values (a shipment carries the buyer's name and address)."""

    shipment_id: str  # "" when the id itself is missing or not a short string
    location_id: str
    problems: tuple[str, ...]


@dataclass
class ShipmentsPage:
    """One getShipments answer: the shipments that fit the model, the ones that do not, the token."""

    shipments: list[Shipment]
    unreadable: list[UnreadableShipment]
    pagination: Pagination | None = None


@dataclass(frozen=True)
class FetchedLabel:
    content: bytes
    content_type: str


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


def get_client(account=None, **kwargs) -> AmazonClient:
    """A client for `account`: None (the settings' account), a SellerAccount or Credentials.

    `background=True` marks work no packer is waiting for (the sync, a refresh a page asked for):
    its calls yield their rate-limit turn to any packer's step that is queued."""
    if account is None:
        credentials = Credentials.from_settings()
    elif isinstance(account, Credentials):
        credentials = account
    else:
        credentials = Credentials.from_account(account)
    return AmazonClient(credentials, **kwargs)


class AmazonClient:
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

    def __enter__(self) -> AmazonClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<AmazonClient {self.credentials.seller_account!r} {self.base_url}>"

    # --- Operations ---------------------------------------------------------------------------

    def get_shipments(
        self,
        *,
        status: str,
        location_id: str | None = None,
        marketplace_id: str | None = None,
        channel_name: str | None = None,
        last_updated_after: datetime | str | None = None,
        last_updated_before: datetime | str | None = None,
        max_results: int = 100,
        pagination_token: str | None = None,
    ) -> ShipmentsPage:
        """One page of shipments in `status` (use `iter_shipments` for all of them). Each shipment is
        read on its own: one that breaks the model is listed in `unreadable`, the others are kept."""
        if not 1 <= int(max_results) <= 100:
            raise ValueError(f"max_results must be between 1 and 100, not {max_results}")
        params = {
            "status": str(status),
            "locationId": location_id,
            "marketplaceId": marketplace_id,
            "channelName": channel_name,
            "lastUpdatedAfter": _iso8601(last_updated_after),
            "lastUpdatedBefore": _iso8601(last_updated_before),
            "maxResults": int(max_results),
            "paginationToken": pagination_token,
        }
        data = self._call("getShipments", params=params)
        return _shipments_page(data)

    def iter_shipments(self, **filters) -> Iterator[Shipment]:
        """Every readable shipment matching `filters` (get_shipments' keyword arguments but the
        token), page after page (pages may be empty; the token decides)."""
        for page in self.iter_shipment_pages(**filters):
            yield from page.shipments

    def iter_shipment_pages(self, **filters) -> Iterator[ShipmentsPage]:
        """The shipments matching `filters` a page at a time, for a caller that stores a page in one
        go. Pages with nothing in them are skipped; the token decides when it ends."""
        token = None
        empty_in_a_row = 0
        while True:
            page = self.get_shipments(**filters, pagination_token=token)
            if page.shipments or page.unreadable:
                yield page
            token = page.pagination.next_token if page.pagination else None
            if not token:
                return
            # Amazon may answer an empty page that still has a next token; only an endless run of them is wrong.
            empty_in_a_row = 0 if page.shipments or page.unreadable else empty_in_a_row + 1
            if empty_in_a_row > MAX_EMPTY_PAGES_IN_A_ROW:
                raise AmazonUnexpectedResponse(operation="getShipments", detail="endless empty pages")

    def get_shipment(self, shipment_id: str) -> Shipment:
        data = self._call("getShipment", shipment_id=shipment_id)
        return self._parse("getShipment", Shipment, data)

    def process_shipment(
        self,
        shipment_id: str,
        operation: str,
        *,
        reference_id: str | None = None,
        line_items: Iterable[LineItemWithReason | dict] | None = None,
    ) -> None:
        """CONFIRM the shipment, or REJECT it (reference_id and line items with their reasons)."""
        body = None
        if operation == ProcessShipmentOperation.REJECT:
            if not reference_id:
                raise AmazonRequestInvalid(operation="processShipment", detail="a rejection needs a reference id")
            items = [_model(LineItemWithReason, item, "processShipment") for item in line_items or []]
            if not items:
                raise AmazonRequestInvalid(operation="processShipment", detail="a rejection needs its line items")
            body = ShipmentAcknowledgementRequest(reference_id=reference_id, line_items=items)
        elif line_items or reference_id:
            body = ShipmentAcknowledgementRequest(
                reference_id=reference_id,
                line_items=[_model(LineItemWithReason, item, "processShipment") for item in line_items or []],
            )
        self._call("processShipment", shipment_id=shipment_id, params={"operation": str(operation)}, body=body)

    def create_packages(self, shipment_id: str, packages: list[Package]) -> None:
        body = Packages(packages=[_model(Package, package, "createPackages") for package in packages])
        self._call("createPackages", shipment_id=shipment_id, body=body)

    def update_package(self, shipment_id: str, package_id: str, package: Package) -> None:
        body = _model(Package, package, "updatePackage")
        self._call("updatePackage", shipment_id=shipment_id, package_id=package_id, body=body)

    def update_package_status(
        self,
        shipment_id: str,
        package_id: str,
        status: str = "SHIPPED",
        sub_status: str | None = None,
        reason: str | None = None,
    ) -> None:
        # The status goes in the body (PackageDeliveryStatus); the `status` query parameter is deprecated.
        body = PackageDeliveryStatus(status=status, sub_status=sub_status, reason=reason)
        self._call("updatePackageStatus", shipment_id=shipment_id, package_id=package_id, body=body)

    def retrieve_shipping_options(self, shipment_id: str, package_id: str) -> ShippingOptionsResponse:
        data = self._call(
            "retrieveShippingOptions", shipment_id=shipment_id, params={"packageId": package_id}, package_id=package_id
        )
        return self._parse("retrieveShippingOptions", ShippingOptionsResponse, data)

    def generate_invoice(self, shipment_id: str) -> InvoiceResponse:
        data = self._call("generateInvoice", shipment_id=shipment_id)
        return self._parse("generateInvoice", InvoiceResponse, data)

    def retrieve_invoice(self, shipment_id: str) -> InvoiceResponse:
        data = self._call("retrieveInvoice", shipment_id=shipment_id)
        return self._parse("retrieveInvoice", InvoiceResponse, data)

    def generate_ship_labels(
        self,
        shipment_id: str,
        *,
        package_ids: list[str],
        shipping_option_id: str | None = None,
        operation: str = "GENERATE",
        courier_supported_attributes: CourierSupportedAttributes | dict | None = None,
    ) -> ShipLabelsResponse:
        """GENERATE (or REGENERATE) labels for up to 50 packages; self-ship passes its courier's
        carrier name and tracking id in `courier_supported_attributes`."""
        package_ids = list(package_ids)
        if not package_ids or len(package_ids) > MAX_PACKAGE_IDS_PER_LABEL_CALL:
            raise AmazonRequestInvalid(
                operation="generateShipLabels",
                detail=f"labels are made for 1 to {MAX_PACKAGE_IDS_PER_LABEL_CALL} packages at a time, not {len(package_ids)}",
            )
        body = ShipLabelsInput(
            package_ids=package_ids,
            courier_supported_attributes=_model(CourierSupportedAttributes, courier_supported_attributes, "generateShipLabels")
            if courier_supported_attributes is not None
            else None,
        )
        params = {"operation": str(operation), "shippingOptionId": shipping_option_id}
        data = self._call(
            "generateShipLabels",
            shipment_id=shipment_id,
            params=params,
            body=body,
            package_id=package_ids[0] if len(package_ids) == 1 else "",
        )
        return self._parse("generateShipLabels", ShipLabelsResponse, data)

    def fetch_label(self, url: str, *, deadline: float | None = None) -> FetchedLabel:
        """Download a label from Amazon's presigned (S3-style) URL: no SP-API headers, no rate limit.

        The link is followed only where `label_links` allows (also on redirects), all attempts end
        by `deadline` (time.monotonic(); default AMAZON_LABEL_DOWNLOAD_SECONDS from now) and a file
        longer than DOCUMENT_MAX_BYTES is not read. What the bytes are is for the caller to check."""
        parsed = httpx.URL(url)
        if not parsed.is_absolute_url:  # a sandbox may hand out links relative to itself
            parsed = httpx.URL(self.base_url).join(url)
        policy = label_links.LabelLinkPolicy.for_endpoint(self.base_url)
        budget = float(settings.AMAZON_LABEL_DOWNLOAD_SECONDS)
        if deadline is None:
            deadline = time.monotonic() + budget
        max_bytes = int(settings.DOCUMENT_MAX_BYTES)

        def attempt() -> FetchedLabel:
            started = time.monotonic()
            response = error = None
            try:
                response = label_links.download(parsed, policy=policy, deadline=deadline, max_bytes=max_bytes,
                                                user_agent=USER_AGENT)
                if response.status_code in {401, 403} or (
                    response.status_code == 400 and b"expired" in response.content.lower()
                ):
                    error = LabelUrlExpired(
                        response.status_code, _error_list(response), _request_id(response), "fetchLabel"
                    )
                elif not response.is_success:
                    error = error_class_for(response.status_code)(
                        response.status_code, _error_list(response), _request_id(response), "fetchLabel"
                    )
            except label_links.LinkRefused as exc:
                error = LabelLinkRefused(operation="fetchLabel", detail=exc.reason)
            except transport.AddressRefused as exc:
                error = LabelLinkRefused(operation="fetchLabel", detail=f"leads to an address inside a private network ({exc})")
            except transport.ResponseTooLarge:
                error = LabelTooLarge(operation="fetchLabel", detail=f"more than {max_bytes // 1_000_000} MB")
            except httpx.TimeoutException as exc:
                if time.monotonic() >= deadline - 0.01:
                    error = LabelDownloadTooSlow(operation="fetchLabel", detail=f"{budget:g} seconds")
                else:
                    error = AmazonTimeout(operation="fetchLabel", detail=type(exc).__name__)
            except httpx.TransportError as exc:
                error = AmazonConnectionError(operation="fetchLabel", detail=type(exc).__name__)
            self._record(
                operation="fetchLabel",
                method="GET",
                path=parsed.path,  # the signed query is a credential: never stored
                response=response,
                http_status=response.status_code if response is not None else None,
                duration_ms=int((time.monotonic() - started) * 1000),
                error=error,
            )
            if error is not None:
                raise error
            content_type = response.headers.get("content-type", "application/octet-stream").split(";")[0].strip()
            return FetchedLabel(content=response.content, content_type=content_type)

        return self._retrying(attempt, is_write=False)

    # --- Plumbing -------------------------------------------------------------------------------

    def _call(
        self,
        operation_id: str,
        *,
        shipment_id: str | None = None,
        package_id: str | None = None,
        params: dict[str, Any] | None = None,
        body: BaseModel | None = None,
    ) -> Any:
        """Send one operation (with retries) and return its decoded JSON (None when empty)."""
        spec = contract_schema.operations()[operation_id]
        path_values = {"shipmentId": shipment_id, "packageId": package_id}
        path = spec["path"]
        for name, value in path_values.items():
            if "{" + name + "}" in path:
                if not value:
                    raise AmazonRequestInvalid(operation=operation_id, detail=f"{name} is missing")
                path = path.replace("{" + name + "}", quote(str(value), safe=""))
        query = {name: value for name, value in (params or {}).items() if value is not None}
        payload = body.to_amazon() if body is not None else None
        problems = contract_schema.parameter_problems(operation_id, "query", query)
        problems += contract_schema.body_problems(operation_id, payload) if payload is not None else []
        if problems:
            raise AmazonRequestInvalid(operation=operation_id, detail="; ".join(problems))

        is_write = spec["method"] != "GET"
        context = {"shipment_id": shipment_id or "", "package_id": package_id or ""}
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
        from .models import AmazonCall

        try:
            with transaction.atomic():  # a savepoint: a failed insert leaves the caller's transaction usable
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


def _short_text(value: Any) -> str:
    return value if isinstance(value, str) and 0 < len(value) <= 64 else ""


def _shipments_page(data: Any) -> ShipmentsPage:
    """getShipments' answer read a shipment at a time: one that breaks the model is named with its
    problems and left out, and the page goes on (its token too)."""
    if not isinstance(data, dict) and data is not None:
        raise AmazonUnexpectedResponse(operation="getShipments", detail="the answer is not an object")
    data = data or {}
    raw = data.get("shipments") or []
    if not isinstance(raw, list):
        raise AmazonUnexpectedResponse(operation="getShipments", detail="shipments: not a list")
    try:
        pagination = Pagination.model_validate(data["pagination"]) if data.get("pagination") else None
    except ValidationError as exc:
        raise AmazonUnexpectedResponse(operation="getShipments", detail=_validation_summary(exc)) from exc
    shipments, unreadable = [], []
    for item in raw:
        try:
            shipments.append(Shipment.model_validate(item))
        except ValidationError as exc:
            item = item if isinstance(item, dict) else {}
            bad = UnreadableShipment(_short_text(item.get("id")), _short_text(item.get("locationId")),
                                     tuple(_problems(exc)))
            logger.warning("Amazon's getShipments listed shipment %s that does not fit the model: %s",
                           bad.shipment_id or "(no id)", "; ".join(bad.problems[:5]))
            unreadable.append(bad)
    return ShipmentsPage(shipments, unreadable, pagination)


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
