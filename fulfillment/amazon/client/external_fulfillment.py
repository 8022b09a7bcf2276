"""SmartConnect: Amazon's External Fulfillment Shipments API (2024-09-11) operations."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from django.conf import settings
from pydantic import ValidationError

from .. import label_links, transport
from ..errors import (
    AmazonConnectionError,
    AmazonTimeout,
    AmazonUnexpectedResponse,
    LabelDownloadTooSlow,
    LabelLinkRefused,
    LabelTooLarge,
    LabelUrlExpired,
    error_class_for,
)
from ..schemas import (
    CourierSupportedAttributes,
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
from .base import (
    USER_AGENT,
    AmazonRequestInvalid,
    _error_list,
    _iso8601,
    _model,
    _problems,
    _request_id,
    _validation_summary,
    logger,
)

MAX_PACKAGE_IDS_PER_LABEL_CALL = 50
MAX_EMPTY_PAGES_IN_A_ROW = 20


@dataclass(frozen=True)
class UnreadableShipment:
    """A shipment of a getShipments page that breaks Amazon's model. `problems` name the fields and
    what is wrong with them, never their values (a shipment carries the buyer's name and address)."""

    shipment_id: str  # "" when the id itself is missing or not a short string
    location_id: str
    problems: tuple[str, ...]


@dataclass
class ShipmentsPage:
    """One getShipments answer: the shipments that fit the model, the ones that do not, the token,
    and the ids of those left unread because the caller had no use for them (`skipped`)."""

    shipments: list[Shipment]
    unreadable: list[UnreadableShipment]
    pagination: Pagination | None = None
    skipped: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FetchedLabel:
    content: bytes
    content_type: str


class ExternalFulfillmentOperations:
    """getShipments … generateShipLabels, and the label download from Amazon's presigned link."""


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
        skip: Callable[[list[dict]], set[str]] | None = None,
    ) -> ShipmentsPage:
        """One page of shipments in `status` (use `iter_shipments` for all of them). Each shipment is
        read on its own: one that breaks the model is listed in `unreadable`, the others are kept.
        `skip` is given the page's shipments as Amazon sent them and names those the caller has no
        use for (the sync: those it holds exactly as listed, which its overlap lists again, and
        those of other locations): they are not read into the model, only their ids kept."""
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
        return _shipments_page(data, skip)

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
            listed = bool(page.shipments or page.unreadable or page.skipped)
            if listed:
                yield page
            token = page.pagination.next_token if page.pagination else None
            if not token:
                return
            # Amazon may answer an empty page that still has a next token; only an endless run of them is wrong.
            empty_in_a_row = 0 if listed else empty_in_a_row + 1
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


def _short_text(value: Any) -> str:
    return value if isinstance(value, str) and 0 < len(value) <= 64 else ""


def _shipments_page(data: Any, skip: Callable[[list[dict]], set[str]] | None = None) -> ShipmentsPage:
    """getShipments' answer read a shipment at a time: one that breaks the model is named with its
    problems and left out, and the page goes on (its token too). Those `skip` names are left
    unread (see get_shipments)."""
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
    shipments, unreadable, skipped = [], [], []
    unread = skip([item for item in raw if isinstance(item, dict)]) if skip else set()
    for item in raw:
        if unread and isinstance(item, dict) and item.get("id") in unread:
            skipped.append(item["id"])
            continue
        try:
            shipments.append(Shipment.model_validate(item))
        except ValidationError as exc:
            item = item if isinstance(item, dict) else {}
            bad = UnreadableShipment(_short_text(item.get("id")), _short_text(item.get("locationId")),
                                     tuple(_problems(exc)))
            logger.warning("Amazon's getShipments listed shipment %s that does not fit the model: %s",
                           bad.shipment_id or "(no id)", "; ".join(bad.problems[:5]))
            unreadable.append(bad)
    return ShipmentsPage(shipments, unreadable, pagination, skipped)
