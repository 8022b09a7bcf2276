"""Seeded MFN orders: deterministic from the seed number, dated relative to now.

Same seller as the SmartConnect seed (core.catalogue): the same locations, marketplaces and
products. Every seed holds the shapes a station must handle (see COVERAGE), then random ones.
"""

from __future__ import annotations

import hashlib
import random
from datetime import datetime, timedelta
from decimal import Decimal

from ..core.catalogue import (
    CATALOGUE,
    LOCATIONS,
    PEOPLE,
    PRODUCTS,
    TITLES,
    amazon_order_id,
    asin,
    marketplace,
    unit_price,
)
from .records import PENDING, UNSHIPPED, OrderItem, OrderRecord

DELIVERY_DAYS = {"Standard": (2, 4), "Expedited": (1, 3), "SecondDay": (2, 2), "NextDay": (1, 1)}
SIGNATURE_FROM_INR = 20000  # items worth this much are delivered against a signature
GIFT_MESSAGES = ("Happy birthday, Sam!", "Congratulations on the new job", "Frohe Weihnachten!")

COVERAGE = (
    {"marketplace": "US", "skus": ["LEGO-60337-CITY"]},
    {
        "marketplace": "US",
        "skus": ["ASICS-GELCONT-42-NVY", "CAMEL-ACRYLIC-24SET", "PNG-9780143450191"],
        "units": [1, 2, 1],
    },
    {"marketplace": "IN", "skus": ["MILTON-THERMO-1000-SS"], "units": 2},  # two boxes
    {"marketplace": "DE", "skus": ["SKYBAG-LAPTOP-15-GRY", "DAVIDOFF-CW-EDT-100"]},
    {"marketplace": "US", "skus": ["TPLINK-ARCHER-C6"], "store_pickup": True},
    {
        "marketplace": "IN",
        "skus": ["BOAT-AIRDOPES-141-BLK", "CAMEL-ACRYLIC-24SET"],
        "units": [1, 2],
        "store_pickup": True,
        "location_id": LOCATIONS[1],
    },
    # payment clears a few minutes after the order is placed (live mode)
    {"marketplace": "US", "skus": ["ANKER-PB-20K-BLK"], "status": PENDING, "placed_minutes_ago": 2},
    {"marketplace": "IN", "skus": ["SMX-GA54-128-BLK"], "prime": True, "service_level": "NextDay"},
    {"marketplace": "US", "skus": ["PRESTIGE-MG-750W"], "ship_by_hours": -5},  # late already
    {"marketplace": "DE", "skus": ["LEGO-60337-CITY"], "gift": True, "location_id": LOCATIONS[1]},
    {"marketplace": "IN", "skus": ["SPACES-BEDSHEET-QN-BLU"], "cash_on_delivery": True},
    {
        "marketplace": "US",
        "skus": ["BOSCH-GSB-180-LI-KIT"],
        "units": 3,
        "service_level": "Expedited",
        "business": True,
    },
    {"marketplace": "DE", "skus": ["PNG-9780143450191"]},
)
# The engine moves these seeded orders on: one partly shipped, one cancelled by its buyer.
PARTLY_SHIPPED_INDEX, CANCELLED_INDEX = 11, 12
_RANDOM_MARKETS = ("US", "US", "IN", "IN", "DE")
_SINGLE_PIECE = tuple(p.sku for p in CATALOGUE if p.pieces == 1)


def _ship_to(rng: random.Random, market_code: str, order_id: str) -> dict:
    name, line1, line2, city, state, postal, phone = rng.choice(PEOPLE[market_code])
    address = {
        "Name": name[:30],
        "AddressLine1": line1,
        "City": city,
        "StateOrProvinceCode": state,
        "PostalCode": postal,
        "CountryCode": market_code,
        "Phone": phone,
        "Email": f"{hashlib.sha1(order_id.encode()).hexdigest()[:12]}@marketplace.amazon.example",
    }
    if line2:
        address["AddressLine2"] = line2
    return address


def build_order(
    rng: random.Random,
    *,
    now: datetime,
    taken_ids: set[str],
    marketplace_code: str = "US",
    location_id: str = LOCATIONS[0],
    skus: list[str] | None = None,
    units: list[int] | int | None = None,
    status: str = UNSHIPPED,
    store_pickup: bool = False,
    service_level: str | None = None,
    ship_by_hours: float | None = None,
    placed_minutes_ago: float | None = None,
    prime: bool | None = None,
    business: bool = False,
    gift: bool = False,
    cash_on_delivery: bool = False,
    order_id: str | None = None,
    seller_order_id: str | None = None,
) -> OrderRecord:
    """One MFN order of the given shape; unspecified details come from `rng`."""
    market = marketplace(marketplace_code)
    if status not in {PENDING, UNSHIPPED}:
        raise ValueError("status must be Pending or Unshipped; move it on through the API")
    skus = skus or [rng.choice(_SINGLE_PIECE)]
    unknown = [sku for sku in skus if sku not in PRODUCTS]
    if unknown:
        raise ValueError(f"unknown SKU(s) {', '.join(unknown)}; known: {', '.join(PRODUCTS)}")
    if units is None:
        units = [1] * len(skus)
    elif isinstance(units, int):
        units = [units] * len(skus)
    if len(units) != len(skus) or min(units) < 1:
        raise ValueError("units must give a positive count for every SKU")
    service_level = service_level or rng.choice(["Standard", "Standard", "Standard", "Expedited"])
    if service_level not in DELIVERY_DAYS:
        raise ValueError(f"service_level must be one of {', '.join(DELIVERY_DAYS)}")
    if location_id not in LOCATIONS:
        raise ValueError(f"location_id must be one of {', '.join(LOCATIONS)}")
    order_id = order_id or amazon_order_id(rng, market)
    if order_id in taken_ids:
        raise ValueError(f"order {order_id} exists already")
    taken_ids.add(order_id)

    minutes = placed_minutes_ago if placed_minutes_ago is not None else rng.uniform(30, 900)
    placed = (now - timedelta(minutes=minutes)).replace(microsecond=0)
    latest_ship = now + timedelta(
        hours=ship_by_hours if ship_by_hours is not None else rng.uniform(4, 60)
    )
    latest_ship = latest_ship.replace(minute=59, second=59, microsecond=0)
    if latest_ship <= placed:  # an order that is late already was placed well before
        placed = latest_ship - timedelta(hours=30)
    low, high = DELIVERY_DAYS[service_level]
    items = []
    for index, (sku, count) in enumerate(zip(skus, units, strict=True)):
        product = PRODUCTS[sku]
        items.append(
            OrderItem(
                order_item_id=str(rng.randrange(10**13, 10**14)),
                sku=sku,
                asin=asin(sku),
                title=TITLES.get(sku, sku),
                quantity=count,
                unit_price=unit_price(product, market),
                shipping_price=Decimal(0) if rng.random() < 0.7 else Decimal("4.99"),
                serial_required=product.serial,
                signature_required=product.price_inr >= SIGNATURE_FROM_INR,
                gift_message=rng.choice(GIFT_MESSAGES) if gift and index == 0 else None,
                grams=product.grams,
            )
        )
    updated = min(now, placed + timedelta(minutes=rng.randrange(1, 20)))
    return OrderRecord(
        order_id=order_id,
        marketplace=market,
        location_id=location_id,
        purchased_at=placed,
        updated_at=updated,
        earliest_ship=placed,
        latest_ship=latest_ship,
        earliest_delivery=latest_ship + timedelta(days=low),
        latest_delivery=latest_ship + timedelta(days=high),
        items=items,
        ship_to=_ship_to(rng, market.code, order_id),
        buyer_email=f"{hashlib.sha1(order_id.encode()).hexdigest()[:12]}@marketplace.amazon.example",
        status=status,
        service_level=service_level,
        is_prime=prime if prime is not None else rng.random() < 0.3,
        is_business=business,
        store_pickup=store_pickup,
        store_id=f"STORE-{location_id}" if store_pickup else None,
        payment_method="COD" if cash_on_delivery else "Other",
        seller_order_id=seller_order_id,
    )


def seed_orders(seed: int, count: int, now: datetime) -> list[OrderRecord]:
    """`count` orders, the same for the same seed (except their dates, which follow `now`)."""
    rng = random.Random(f"orders:{seed}")
    taken: set[str] = set()
    orders = []
    for index in range(count):
        if index < len(COVERAGE):
            shape = dict(COVERAGE[index])
        else:
            skus = rng.sample(_SINGLE_PIECE, rng.choice([1, 1, 2, 3]))
            shape = {
                "marketplace": rng.choice(_RANDOM_MARKETS),
                "skus": skus,
                "units": [rng.choice([1, 1, 1, 2, 3]) for _ in skus],
                "gift": rng.random() < 0.1,
                "location_id": LOCATIONS[1] if rng.random() < 0.25 else LOCATIONS[0],
            }
        shape["marketplace_code"] = shape.pop("marketplace")
        orders.append(build_order(rng, now=now, taken_ids=taken, **shape))
    return orders
