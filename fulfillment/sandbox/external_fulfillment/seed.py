"""Seeded SmartConnect shipments: deterministic from a seed number, dated relative to now, valid
against the model.

Programmes are told apart the way the guide (003 §2) says: Easy Ship = MFN + MARKETPLACE,
Self-Ship = MFN + SELF, Seller Flex = FBA + MARKETPLACE.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from ..core.catalogue import (
    CATALOGUE,
    LOCATIONS,
    PEOPLE,
    PRODUCTS,
    Marketplace,
    Product,
    amazon_order_id,
    money,
    unit_price,
)
from ..core.catalogue import marketplace as find_marketplace
from ..core.timefmt import iso
from ..documents import INVOICE_SHAPES, LABEL_FORMATS

PROGRAMMES = {
    "easy_ship": ("MFN", "MARKETPLACE"),
    "self_ship": ("MFN", "SELF"),
    "seller_flex": ("FBA", "MARKETPLACE"),
}


GIFT_MESSAGES = (
    "Happy birthday! Lots of love, Meera",
    "Congratulations on the new home - from all of us",
    "Alles Gute zum Geburtstag!",
)


@dataclass
class SeededShipment:
    """An Amazon `Shipment` document plus the sandbox's choices for the documents it will serve."""

    doc: dict
    invoice_shape: str
    label_format: str
    extras: dict = field(default_factory=dict)


def _amount(value: Decimal, currency: str) -> dict:
    return {"value": money(value), "currencyCode": currency}


def _breakup(base: Decimal, discount: Decimal, currency: str) -> dict:
    return {
        "baseAmount": _amount(base, currency),
        "discountAmount": _amount(discount, currency),
        "netAmount": _amount(base - discount, currency),
    }


def charge(charge_type: str, base: Decimal, discount: Decimal, market: Marketplace) -> dict:
    net = base - discount
    tax = (net * market.tax_rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    tax_discount = (discount * market.tax_rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    tax_charge = _breakup(tax + tax_discount, tax_discount, market.currency)
    return {
        "chargeType": charge_type,
        "baseCharge": _breakup(base, discount, market.currency),
        "taxBreakup": [
            {"type": market.tax_type, "rate": str(market.tax_rate), "charge": tax_charge}
        ],
        "totalTax": {"type": "TOTAL", "rate": str(market.tax_rate), "charge": tax_charge},
        "totalCharge": _breakup(
            base + tax + tax_discount, discount + tax_discount, market.currency
        ),
    }


def _address(rng: random.Random, market: Marketplace) -> dict:
    name, line1, line2, city, state, postal, phone = rng.choice(PEOPLE[market.code])
    address = {
        "name": name,
        "addressLine1": line1,
        "city": city,
        "state": state,
        "postalCode": postal,
        "countryCode": market.code,
        "phoneNumber": phone,
        "addressType": rng.choice(["RESIDENTIAL", "COMMERCIAL"]),
    }
    if line2:
        address["addressLine2"] = line2
    return address


def _location_address(location_id: str, market: Marketplace) -> dict:
    return (
        {
            "name": f"Packbench {location_id}",
            "addressLine1": "Plot 7, Logistics Park",
            "city": "Bhiwandi",
            "postalCode": "421302",
            "countryCode": "IN",
            "addressType": "COMMERCIAL",
        }
        if market.code == "IN"
        else {
            "name": f"Packbench {location_id}",
            "addressLine1": "1 Warehouse Way",
            "postalCode": "10001",
            "countryCode": market.code,
            "addressType": "COMMERCIAL",
        }
    )


def new_shipment_id(rng: random.Random, taken: set[str]) -> str:
    alphabet = string.ascii_letters + string.digits
    while True:
        candidate = rng.choice(string.ascii_uppercase) + "".join(
            rng.choice(alphabet) for _ in range(8)
        )
        if candidate not in taken:
            taken.add(candidate)
            return candidate


def _dimension(value, unit="CM") -> dict:
    return {"value": str(value), "dimensionUnit": unit}


def _recommended_packages(lines: list[tuple[str, Product, int]]) -> list[dict]:
    packages, loose = [], []
    for line_id, product, units in lines:
        if product.pieces > 1:  # one carton per piece of each unit
            for _ in range(units * product.pieces):
                length, width, height = product.dims_cm
                packages.append(
                    {
                        "lineItems": [{"lineItemId": line_id}],
                        "weight": {
                            "value": str(product.grams // product.pieces + 500),
                            "weightUnit": "G",
                        },
                        "dimensions": {
                            "length": _dimension(length + 4),
                            "width": _dimension(width + 4),
                            "height": _dimension(height // product.pieces + 4),
                        },
                    }
                )
        else:
            loose.append((line_id, product, units))
    if loose:
        grams = sum(p.grams * u for _, p, u in loose)
        length = max(p.dims_cm[0] for _, p, _ in loose) + 4
        width = max(p.dims_cm[1] for _, p, _ in loose) + 4
        height = sum(p.dims_cm[2] * u for _, p, u in loose) + 4
        packages.append(
            {
                "lineItems": [{"lineItemId": line_id} for line_id, _, _ in loose],
                "weight": {"value": str(int(grams * 1.1) + 50), "weightUnit": "G"},
                "dimensions": {
                    "length": _dimension(length),
                    "width": _dimension(width),
                    "height": _dimension(height),
                },
            }
        )
    return packages


def build_shipment(
    rng: random.Random,
    *,
    now: datetime,
    taken_ids: set[str],
    programme: str = "easy_ship",
    marketplace: str = "IN",
    location_id: str = LOCATIONS[0],
    skus: list[str] | None = None,
    units: list[int] | int | None = None,
    gift: bool = False,
    shipment_type: str = "NEW",
    priority: str | None = None,
    ship_by_hours: float | None = None,
    recommended_packages: bool = True,
    cash_on_delivery: bool = False,
    status: str = "ACCEPTED",
    invoice_shape: str | None = None,
    label_format: str | None = None,
    shipment_id: str | None = None,
) -> SeededShipment:
    """One shipment of the given programme and shape; unspecified details come from `rng`."""
    if programme not in PROGRAMMES:
        raise ValueError(f"programme must be one of {', '.join(PROGRAMMES)}")
    market = find_marketplace(marketplace)
    if shipment_type not in {"NEW", "EXCHANGE", "REPLACEMENT"}:
        raise ValueError("shipment_type must be NEW, EXCHANGE or REPLACEMENT")
    channel, shipping_type = PROGRAMMES[programme]
    skus = skus or [rng.choice(CATALOGUE).sku]
    unknown = [sku for sku in skus if sku not in PRODUCTS]
    if unknown:
        raise ValueError(f"unknown SKU(s) {', '.join(unknown)}; known: {', '.join(PRODUCTS)}")
    if units is None:
        units = [1] * len(skus)
    elif isinstance(units, int):
        units = [units] * len(skus)
    if len(units) != len(skus) or min(units) < 1:
        raise ValueError("units must give a positive count for every SKU")

    shipment_id = shipment_id or new_shipment_id(rng, taken_ids)
    taken_ids.add(shipment_id)
    created = now - timedelta(minutes=rng.randrange(20, 600))
    ship_by = now + timedelta(
        hours=ship_by_hours if ship_by_hours is not None else rng.uniform(-20, 72)
    )
    priority = priority or (
        "HIGH" if ship_by - now < timedelta(hours=12) else rng.choice(["HIGH", "LOW", "LOW"])
    )
    border_rules = market.code == "AE"  # customs data is asked for where the marketplace needs it

    line_items, lines, shipment_total = [], [], Decimal(0)
    for index, (sku, count) in enumerate(zip(skus, units, strict=True), start=1):
        product = PRODUCTS[sku]
        line_id = str(index)
        lines.append((line_id, product, count))
        price = unit_price(product, market) * count
        discount = (price * Decimal(rng.choice([0, 0, 5, 10])) / 100).quantize(Decimal("0.01"))
        charges = [charge("PRODUCT", price, discount, market)]
        shipment_total += price - discount
        item = {
            "shipmentLineItemId": line_id,
            "merchantSku": sku,
            "numberOfUnits": count,
            "pieceType": "MULTIPLE" if product.pieces > 1 else "SINGLE",
            "hsnCode": product.hsn,
            "complianceAttributes": {
                "serialNumberRequirement": "REQUIRED" if product.serial else "DISALLOWED",
                "hazmatLabelsRequirement": "REQUIRED" if product.hazmat else "DISALLOWED",
                "countryOfOriginRequirement": "REQUIRED" if border_rules else "DISALLOWED",
                "itemValueRequirement": "REQUIRED" if border_rules else "DISALLOWED",
            },
            "giftAttributes": {
                "giftWrapRequirement": "DISALLOWED",
                "giftMessagePresence": "ABSENT",
            },
            "charges": charges,
        }
        if product.hazmat:
            item["hazmatLabels"] = list(product.hazmat)
        if product.pieces > 1:
            item["customAttributes"] = [
                {"key": "numberOfPieces", "type": "INTEGER", "value": str(product.pieces)}
            ]
        if border_rules:
            item["recommendedCountryOfOrigin"] = product.origin
            item["recommendedCurrencyCode"] = market.currency
        if gift and index == 1:
            wrap = Decimal(40) * market.per_inr if market.code == "IN" else Decimal("4.99")
            charges.append(charge("GIFT_WRAP", wrap, Decimal(0), market))
            shipment_total += wrap
            item["giftAttributes"] = {
                "giftWrapRequirement": "REQUIRED",
                "giftWrapLabel": "Birthday wrap",
                "giftMessagePresence": "PRESENT",
                "giftMessage": {"format": "PLAIN_TEXT", "content": rng.choice(GIFT_MESSAGES)},
            }
        line_items.append(item)

    shipping_fee = (
        Decimal(0)
        if rng.random() < 0.6
        else (Decimal(40) if market.code == "IN" else Decimal("3.99"))
    )
    charges = [charge("TOTAL", shipment_total + shipping_fee, Decimal(0), market)]
    if shipping_fee:
        charges.insert(0, charge("SHIPPING", shipping_fee, Decimal(0), market))

    has_invoice = not (programme == "easy_ship" and not market.has_easy_ship_invoice)
    tax_invoice = has_invoice and market.code in {"IN", "AE"}
    custom = [c for c in ("PRIME", "FASTTRACK") if rng.random() < 0.3]
    shipping_info = {
        "recommendedShipMethod": "SELF_STANDARD" if shipping_type == "SELF" else market.ship_method,
        "expectedShippingDateTimeInUTC": iso(ship_by),
        "shipToAddress": _address(rng, market),
        "shippingType": shipping_type,
    }
    if recommended_packages:
        shipping_info["recommendedPackages"] = _recommended_packages(lines)
    shipment_info = {
        "shipmentType": shipment_type,
        "numberOfUnits": sum(units),
        "priority": priority,
        "buyerOrderId": amazon_order_id(rng, market),
        "orderStatesEligibleForRejection": [
            "ACCEPTED",
            "CONFIRMED",
            "PACKAGE_CREATED",
            "PICKUP_SLOT_RETRIEVED",
        ],
        "orderPlacedTimestamp": iso(created - timedelta(minutes=rng.randrange(5, 90))),
        "processingSource": "INTERNAL_PLATFORM",
        "paymentMethod": "CASH_ON_DELIVERY" if cash_on_delivery else "PREPAID",
    }
    if shipment_type != "NEW":
        original_market_id = market.marketplace_id
        shipment_info["originalShipmentInfo"] = {
            "id": new_shipment_id(rng, taken_ids),
            "locationId": location_id,
            "marketplaceAttributes": {"marketplaceId": original_market_id, "channelName": channel},
            "originalLineItems": [
                {
                    "originalSku": sku
                    if shipment_type == "REPLACEMENT"
                    else rng.choice(CATALOGUE).sku,
                    "replacingSku": sku,
                    "charges": [charge("PRODUCT", Decimal(0), Decimal(0), market)],
                }
                for sku in skus
            ],
        }
    doc = {
        "id": shipment_id,
        "locationId": location_id,
        "marketplaceAttributes": {
            "marketplaceId": market.marketplace_id,
            "channelName": channel,
            "merchantId": "A2SANDBOXMERCH1",
            "customAttributes": custom,
        },
        "shipmentInfo": shipment_info,
        "partyInfoList": [
            {
                "partyId": location_id,
                "partyType": "SHIP_FROM_PARTY",
                "address": _location_address(location_id, market),
            },
            {
                "partyId": "A2SANDBOXMERCH1",
                "partyType": "SELLING_PARTY",
                **(
                    {"taxInfo": {"type": "GST", "number": "27AAPCS1234F1Z5"}}
                    if market.code == "IN"
                    else {"taxInfo": {"type": "VAT", "number": f"{market.code}123456789"}}
                    if market.code in {"DE", "AE"}
                    else {}
                ),
            },
        ],
        "shipmentRequirements": {
            "pSlip": {
                "requirement": "NOT_REQUIRED" if tax_invoice else "REQUIRED",
                "status": "NOT_GENERATED",
            },
            "invoice": {
                "requirement": "REQUIRED" if tax_invoice else "NOT_REQUIRED",
                "status": "PENDING" if tax_invoice else "NOT_AVAILABLE",
            },
        },
        "charges": charges,
        "status": status,
        "lineItems": line_items,
        "shippingInfo": shipping_info,
        "creationDateTime": iso(created),
        "lastUpdatedDateTime": iso(created + timedelta(minutes=rng.randrange(1, 15))),
        "earliestPackDateTime": iso(created),
    }
    multi_piece = any(p.pieces > 1 for _, p, _ in lines)
    return SeededShipment(
        doc=doc,
        invoice_shape=invoice_shape or rng.choice(INVOICE_SHAPES),
        # multi-piece shipments get ZPL only (guide 003 §3.4 step 6)
        label_format=label_format
        or ("ZPL" if multi_piece else rng.choices(LABEL_FORMATS, weights=(6, 3, 2))[0]),
        extras={"has_invoice": has_invoice, "programme": programme},
    )


# Shapes every seed contains (so a demo and the tests always meet each case), then random ones.
_COVERAGE = (
    {
        "programme": "easy_ship",
        "marketplace": "IN",
        "skus": ["MILTON-THERMO-1000-SS"],
        "priority": "HIGH",
        "ship_by_hours": -6,
    },
    {
        "programme": "easy_ship",
        "marketplace": "IN",
        "skus": ["SPACES-BEDSHEET-QN-BLU", "PNG-9780143450191"],
        "units": [2, 3],
        "gift": True,
    },
    {
        "programme": "easy_ship",
        "marketplace": "AE",
        "skus": ["SMX-GA54-128-BLK"],
        "priority": "HIGH",
    },
    {
        "programme": "easy_ship",
        "marketplace": "DE",
        "skus": ["DAVIDOFF-CW-EDT-100"],
        "priority": "LOW",
        "ship_by_hours": 30,
    },
    {
        "programme": "self_ship",
        "marketplace": "IN",
        "skus": ["WKFLD-DT6-OAK"],
        "label_format": "ZPL",
    },
    {
        "programme": "self_ship",
        "marketplace": "US",
        "skus": ["LEGO-60337-CITY", "ASICS-GELCONT-42-NVY"],
        "units": [1, 2],
    },
    {
        "programme": "self_ship",
        "marketplace": "DE",
        "skus": ["SKYBAG-LAPTOP-15-GRY"],
        "shipment_type": "EXCHANGE",
    },
    {"programme": "seller_flex", "marketplace": "IN", "skus": ["BOSCH-GSB-180-LI-KIT"], "units": 2},
    {
        "programme": "seller_flex",
        "marketplace": "IN",
        "skus": ["TPLINK-ARCHER-C6"],
        "shipment_type": "REPLACEMENT",
    },
    {"programme": "seller_flex", "marketplace": "AE", "skus": ["HERO-SPRINT-MTB-27"]},
    {
        "programme": "seller_flex",
        "marketplace": "US",
        "skus": ["ANKER-PB-20K-BLK"],
        "gift": True,
        "ship_by_hours": -2,
    },
    {
        "programme": "easy_ship",
        "marketplace": "IN",
        "skus": ["PRESTIGE-MG-750W"],
        "cash_on_delivery": True,
        "location_id": LOCATIONS[1],
        "recommended_packages": False,
    },
)
_RANDOM_MARKETS = {
    "easy_ship": ("IN", "IN", "AE", "DE"),
    "self_ship": ("IN", "US", "DE"),
    "seller_flex": ("IN", "IN", "AE", "US"),
}


def seed_shipments(seed: int, count: int, now: datetime | None = None) -> list[SeededShipment]:
    """`count` shipments, the same for the same seed (except their dates, which follow `now`)."""
    now = now or datetime.now(UTC)
    rng = random.Random(seed)
    taken: set[str] = set()
    shipments = []
    for index in range(count):
        if index < len(_COVERAGE):
            shape = dict(_COVERAGE[index])
        else:
            programme = rng.choice(
                ["easy_ship", "easy_ship", "self_ship", "seller_flex", "seller_flex"]
            )
            lines = rng.choice([1, 1, 1, 2, 3])
            skus = rng.sample([p.sku for p in CATALOGUE if p.pieces == 1], lines)
            shape = {
                "programme": programme,
                "marketplace": rng.choice(_RANDOM_MARKETS[programme]),
                "skus": skus,
                "units": [rng.choice([1, 1, 1, 2, 4]) for _ in skus],
                "gift": rng.random() < 0.1,
                "recommended_packages": rng.random() < 0.85,
                "cash_on_delivery": rng.random() < 0.1,
                "location_id": LOCATIONS[1] if rng.random() < 0.25 else LOCATIONS[0],
            }
        shipments.append(build_shipment(rng, now=now, taken_ids=taken, **shape))
    return shipments
