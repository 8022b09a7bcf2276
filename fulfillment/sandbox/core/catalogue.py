"""The seller every imitated API serves: its locations, marketplaces, catalogue and buyers.

Shared by the seeds of every API, so a SmartConnect shipment and an MFN order of the same seed
come from the same warehouses, in the same marketplaces, with the same products.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

LOCATIONS = ("SANDBOX-LOC-1", "SANDBOX-LOC-2")


@dataclass(frozen=True)
class Marketplace:
    code: str
    marketplace_id: str
    currency: str
    per_inr: Decimal  # prices are listed in INR and converted
    tax_type: str
    tax_rate: Decimal
    order_prefix: str
    ship_method: str
    has_easy_ship_invoice: bool


MARKETPLACES = {
    "IN": Marketplace(
        "IN",
        "A21TJRUUN4KGV",
        "INR",
        Decimal(1),
        "IGST",
        Decimal("0.18"),
        "407",
        "ATS_STANDARD",
        True,
    ),
    "US": Marketplace(
        "US",
        "ATVPDKIKX0DER",
        "USD",
        Decimal("0.012"),
        "OTHER",
        Decimal("0.0825"),
        "111",
        "AMZL_US_STD",
        False,
    ),
    "DE": Marketplace(
        "DE",
        "A1PA6795UKMFR9",
        "EUR",
        Decimal("0.011"),
        "VAT",
        Decimal("0.19"),
        "302",
        "AMZL_DE_STD",
        False,
    ),
    "AE": Marketplace(
        "AE",
        "A2VIGQ35RCS4UG",
        "AED",
        Decimal("0.044"),
        "VAT",
        Decimal("0.05"),
        "402",
        "AMZL_AE_STD",
        False,
    ),
}
MARKETPLACE_BY_ID = {m.marketplace_id: m for m in MARKETPLACES.values()}


@dataclass(frozen=True)
class Product:
    sku: str
    grams: int
    dims_cm: tuple[int, int, int]
    price_inr: int
    hsn: str
    serial: bool = False
    hazmat: tuple[str, ...] = ()
    pieces: int = 1
    origin: str = "IN"


CATALOGUE = (
    Product(
        "SMX-GA54-128-BLK",
        210,
        (18, 10, 6),
        32999,
        "85171300",
        serial=True,
        hazmat=("UN3481",),
        origin="VN",
    ),
    Product(
        "BOAT-AIRDOPES-141-BLK", 120, (12, 9, 5), 1299, "85183020", hazmat=("UN3481",), origin="CN"
    ),
    Product("MILTON-THERMO-1000-SS", 480, (30, 9, 9), 899, "96170019"),
    Product("SPACES-BEDSHEET-QN-BLU", 900, (35, 28, 6), 1499, "63041940"),
    Product("WKFLD-DT6-OAK", 38000, (160, 90, 12), 24999, "94036000", pieces=3),
    Product("PNG-9780143450191", 350, (20, 13, 3), 399, "49011010"),
    Product(
        "DAVIDOFF-CW-EDT-100", 420, (15, 10, 8), 3299, "33030050", hazmat=("UN1266",), origin="FR"
    ),
    Product(
        "BOSCH-GSB-180-LI-KIT",
        2100,
        (40, 32, 11),
        6499,
        "84672100",
        serial=True,
        hazmat=("UN3481",),
        origin="MY",
    ),
    Product("LEGO-60337-CITY", 1200, (48, 38, 9), 7999, "95030030", origin="DK"),
    Product("PRESTIGE-MG-750W", 3900, (38, 28, 28), 3799, "85094010", serial=True),
    Product("ASICS-GELCONT-42-NVY", 900, (33, 22, 12), 4499, "64041190", origin="VN"),
    Product("SKYBAG-LAPTOP-15-GRY", 750, (45, 32, 8), 1899, "42021290"),
    Product("HERO-SPRINT-MTB-27", 16500, (140, 25, 75), 13999, "87120010", pieces=2),
    Product("TPLINK-ARCHER-C6", 600, (25, 18, 7), 2499, "85176290", serial=True, origin="CN"),
    Product("ANKER-PB-20K-BLK", 380, (16, 8, 3), 2999, "85076000", hazmat=("UN3480",), origin="CN"),
    Product("CAMEL-ACRYLIC-24SET", 500, (25, 20, 3), 549, "32131000"),
)
PRODUCTS = {p.sku: p for p in CATALOGUE}

PEOPLE = {
    "IN": [
        (
            "Ananya Rao",
            "14, 2nd Cross, Indiranagar",
            "HAL 2nd Stage",
            "Bengaluru",
            "Karnataka",
            "560038",
            "+91 98450 12345",
        ),
        (
            "Rohit Sharma",
            "B-702, Lodha Splendora",
            "Ghodbunder Road",
            "Thane",
            "Maharashtra",
            "400615",
            "+91 98200 44321",
        ),
        (
            "Priya Nair",
            "House 22, Sector 15",
            "Vasundhara",
            "Ghaziabad",
            "Uttar Pradesh",
            "201012",
            "+91 99100 67890",
        ),
        (
            "Karthik Subramanian",
            "Flat 3C, Ashok Towers",
            "T. Nagar",
            "Chennai",
            "Tamil Nadu",
            "600017",
            "+91 94440 11223",
        ),
    ],
    "US": [
        ("Emily Carter", "1420 Pine Street", "Apt 5B", "Seattle", "WA", "98101", "+1 206 555 0147"),
        ("Marcus Johnson", "88 Elm Avenue", "", "Austin", "TX", "78701", "+1 512 555 0199"),
    ],
    "DE": [
        (
            "Lena Fischer",
            "Bergmannstraße 12",
            "3. OG",
            "Berlin",
            "Berlin",
            "10961",
            "+49 30 1234567",
        ),
        ("Jonas Weber", "Leopoldstraße 55", "", "München", "Bayern", "80802", "+49 89 7654321"),
    ],
    "AE": [
        (
            "Omar Al Mansouri",
            "Villa 14, Street 21",
            "Al Barsha 2",
            "Dubai",
            "Dubai",
            "00000",
            "+971 50 123 4567",
        ),
        (
            "Fatima Khan",
            "Apt 1104, Marina Heights",
            "Dubai Marina",
            "Dubai",
            "Dubai",
            "00000",
            "+971 55 765 4321",
        ),
    ],
}

# What a buyer sees of each product (Amazon's item title).
TITLES = {
    "SMX-GA54-128-BLK": "Samsung Galaxy A54 5G (128 GB, Awesome Black)",
    "BOAT-AIRDOPES-141-BLK": "boAt Airdopes 141 True Wireless Earbuds, Bold Black",
    "MILTON-THERMO-1000-SS": "Milton Thermosteel Flip Lid Flask, 1000 ml, Silver",
    "SPACES-BEDSHEET-QN-BLU": "Spaces Cotton Queen Bedsheet with 2 Pillow Covers, Blue",
    "WKFLD-DT6-OAK": "Wakefit Dining Table, 6 Seater, Oak Finish",
    "PNG-9780143450191": "The Psychology of Money (Paperback)",
    "DAVIDOFF-CW-EDT-100": "Davidoff Cool Water Eau de Toilette, 100 ml",
    "BOSCH-GSB-180-LI-KIT": "Bosch GSB 180-LI Cordless Impact Drill Kit",
    "LEGO-60337-CITY": "LEGO City Express Passenger Train 60337",
    "PRESTIGE-MG-750W": "Prestige Iris 750 W Mixer Grinder",
    "ASICS-GELCONT-42-NVY": "ASICS Gel-Contend Running Shoes, Navy, EU 42",
    "SKYBAG-LAPTOP-15-GRY": "Skybags 15.6 inch Laptop Backpack, Grey",
    "HERO-SPRINT-MTB-27": "Hero Sprint 27.5 inch Mountain Bike",
    "TPLINK-ARCHER-C6": "TP-Link Archer C6 AC1200 Dual Band Wi-Fi Router",
    "ANKER-PB-20K-BLK": "Anker PowerCore 20000 mAh Power Bank, Black",
    "CAMEL-ACRYLIC-24SET": "Camel Artist Acrylic Colour Box, 24 Shades",
}
SALES_CHANNELS = {"IN": "Amazon.in", "US": "Amazon.com", "DE": "Amazon.de", "AE": "Amazon.ae"}
# The seller's warehouses as full postal addresses (what a carrier label's sender needs).
WAREHOUSES = {
    "IN": {
        "AddressLine1": "Plot 7, Logistics Park",
        "City": "Bhiwandi",
        "StateOrProvinceCode": "MH",
        "PostalCode": "421302",
        "Phone": "+91 22 4000 1234",
    },
    "US": {
        "AddressLine1": "1 Warehouse Way",
        "City": "Kent",
        "StateOrProvinceCode": "WA",
        "PostalCode": "98032",
        "Phone": "+1 253 555 0100",
    },
    "DE": {
        "AddressLine1": "Lagerstrasse 1",
        "City": "Hamburg",
        "StateOrProvinceCode": "HH",
        "PostalCode": "22113",
        "Phone": "+49 40 5550100",
    },
    "AE": {
        "AddressLine1": "Warehouse 12, Jebel Ali Free Zone",
        "City": "Dubai",
        "StateOrProvinceCode": "DU",
        "PostalCode": "00000",
        "Phone": "+971 4 555 0100",
    },
}


def marketplace(code_or_id: str) -> Marketplace:
    market = MARKETPLACES.get(code_or_id) or MARKETPLACE_BY_ID.get(code_or_id)
    if market is None:
        raise ValueError(f"marketplace must be one of {', '.join(MARKETPLACES)} or their ids")
    return market


def money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def unit_price(product: Product, market: Marketplace) -> Decimal:
    """The product's price in the marketplace's currency (the catalogue lists INR)."""
    converted = Decimal(product.price_inr) * market.per_inr
    return (
        converted.quantize(Decimal(1)) - Decimal("0.01")
        if market.code != "IN"
        else Decimal(product.price_inr)
    )


def amazon_order_id(rng: random.Random, market: Marketplace) -> str:
    """An Amazon order id in 3-7-7 form."""
    return f"{market.order_prefix}-{rng.randrange(10**6, 10**7)}-{rng.randrange(10**6, 10**7)}"


def asin(sku: str) -> str:
    """The product's ASIN: fixed for its SKU."""
    digest = hashlib.sha1(sku.encode()).hexdigest().upper()
    return "B0" + digest[:8]


def warehouse_address(location_id: str, market: Marketplace) -> dict:
    """The location's address in Merchant Fulfillment's Address shape."""
    return {
        "Name": f"Packbench {location_id}"[:30],
        **WAREHOUSES[market.code],
        "CountryCode": market.code,
        "Email": f"{location_id.lower()}@packbench.example",
    }
