"""Orders API 2026-01-01: the order in the newer shape (datasets by includedData), searchOrders."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from ..core import paging
from ..core.catalogue import SALES_CHANNELS, money
from ..core.errors import bad_request
from ..core.timefmt import iso, parse_time
from .records import MODEL_2026, OrderItem, OrderRecord

FULFILLMENT_STATUS = {
    "Pending": "PENDING",
    "Unshipped": "UNSHIPPED",
    "PartiallyShipped": "PARTIALLY_SHIPPED",
    "Shipped": "SHIPPED",
    "Canceled": "CANCELLED",
}
SERVICE_LEVELS = {
    "Standard": "STANDARD",
    "Expedited": "EXPEDITED",
    "SecondDay": "SECOND_DAY",
    "NextDay": "NEXT_DAY",
}


def _money(amount: Decimal, record: OrderRecord) -> dict:
    return {"amount": money(amount), "currencyCode": record.marketplace.currency}


def _window(start: datetime, end: datetime) -> dict:
    return {"earliestDateTime": iso(start), "latestDateTime": iso(end)}


def order(record: OrderRecord, included: set[str]) -> dict:
    market = record.marketplace
    doc: dict = {
        "orderId": record.order_id,
        "createdTime": iso(record.purchased_at),
        "lastUpdatedTime": iso(record.updated_at),
        "programs": [
            p
            for p, on in (
                ("PRIME", record.is_prime),
                ("AMAZON_BUSINESS", record.is_business),
                ("IN_STORE_PICK_UP", record.store_pickup),
            )
            if on
        ],
        "salesChannel": {
            "channelName": "AMAZON",
            "marketplaceId": market.marketplace_id,
            "marketplaceName": SALES_CHANNELS[market.code],
        },
        "orderItems": [_item(record, item, included) for item in record.items],
    }
    if record.seller_order_id:
        doc["orderAliases"] = [{"aliasId": record.seller_order_id, "aliasType": "SELLER_ORDER_ID"}]
    if "RECIPIENT" in included:  # without a Restricted Data Token: no name, street or phone
        ship_to = record.ship_to
        doc["recipient"] = {
            "deliveryAddress": {
                "city": ship_to["City"],
                "stateOrRegion": ship_to.get("StateOrProvinceCode", ""),
                "postalCode": ship_to["PostalCode"],
                "countryCode": ship_to["CountryCode"],
            }
        }
    if "PROCEEDS" in included and record.status != "Pending":
        total = sum(
            (i.unit_price * i.quantity + i.shipping_price for i in record.items), Decimal(0)
        )
        doc["proceeds"] = {"grandTotal": _money(total, record)}
    if "FULFILLMENT" in included:
        doc["fulfillment"] = {
            "fulfillmentStatus": FULFILLMENT_STATUS[record.status],
            "fulfilledBy": "MERCHANT",
            "fulfillmentServiceLevel": SERVICE_LEVELS[record.service_level],
            "shipByWindow": _window(record.earliest_ship, record.latest_ship),
            "deliverByWindow": _window(record.earliest_delivery, record.latest_delivery),
        }
    if "PACKAGES" in included:
        doc["packages"] = [_package(record, p) for p in record.packages.values()]
    return doc


def _item(record: OrderRecord, item: OrderItem, included: set[str]) -> dict:
    doc: dict = {
        "orderItemId": item.order_item_id,
        "quantityOrdered": item.quantity,
        "product": {
            "asin": item.asin,
            "title": item.title,
            "sellerSku": item.sku,
            "condition": {"conditionType": "NEW", "conditionSubtype": "NEW"},
        },
    }
    if record.status != "Pending":
        doc["product"]["price"] = {"unitPrice": _money(item.unit_price, record)}
    if "PROCEEDS" in included and record.status != "Pending":
        subtotal = item.unit_price * item.quantity
        doc["proceeds"] = {
            "proceedsTotal": _money(subtotal, record),
            "breakdowns": [{"type": "ITEM", "subtotal": _money(subtotal, record)}],
        }
    if "CANCELLATION" in included and item.cancel_requested:
        doc["cancellation"] = {
            "cancellationRequest": {"requester": "BUYER", "cancelReason": item.cancel_requested}
        }
    if "FULFILLMENT" in included:
        fulfillment: dict = {
            "quantityFulfilled": item.shipped,
            "quantityUnfulfilled": 0
            if record.status == "Canceled"
            else item.quantity - item.shipped,
            "packing": {
                "serialNumberRequirement": {
                    "requirementType": "REQUIRED" if item.serial_required else "NOT_REQUIRED"
                }
            },
        }
        if item.gift_message:
            fulfillment["packing"]["giftOption"] = {"giftMessage": item.gift_message}
        if item.signature_required:
            fulfillment["shipping"] = {
                "shippingConstraints": {"signatureConfirmation": "MANDATORY"}
            }
        doc["fulfillment"] = fulfillment
    return doc


def _package(record: OrderRecord, package: dict) -> dict:
    return {
        "packageReferenceId": package["packageReferenceId"],
        "createdTime": package["at"],
        "packageStatus": {"status": "SHIPPED"},
        "carrier": package["carrierName"] or package["carrierCode"],
        "shipTime": package["shipDate"],
        **({"shippingService": package["shippingMethod"]} if package["shippingMethod"] else {}),
        "trackingNumber": package["trackingNumber"],
        "packageItems": [
            {"orderItemId": item_id, "quantity": n} for item_id, n in package["items"].items()
        ],
    }


def included_data(values: dict) -> set[str]:
    return set(values.get("includedData", []))


def get_order(record: OrderRecord, query: dict) -> dict:
    values, problems = MODEL_2026.check_query("getOrder", query)
    if problems:
        raise bad_request(problems[0], "; ".join(problems[1:]))
    return {"order": order(record, included_data(values))}


def search_orders(records: list[OrderRecord], query: dict, now: datetime, lag: int) -> dict:
    """searchOrders: like v0's getOrders, in the newer shape and parameter names."""
    values, problems = MODEL_2026.check_query("searchOrders", query)
    if problems:
        raise bad_request(problems[0], "; ".join(problems[1:]))
    created = "createdAfter" in values
    if created == ("lastUpdatedAfter" in values):
        raise bad_request("Provide exactly one of createdAfter and lastUpdatedAfter.")
    if (created and {"lastUpdatedAfter", "lastUpdatedBefore"} & set(values)) or (
        not created and "createdBefore" in values
    ):
        raise bad_request("Creation and update time filters cannot be combined.")
    kind = "created" if created else "lastUpdated"
    after = parse_time(values[f"{kind}After"], f"{kind}After")
    before = parse_time(values.get(f"{kind}Before"), f"{kind}Before")
    if before is not None and (before < after or before > now - timedelta(minutes=2)):
        raise bad_request(
            f"{kind}Before must be equal to or after {kind}After and at least two minutes "
            "before the time of the request."
        )
    before = before or now - timedelta(seconds=lag)
    size = values.get("maxResultsPerPage", 100)
    if not 1 <= size <= 100:
        raise bad_request("maxResultsPerPage must be between 1 and 100.")
    names = ("marketplaceIds", "fulfillmentStatuses", "fulfilledBy", f"{kind}After")
    fingerprint = paging.fingerprint({k: values.get(k) for k in (*names, f"{kind}Before")})
    position = None
    if values.get("paginationToken"):
        *position, bound = paging.read_page_token(
            values["paginationToken"], fingerprint, ("stamp", "id", "before"), "paginationToken"
        )
        before = parse_time(bound, "paginationToken")

    def stamp(r: OrderRecord) -> datetime:
        return r.purchased_at if created else r.updated_at

    def wanted(r: OrderRecord) -> bool:
        return (
            after <= stamp(r) <= before
            and r.marketplace.marketplace_id
            in values.get("marketplaceIds", [r.marketplace.marketplace_id])
            and FULFILLMENT_STATUS[r.status]
            in values.get("fulfillmentStatuses", [FULFILLMENT_STATUS[r.status]])
            and "MERCHANT" in values.get("fulfilledBy", ["MERCHANT"])
        )

    matching = sorted((r for r in records if wanted(r)), key=lambda r: (stamp(r), r.order_id))
    if position is not None:
        matching = [r for r in matching if [iso(stamp(r)), r.order_id] > position]
    page = matching[:size]
    answer: dict = {
        "orders": [order(r, included_data(values)) for r in page],
        f"{kind}Before": iso(before),
    }
    if len(matching) > size:
        last = page[-1]
        answer["pagination"] = {
            "nextToken": paging.page_token(
                {"stamp": iso(stamp(last)), "id": last.order_id, "before": iso(before)},
                fingerprint,
            )
        }
    return answer
