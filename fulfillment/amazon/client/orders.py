"""Seller-fulfilled (MFN) orders: Amazon's Orders API v0 and 2026-01-01 operations.

Each operation waits for its own usage plan (the model's description: getOrders 0.0167/s burst 20,
confirmShipment 2/s burst 10, …; see ratelimit.configured_limit). Answers are read into small
typed records; an order of a getOrders page that lacks what the station needs is left out and
logged, the page goes on. Amazon's v0 confirmShipment never says back which packageReferenceId it
stored: the caller keeps its own (and repeats it to correct a package).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils.dateparse import parse_datetime

from ..errors import AmazonUnexpectedResponse
from .base import AmazonRequestInvalid, _iso8601, logger

MAX_EMPTY_ORDER_PAGES = 20
PICKUP_STATUSES = ("ReadyForPickup", "PickedUp", "RefusedPickup")


@dataclass(frozen=True)
class Order:
    order_id: str
    status: str
    marketplace_id: str
    location_id: str  # FulfillmentInstruction.FulfillmentSupplySourceId
    fulfillment_channel: str
    purchased_at: datetime | None
    last_updated_at: datetime | None
    latest_ship_date: datetime | None
    latest_delivery_date: datetime | None
    ship_service_level: str
    service_level_category: str
    is_store_pickup: bool
    is_prime: bool
    is_business: bool
    items_shipped: int
    items_unshipped: int
    raw: dict = field(repr=False, compare=False)


@dataclass(frozen=True)
class OrderItem:
    order_item_id: str
    sku: str
    asin: str
    title: str
    quantity_ordered: int
    quantity_shipped: int
    serial_required: bool
    signature_required: bool
    gift_message: str
    raw: dict = field(repr=False, compare=False)


@dataclass
class OrdersPage:
    orders: list[Order]
    next_token: str | None
    listed_before: datetime | None  # LastUpdatedBefore (or CreatedBefore): the bound Amazon used
    unreadable: list[str] = field(default_factory=list)  # ids (or "") of orders left out


@dataclass(frozen=True)
class ConfirmedPackage:
    """A package Amazon holds for an order (orders 2026-01-01 getOrder, includedData=PACKAGES)."""

    reference_id: str
    carrier: str
    tracking_number: str
    items: dict[str, int]


def _time(value: Any) -> datetime | None:
    return parse_datetime(value) if isinstance(value, str) else None


def _order(data: dict) -> Order:
    instruction = data.get("FulfillmentInstruction") or {}
    return Order(
        order_id=str(data["AmazonOrderId"]),
        status=str(data["OrderStatus"]),
        marketplace_id=str(data.get("MarketplaceId") or ""),
        location_id=str(instruction.get("FulfillmentSupplySourceId") or ""),
        fulfillment_channel=str(data.get("FulfillmentChannel") or ""),
        purchased_at=_time(data.get("PurchaseDate")),
        last_updated_at=_time(data.get("LastUpdateDate")),
        latest_ship_date=_time(data.get("LatestShipDate")),
        latest_delivery_date=_time(data.get("LatestDeliveryDate")),
        ship_service_level=str(data.get("ShipServiceLevel") or ""),
        service_level_category=str(data.get("ShipmentServiceLevelCategory") or ""),
        is_store_pickup=bool(data.get("IsISPU")),
        is_prime=bool(data.get("IsPrime")),
        is_business=bool(data.get("IsBusinessOrder")),
        items_shipped=int(data.get("NumberOfItemsShipped") or 0),
        items_unshipped=int(data.get("NumberOfItemsUnshipped") or 0),
        raw=data,
    )


def _order_item(data: dict) -> OrderItem:
    constraints = data.get("ShippingConstraints") or {}
    gift = data.get("BuyerInfo") or {}
    return OrderItem(
        order_item_id=str(data["OrderItemId"]),
        sku=str(data.get("SellerSKU") or data.get("ASIN") or ""),
        asin=str(data.get("ASIN") or ""),
        title=str(data.get("Title") or ""),
        quantity_ordered=int(data["QuantityOrdered"]),
        quantity_shipped=int(data.get("QuantityShipped") or 0),
        serial_required=bool(data.get("SerialNumberRequired")),
        signature_required=constraints.get("SignatureConfirmation") == "MANDATORY",
        gift_message=str(gift.get("GiftMessageText") or ""),
        raw=data,
    )


def _payload(operation: str, data: Any) -> dict:
    if not isinstance(data, dict) or not isinstance(data.get("payload"), dict):
        raise AmazonUnexpectedResponse(operation=operation, detail="the answer has no payload object")
    return data["payload"]


class OrdersOperations:
    """getOrders, getOrderItems, confirmShipment, updateShipmentStatus (v0); searchOrders and
    getOrder (2026-01-01)."""

    def get_orders(
        self,
        *,
        marketplace_ids: list[str],
        last_updated_after: datetime | str | None = None,
        created_after: datetime | str | None = None,
        order_statuses: list[str] | None = None,
        fulfillment_channels: list[str] | None = ("MFN",),
        location_id: str | None = None,
        is_store_pickup: bool | None = None,
        amazon_order_ids: list[str] | None = None,
        max_results: int = 100,
        next_token: str | None = None,
    ) -> OrdersPage:
        """One page of orders; exactly one of `last_updated_after` and `created_after`."""
        if (last_updated_after is None) == (created_after is None) and not amazon_order_ids:
            raise AmazonRequestInvalid(operation="getOrders",
                                       detail="give exactly one of LastUpdatedAfter and CreatedAfter")
        params = {
            "MarketplaceIds": list(marketplace_ids),
            "LastUpdatedAfter": _iso8601(last_updated_after),
            "CreatedAfter": _iso8601(created_after),
            "OrderStatuses": list(order_statuses) if order_statuses else None,
            "FulfillmentChannels": list(fulfillment_channels) if fulfillment_channels else None,
            "ActualFulfillmentSupplySourceId": location_id,
            "IsISPU": is_store_pickup,
            "AmazonOrderIds": list(amazon_order_ids) if amazon_order_ids else None,
            "MaxResultsPerPage": int(max_results),
            "NextToken": next_token,
        }
        payload = _payload("getOrders", self._call("getOrders", params=params))
        orders, unreadable = [], []
        for item in payload.get("Orders") or []:
            try:
                orders.append(_order(item))
            except (KeyError, TypeError, ValueError) as exc:
                order_id = item.get("AmazonOrderId", "") if isinstance(item, dict) else ""
                logger.warning("Amazon's getOrders listed order %s without %s", order_id or "(no id)", exc)
                unreadable.append(str(order_id)[:64])
        before = payload.get("LastUpdatedBefore") or payload.get("CreatedBefore")
        return OrdersPage(orders, payload.get("NextToken") or None, _time(before), unreadable)

    def iter_order_pages(self, **filters) -> Iterator[OrdersPage]:
        """Every page of orders matching `filters` (get_orders' arguments but the token)."""
        token, empty = None, 0
        while True:
            page = self.get_orders(**filters, next_token=token)
            yield page
            token = page.next_token
            if not token:
                return
            empty = 0 if page.orders or page.unreadable else empty + 1
            if empty > MAX_EMPTY_ORDER_PAGES:
                raise AmazonUnexpectedResponse(operation="getOrders", detail="endless empty pages")

    def get_order_items(self, order_id: str) -> list[OrderItem]:
        items, token = [], None
        for _ in range(100):
            data = self._call("getOrderItems", path={"orderId": order_id}, params={"NextToken": token},
                              context={"shipment_id": order_id})
            payload = _payload("getOrderItems", data)
            try:
                items += [_order_item(item) for item in payload.get("OrderItems") or []]
            except (KeyError, TypeError, ValueError) as exc:
                raise AmazonUnexpectedResponse(operation="getOrderItems", detail=f"an item lacks {exc}") from None
            token = payload.get("NextToken")
            if not token:
                return items
        raise AmazonUnexpectedResponse(operation="getOrderItems", detail="endless pages")

    def confirm_shipment(
        self,
        order_id: str,
        *,
        marketplace_id: str,
        package_reference_id: str,
        carrier_code: str,
        tracking_number: str,
        ship_date: datetime | str,
        items: dict[str, int],
        carrier_name: str | None = None,
        shipping_method: str | None = None,
        location_id: str | None = None,
    ) -> None:
        """Confirm one package shipped (or correct one: the same reference id, items and quantities)."""
        detail = {
            "packageReferenceId": str(package_reference_id),
            "carrierCode": carrier_code,
            "trackingNumber": tracking_number,
            "shipDate": _iso8601(ship_date),
            "orderItems": [{"orderItemId": item, "quantity": int(n)} for item, n in items.items() if int(n) > 0],
        }
        if carrier_name:
            detail["carrierName"] = carrier_name
        if shipping_method:
            detail["shippingMethod"] = shipping_method
        if location_id:
            detail["shipFromSupplySourceId"] = location_id
        body = {"marketplaceId": marketplace_id, "packageDetail": detail}
        self._call("confirmShipment", path={"orderId": order_id}, body=body,
                   context={"shipment_id": order_id, "package_id": str(package_reference_id)})

    def update_shipment_status(
        self, order_id: str, *, marketplace_id: str, status: str, items: dict[str, int] | None = None
    ) -> None:
        """Store pickup: ReadyForPickup, PickedUp or RefusedPickup (some units, or every one available)."""
        if status not in PICKUP_STATUSES:
            raise AmazonRequestInvalid(operation="updateShipmentStatus", detail=f"unknown status {status}")
        body: dict[str, Any] = {"marketplaceId": marketplace_id, "shipmentStatus": status}
        if items:
            body["orderItems"] = [{"orderItemId": item, "quantity": int(n)} for item, n in items.items()]
        self._call("updateShipmentStatus", path={"orderId": order_id}, body=body, context={"shipment_id": order_id})

    # --- Orders 2026-01-01 ----------------------------------------------------------------------

    def search_orders(
        self,
        *,
        marketplace_ids: list[str],
        last_updated_after: datetime | str | None = None,
        created_after: datetime | str | None = None,
        fulfillment_statuses: list[str] | None = None,
        included_data: list[str] | None = None,
        max_results: int = 100,
        pagination_token: str | None = None,
    ) -> dict:
        """One page of searchOrders, as Amazon's JSON (orders, pagination, the bound it used)."""
        params = {
            "marketplaceIds": list(marketplace_ids),
            "lastUpdatedAfter": _iso8601(last_updated_after),
            "createdAfter": _iso8601(created_after),
            "fulfillmentStatuses": list(fulfillment_statuses) if fulfillment_statuses else None,
            "fulfilledBy": ["MERCHANT"],
            "includedData": list(included_data) if included_data else None,
            "maxResultsPerPage": int(max_results),
            "paginationToken": pagination_token,
        }
        data = self._call("searchOrders", params=params)
        if not isinstance(data, dict):
            raise AmazonUnexpectedResponse(operation="searchOrders", detail="the answer is not an object")
        return data

    def get_order_details(self, order_id: str, *, included_data: list[str] | None = None) -> dict:
        """getOrder (2026-01-01): the order as Amazon's JSON (`order`), with `included_data`."""
        data = self._call("orders_2026-01-01.getOrder", path={"orderId": order_id},
                          params={"includedData": list(included_data) if included_data else None},
                          context={"shipment_id": order_id})
        if not isinstance(data, dict) or not isinstance(data.get("order"), dict):
            raise AmazonUnexpectedResponse(operation="getOrder", detail="the answer has no order object")
        return data["order"]

    def confirmed_packages(self, order_id: str) -> list[ConfirmedPackage]:
        """The packages Amazon holds as shipped for the order, by packageReferenceId (the one read that
        tells whether a confirmShipment whose answer was lost went through)."""
        order = self.get_order_details(order_id, included_data=["PACKAGES"])
        found = []
        for package in order.get("packages") or []:
            items = {}
            for item in package.get("packageItems") or []:
                item_id = str(item.get("orderItemId") or "")
                items[item_id] = items.get(item_id, 0) + int(item.get("quantity") or 0)
            carrier = package.get("carrier") or package.get("carrierCode") or ""
            found.append(ConfirmedPackage(
                reference_id=str(package.get("packageReferenceId") or ""),
                carrier=str(carrier),
                tracking_number=str(package.get("trackingNumber") or ""),
                items=items,
            ))
        return found


def money(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value["Amount"])) if isinstance(value, dict) else None
    except (KeyError, ArithmeticError, ValueError):
        return None
