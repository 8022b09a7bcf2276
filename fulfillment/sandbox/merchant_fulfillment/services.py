"""The carriers' services Merchant Fulfillment offers per marketplace, and what one costs.

A service is offered for a package when the package is within its weight limit, it can pick up
if pickup is asked, it can deliver with the asked confirmation, it takes the predefined box if
one is named, and it arrives by MustArriveByDate when one is given (else it is not listed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

SIGNATURE_EXPERIENCES = (
    "DeliveryConfirmationWithSignature",
    "DeliveryConfirmationWithAdultSignature",
)
EXPERIENCES = ("DeliveryConfirmationWithoutSignature", "NoTracking", *SIGNATURE_EXPERIENCES)


@dataclass(frozen=True)
class Service:
    service_id: str
    name: str
    carrier: str
    days: tuple[int, int]  # days in transit: fastest, slowest
    base: Decimal  # rate for the first kilogram, in the marketplace's currency
    per_kg: Decimal  # each further (billable) kilogram
    max_kg: int
    formats: tuple[str, ...]  # label formats; the first is the service's default
    pickup: bool = False  # offers CarrierWillPickUp
    signature: bool = False  # offers delivery against a signature
    ships_next_day: bool = False  # collects tomorrow: its ShipDate is the next day
    box_prefix: str | None = (
        None  # whose PredefinedPackageDimensions it takes (USPS_, UPS_, FedEx_)
    )


SERVICES = {
    "US": (
        Service(
            "USPS_PTP_GND",
            "USPS Ground Advantage",
            "USPS",
            (2, 5),
            Decimal("5.40"),
            Decimal("1.10"),
            31,
            ("PDF", "PNG", "ZPL203"),
            signature=True,
            box_prefix="USPS_",
        ),
        Service(
            "USPS_PTP_PRI",
            "USPS Priority Mail",
            "USPS",
            (1, 3),
            Decimal("8.95"),
            Decimal("1.80"),
            31,
            ("PDF", "PNG", "ZPL203"),
            signature=True,
            box_prefix="USPS_",
        ),
        Service(
            "UPS_PTP_GND",
            "UPS Ground",
            "UPS",
            (1, 5),
            Decimal("9.80"),
            Decimal("1.40"),
            68,
            ("ZPL203", "ZPL300", "PNG", "PDF"),
            pickup=True,
            signature=True,
            box_prefix="UPS_",
        ),
        Service(
            "UPS_PTP_NEXT_DAY_AIR",
            "UPS Next Day Air",
            "UPS",
            (1, 1),
            Decimal("38.50"),
            Decimal("6.00"),
            68,
            ("ZPL203", "PNG", "PDF"),
            pickup=True,
            signature=True,
            box_prefix="UPS_",
        ),
        Service(
            "FEDEX_PTP_HOME_DELIVERY",
            "FedEx Home Delivery",
            "FedEx",
            (2, 5),
            Decimal("10.20"),
            Decimal("1.30"),
            68,
            ("PDF", "PNG", "ZPL203"),
            pickup=True,
            signature=True,
            ships_next_day=True,
            box_prefix="FedEx_",
        ),
    ),
    "IN": (
        Service(
            "ATS_STANDARD",
            "Amazon Shipping Standard",
            "Amazon Shipping",
            (2, 4),
            Decimal(55),
            Decimal(18),
            20,
            ("PDF", "PNG", "ZPL203"),
            pickup=True,
            signature=True,
        ),
        Service(
            "DELHIVERY_SURFACE",
            "Delhivery Surface",
            "Delhivery",
            (4, 7),
            Decimal(45),
            Decimal(12),
            30,
            ("PDF", "ZPL203"),
            pickup=True,
            ships_next_day=True,
        ),
        Service(
            "BLUEDART_APEX",
            "Blue Dart Apex",
            "Blue Dart",
            (1, 2),
            Decimal(140),
            Decimal(40),
            20,
            ("PDF", "PNG"),
            signature=True,
        ),
    ),
    "DE": (
        Service(
            "DHL_PAKET",
            "DHL Paket",
            "DHL",
            (1, 2),
            Decimal("4.99"),
            Decimal("0.20"),
            31,
            ("PDF", "PNG", "ZPL203"),
            pickup=True,
            signature=True,
        ),
        Service(
            "DPD_CLASSIC",
            "DPD Classic",
            "DPD",
            (1, 3),
            Decimal("4.60"),
            Decimal("0.25"),
            31,
            ("ZPL203", "PDF"),
        ),
        Service(
            "HERMES_PAKET",
            "Hermes Paket",
            "Hermes",
            (2, 4),
            Decimal("4.30"),
            Decimal("0.20"),
            25,
            ("PDF", "PNG"),
            ships_next_day=True,
        ),
        Service(
            "UPS_STANDARD_DE",
            "UPS Standard",
            "UPS",
            (1, 2),
            Decimal("7.90"),
            Decimal("0.50"),
            70,
            ("ZPL203", "ZPL300", "PNG", "PDF"),
            pickup=True,
            signature=True,
            box_prefix="UPS_",
        ),
    ),
    "AE": (
        Service(
            "ARAMEX_DOMESTIC",
            "Aramex Domestic",
            "Aramex",
            (1, 2),
            Decimal(18),
            Decimal(4),
            30,
            ("PDF", "PNG", "ZPL203"),
            pickup=True,
            signature=True,
        ),
        Service(
            "EMIRATES_POST_STD",
            "Emirates Post Standard",
            "Emirates Post",
            (2, 4),
            Decimal(12),
            Decimal(3),
            30,
            ("PDF",),
            ships_next_day=True,
        ),
    ),
}
BY_ID = {s.service_id: s for services in SERVICES.values() for s in services}
# Surcharges in US dollars, converted with these factors.
PER_USD = {"US": Decimal(1), "IN": Decimal(83), "DE": Decimal("0.92"), "AE": Decimal("3.67")}
SIGNATURE_USD, ADULT_SIGNATURE_USD, PICKUP_USD = Decimal("2.75"), Decimal("6.50"), Decimal(3)
GRAMS = {"g": 1.0, "oz": 28.349523125}
CM = {"centimeters": 1.0, "inches": 2.54}
# Sizes of the carriers' predefined boxes this sandbox knows (cm); others count as 30x20x10.
BOXES = {"USPS_SmallFlatRateBox": (22, 14, 4), "UPS_Express_Box": (33, 28, 8)}


def billable_kg(details: dict) -> int:
    """Whole kilograms charged: actual weight or volumetric (L x W x H / 5000), whichever is more."""
    weight = details["Weight"]
    actual = weight["Value"] * GRAMS[weight["Unit"]] / 1000
    size = details["PackageDimensions"]
    if size.get("PredefinedPackageDimensions"):
        length, width, height = BOXES.get(size["PredefinedPackageDimensions"], (30, 20, 10))
    else:
        factor = CM[size["Unit"]]
        length, width, height = (size[k] * factor for k in ("Length", "Width", "Height"))
    return max(1, math.ceil(max(actual, length * width * height / 5000)))


def rejection(service: Service, details: dict, kg: int) -> tuple[str, str] | None:
    """(reason code, message) when the service cannot take this package, else None."""
    options = details["ShippingServiceOptions"]
    box = details["PackageDimensions"].get("PredefinedPackageDimensions")
    if kg > service.max_kg:
        return (
            "WEIGHT_LIMIT_EXCEEDED",
            f"{kg} kg billable; {service.name} takes up to {service.max_kg} kg.",
        )
    if options["CarrierWillPickUp"] and not service.pickup:
        return "PICKUP_NOT_AVAILABLE", f"{service.carrier} does not collect from the seller."
    if options["DeliveryExperience"] in SIGNATURE_EXPERIENCES and not service.signature:
        return (
            "DELIVERY_EXPERIENCE_NOT_AVAILABLE",
            f"{service.name} cannot deliver against a signature.",
        )
    if box and not (service.box_prefix and box.startswith(service.box_prefix)):
        return "PACKAGE_TYPE_NOT_SUPPORTED", f"{service.carrier} does not take {box}."
    return None


def ship_date(service: Service, wanted: datetime, now: datetime) -> datetime:
    moment = max(wanted, now).replace(second=0, microsecond=0)
    if service.ships_next_day:
        moment = (moment + timedelta(days=1)).replace(hour=10, minute=0)
    return moment


def delivery_window(service: Service, shipped: datetime) -> tuple[datetime, datetime]:
    low, high = service.days
    earliest = (shipped + timedelta(days=low)).replace(hour=9, minute=0, second=0)
    latest = (shipped + timedelta(days=high)).replace(hour=21, minute=0, second=0)
    return earliest, latest


def rate(service: Service, market: str, details: dict, kg: int) -> Decimal:
    options = details["ShippingServiceOptions"]
    amount = service.base + service.per_kg * (kg - 1)
    experience = options["DeliveryExperience"]
    if experience == "DeliveryConfirmationWithSignature":
        amount += SIGNATURE_USD * PER_USD[market]
    elif experience == "DeliveryConfirmationWithAdultSignature":
        amount += ADULT_SIGNATURE_USD * PER_USD[market]
    if options["CarrierWillPickUp"]:
        amount += PICKUP_USD * PER_USD[market]
    declared = options.get("DeclaredValue")
    if declared:  # insurance: 1 % of what is declared above 100 dollars' worth
        excess = Decimal(str(declared["Amount"])) - 100 * PER_USD[market]
        amount += max(Decimal(0), excess) / 100
    return amount.quantize(Decimal("0.01"))


def surcharges(service: Service, market: str, currency: str) -> dict:
    """AvailableShippingServiceOptions: what each pickup and confirmation option adds."""

    def charge(usd: Decimal) -> dict:
        return {
            "CurrencyCode": currency,
            "Amount": float((usd * PER_USD[market]).quantize(Decimal("0.01"))),
        }

    pickups = [{"CarrierWillPickUpOption": "ShipperWillDropOff", "Charge": charge(Decimal(0))}]
    if service.pickup:
        pickups.append(
            {"CarrierWillPickUpOption": "CarrierWillPickUp", "Charge": charge(PICKUP_USD)}
        )
    experiences = [
        {"DeliveryExperienceOption": e, "Charge": charge(Decimal(0))}
        for e in ("DeliveryConfirmationWithoutSignature", "NoTracking")
    ]
    if service.signature:
        experiences += [
            {
                "DeliveryExperienceOption": "DeliveryConfirmationWithSignature",
                "Charge": charge(SIGNATURE_USD),
            },
            {
                "DeliveryExperienceOption": "DeliveryConfirmationWithAdultSignature",
                "Charge": charge(ADULT_SIGNATURE_USD),
            },
        ]
    return {
        "AvailableCarrierWillPickUpOptions": pickups,
        "AvailableDeliveryExperienceOptions": experiences,
    }
