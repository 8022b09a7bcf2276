"""Orders API v0: the order and its items in v0's shape, and getOrders' filters and pages."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from ..core import paging
from ..core.catalogue import SALES_CHANNELS, money
from ..core.errors import bad_request
from ..core.timefmt import iso, parse_time
from .records import MODEL_V0, PENDING, OrderItem, OrderRecord

STATUSES = MODEL_V0.document["definitions"]["Order"]["properties"]["OrderStatus"]["enum"]
SHIP_SERVICE_LEVELS = {
    "Standard": "Std {c} Dom",
    "Expedited": "Exp {c} Dom",
    "SecondDay": "Second {c} Dom",
    "NextDay": "Next {c} Dom",
}


def _money(amount: Decimal, record: OrderRecord) -> dict:
    return {"CurrencyCode": record.marketplace.currency, "Amount": money(amount)}


def restricted_address(ship_to: dict) -> dict:
    """What Amazon shows of the buyer's address without a Restricted Data Token (no name,
    street or phone): enough to pick a service, not to write a label."""
    return {
        "City": ship_to["City"],
        "StateOrRegion": ship_to.get("StateOrProvinceCode", ""),
        "PostalCode": ship_to["PostalCode"],
        "CountryCode": ship_to["CountryCode"],
    }


def order(record: OrderRecord) -> dict:
    market = record.marketplace
    doc = {
        "AmazonOrderId": record.order_id,
        "PurchaseDate": iso(record.purchased_at),
        "LastUpdateDate": iso(record.updated_at),
        "OrderStatus": record.status,
        "FulfillmentChannel": "MFN",
        "SalesChannel": SALES_CHANNELS[market.code],
        "ShipServiceLevel": SHIP_SERVICE_LEVELS[record.service_level].format(c=market.code),
        "NumberOfItemsShipped": record.units_shipped,
        "NumberOfItemsUnshipped": record.units_unshipped,
        "PaymentMethod": record.payment_method,
        "PaymentMethodDetails": [
            "CashOnDelivery" if record.payment_method == "COD" else "Standard"
        ],
        "MarketplaceId": market.marketplace_id,
        "ShipmentServiceLevelCategory": record.service_level,
        "OrderType": "StandardOrder",
        "EarliestShipDate": iso(record.earliest_ship),
        "LatestShipDate": iso(record.latest_ship),
        "EarliestDeliveryDate": iso(record.earliest_delivery),
        "LatestDeliveryDate": iso(record.latest_delivery),
        "IsBusinessOrder": record.is_business,
        "IsPrime": record.is_prime,
        "IsPremiumOrder": False,
        "IsGlobalExpressEnabled": False,
        "IsReplacementOrder": False,
        "IsSoldByAB": False,
        "IsISPU": record.store_pickup,
        "IsAccessPointOrder": False,
        "FulfillmentInstruction": {"FulfillmentSupplySourceId": record.location_id},
        "ShippingAddress": restricted_address(record.ship_to),
        "AutomatedShippingSettings": {"HasAutomatedShippingSettings": False},
        "HasRegulatedItems": False,
    }
    if record.status != PENDING:  # Amazon shows no total before payment is authorized
        doc["OrderTotal"] = _money(sum((_item_total(i) for i in record.items), Decimal(0)), record)
    if record.seller_order_id:
        doc["SellerOrderId"] = record.seller_order_id
    return doc


def _item_total(item: OrderItem) -> Decimal:
    return item.unit_price * item.quantity + item.shipping_price - item.promotion_discount


def order_item(record: OrderRecord, item: OrderItem) -> dict:
    doc = {
        "ASIN": item.asin,
        "SellerSKU": item.sku,
        "OrderItemId": item.order_item_id,
        "Title": item.title,
        "QuantityOrdered": item.quantity,
        "QuantityShipped": item.shipped,
        "ProductInfo": {"NumberOfItems": "1"},
        "ConditionId": "New",
        "ConditionSubtypeId": "New",
        "SerialNumberRequired": item.serial_required,
        "IsTransparency": False,
    }
    if record.store_pickup and record.store_id:
        doc["StoreChainStoreId"] = record.store_id
    if item.signature_required:
        doc["ShippingConstraints"] = {"SignatureConfirmation": "MANDATORY"}
    if item.cancel_requested:
        doc["BuyerRequestedCancel"] = {
            "IsBuyerRequestedCancel": "true",
            "BuyerCancelReason": item.cancel_requested,
        }
    if record.status == PENDING:  # no pricing, taxes, shipping or gift status while Pending
        return doc
    rate = record.marketplace.tax_rate
    price = item.unit_price * item.quantity
    doc |= {
        "ItemPrice": _money(price, record),
        "ItemTax": _money(price * rate, record),
        "ShippingPrice": _money(item.shipping_price, record),
        "ShippingTax": _money(item.shipping_price * rate, record),
        "PromotionDiscount": _money(item.promotion_discount, record),
        "PromotionDiscountTax": _money(Decimal(0), record),
        "IsGift": "true" if item.gift_message else "false",
    }
    if record.payment_method == "COD":
        doc["CODFee"] = _money(Decimal(0), record)
    return doc


# --- getOrders ------------------------------------------------------------------------------------

LIST_FILTERS = (
    "MarketplaceIds",
    "CreatedAfter",
    "CreatedBefore",
    "LastUpdatedAfter",
    "LastUpdatedBefore",
    "OrderStatuses",
    "FulfillmentChannels",
    "PaymentMethods",
    "BuyerEmail",
    "SellerOrderId",
    "EasyShipShipmentStatuses",
    "AmazonOrderIds",
    "ActualFulfillmentSupplySourceId",
    "IsISPU",
    "StoreChainStoreId",
)


def get_orders(records: list[OrderRecord], query: dict, now: datetime, lag: int) -> dict:
    """getOrders: the orders matching the filters, oldest first, MaxResultsPerPage at a time.
    Without an explicit ...Before, orders changed in the last `lag` seconds are not listed yet."""
    values, problems = MODEL_V0.check_query("getOrders", query)
    if problems:
        raise bad_request(problems[0], "; ".join(problems[1:]))
    created = "CreatedAfter" in values
    if created == ("LastUpdatedAfter" in values):
        raise bad_request("Exactly one of CreatedAfter and LastUpdatedAfter is required.")
    if created and {"LastUpdatedAfter", "LastUpdatedBefore"} & set(values):
        raise bad_request("LastUpdatedAfter and LastUpdatedBefore cannot be set with CreatedAfter.")
    if not created and "CreatedBefore" in values:
        raise bad_request("CreatedBefore cannot be set with LastUpdatedAfter.")
    if "SellerOrderId" in values and {
        "FulfillmentChannels",
        "OrderStatuses",
        "PaymentMethods",
        "LastUpdatedAfter",
        "LastUpdatedBefore",
        "BuyerEmail",
    } & set(values):
        raise bad_request("With SellerOrderId, only marketplace and creation dates may be set.")
    kind = "Created" if created else "LastUpdated"
    after = parse_time(values[f"{kind}After"], f"{kind}After")
    before = parse_time(values.get(f"{kind}Before"), f"{kind}Before")
    if before is not None:
        if before < after:
            raise bad_request(f"{kind}Before must be equal to or after {kind}After.")
        if before > now - timedelta(minutes=2):
            raise bad_request(f"{kind}Before must be at least two minutes before the current time.")
    else:
        before = now - timedelta(seconds=lag)
    size = values.get("MaxResultsPerPage", 100)
    if not 1 <= size <= 100:
        raise bad_request("MaxResultsPerPage must be between 1 and 100.")
    for status in values.get("OrderStatuses", []):
        if status not in STATUSES:
            raise bad_request(
                f"Invalid input '{status}' for parameter 'OrderStatuses': "
                f"must be one of {', '.join(STATUSES)}."
            )
    fingerprint = paging.fingerprint({k: values.get(k) for k in LIST_FILTERS})
    position = None
    if values.get("NextToken"):  # the next page of the same query, up to the same bound
        *position, bound = paging.read_page_token(
            values["NextToken"], fingerprint, ("stamp", "id", "before"), "NextToken"
        )
        before = parse_time(bound, "NextToken")

    def stamp(r: OrderRecord) -> datetime:
        return r.purchased_at if created else r.updated_at

    matching = sorted(
        (r for r in records if after <= stamp(r) <= before and _matches(r, values)),
        key=lambda r: (stamp(r), r.order_id),
    )
    if position is not None:
        matching = [r for r in matching if [iso(stamp(r)), r.order_id] > position]
    page = matching[:size]
    payload = {"Orders": [order(r) for r in page], f"{kind}Before": iso(before)}
    if len(matching) > size:
        last = page[-1]
        payload["NextToken"] = paging.page_token(
            {"stamp": iso(stamp(last)), "id": last.order_id, "before": iso(before)}, fingerprint
        )
    return {"payload": payload}


def _matches(record: OrderRecord, values: dict) -> bool:
    checks = {
        "MarketplaceIds": lambda v: record.marketplace.marketplace_id in v,
        "OrderStatuses": lambda v: record.status in v,
        "FulfillmentChannels": lambda v: "MFN" in v,
        "PaymentMethods": lambda v: record.payment_method in v,
        "BuyerEmail": lambda v: record.buyer_email == v,
        "SellerOrderId": lambda v: record.seller_order_id == v,
        "EasyShipShipmentStatuses": lambda v: False,  # only Easy Ship orders have one
        "AmazonOrderIds": lambda v: record.order_id in v,
        "ActualFulfillmentSupplySourceId": lambda v: record.location_id == v,
        "IsISPU": lambda v: record.store_pickup == v,
        "StoreChainStoreId": lambda v: record.store_id == v,
    }
    return all(check(values[name]) for name, check in checks.items() if name in values)
