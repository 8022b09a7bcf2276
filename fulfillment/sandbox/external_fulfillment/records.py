"""A SmartConnect shipment as the sandbox keeps it, its statuses and the moves between them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ..core.errors import not_found, wrong_state
from ..core.model import Model
from ..core.timefmt import iso

# Amazon's model, read by the client's own reader (reading JSON is not where the two sides could
# misread the model); the rules the sandbox enforces are its own.
MODEL = Model("externalFulfillmentShipments_2024-09-11")
API_PREFIX = "/externalFulfillment/2024-09-11"

ACCEPTED, CONFIRMED, PACKAGE_CREATED = "ACCEPTED", "CONFIRMED", "PACKAGE_CREATED"
PICKUP_SLOT_RETRIEVED, INVOICE_GENERATED, SHIPLABEL_GENERATED = (
    "PICKUP_SLOT_RETRIEVED",
    "INVOICE_GENERATED",
    "SHIPLABEL_GENERATED",
)
SHIPPED, DELIVERED, CANCELLED = "SHIPPED", "DELIVERED", "CANCELLED"
TERMINAL = {SHIPPED, DELIVERED, CANCELLED}
PACKED = (PACKAGE_CREATED, PICKUP_SLOT_RETRIEVED, INVOICE_GENERATED, SHIPLABEL_GENERATED)

# Statuses in which each step is accepted (see the package docstring for what each does).
ACCEPTED_IN = {
    "processShipment:CONFIRM": {ACCEPTED},
    "createPackages": {CONFIRMED},
    "updatePackage": set(PACKED),
    "retrieveShippingOptions": set(PACKED),
    "generateInvoice": {PICKUP_SLOT_RETRIEVED, INVOICE_GENERATED, SHIPLABEL_GENERATED},
    "generateInvoice:seller_flex": {
        PACKAGE_CREATED,
        PICKUP_SLOT_RETRIEVED,
        INVOICE_GENERATED,
        SHIPLABEL_GENERATED,
    },
    "generateShipLabels:GENERATE": {INVOICE_GENERATED, SHIPLABEL_GENERATED, SHIPPED},
    "generateShipLabels:GENERATE:no_invoice": {PICKUP_SLOT_RETRIEVED, SHIPLABEL_GENERATED, SHIPPED},
    "generateShipLabels:REGENERATE": {
        INVOICE_GENERATED,
        PICKUP_SLOT_RETRIEVED,
        SHIPLABEL_GENERATED,
    },
}


def programme_of(doc: dict) -> str:
    channel = doc["marketplaceAttributes"]["channelName"]
    shipping_type = doc["shippingInfo"].get("shippingType", "MARKETPLACE")
    if channel == "FBA":
        return "seller_flex"
    return "self_ship" if shipping_type == "SELF" else "easy_ship"


@dataclass
class Record:
    """A shipment as Amazon would serve it (`doc`) plus what the sandbox keeps beside it."""

    doc: dict
    invoice_shape: str
    label_format: str
    has_invoice: bool
    updated_at: datetime
    invoice: dict | None = None
    options: dict[str, list[dict]] = field(default_factory=dict)  # package id -> offered options
    labels: dict[str, dict] = field(default_factory=dict)  # package id -> current label
    served_labels: list[dict] = field(default_factory=list)
    carrier_scanned: set[str] = field(default_factory=set)
    history: list[dict] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.doc["status"]

    @property
    def programme(self) -> str:
        return programme_of(self.doc)

    def packages(self) -> list[dict]:
        return self.doc.get("packages", [])

    def package(self, package_id: str) -> dict:
        for package in self.packages():
            if package["id"] == package_id:
                return package
        raise not_found(
            f"Requested Entity with 'packageId' '{package_id}' is not found in shipment '{self.doc['id']}'"
        )

    # --- moves (each stamps lastUpdatedDateTime with `now`) -------------------------------------

    def require(self, step: str, doing: str) -> None:
        allowed = ACCEPTED_IN[step]
        if self.status not in allowed:
            raise wrong_state(
                f"Cannot {doing} shipment {self.doc['id']}: it is {self.status}.",
                f"Allowed when the shipment is {', '.join(sorted(allowed))}.",
            )

    def touch(self, now: datetime) -> None:
        self.updated_at = max(now, self.updated_at)
        self.doc["lastUpdatedDateTime"] = iso(self.updated_at)

    def set_status(self, status: str, cause: str, now: datetime) -> None:
        self.history.append({"at": iso(now), "from": self.status, "to": status, "by": cause})
        self.doc["status"] = status
        if status in {PICKUP_SLOT_RETRIEVED, INVOICE_GENERATED}:
            for package in self.packages():
                if package["status"] in {"CREATED", PICKUP_SLOT_RETRIEVED, INVOICE_GENERATED}:
                    package["status"] = status
        self.touch(now)

    def cancel(
        self, kind: str, reason: str, now: datetime, per_line: dict[str, str] | None = None
    ) -> None:
        """Cancel every line: with its own reason where `per_line` has one (a seller's rejection
        names a reason per line), else `reason`, which also becomes the shipment's."""
        for line in self.doc["lineItems"]:
            line["cancellations"] = [
                {
                    "cancelledQuantity": line["numberOfUnits"],
                    "cancelledTimestamp": iso(now),
                    "cancellationType": kind,
                    "cancellationReason": (per_line or {}).get(line["shipmentLineItemId"], reason),
                }
            ]
        self.doc["reason"] = reason
        self.set_status(CANCELLED, kind, now)

    def ship_package(self, package: dict, cause: str, now: datetime) -> None:
        package["status"] = "SHIPPED"
        if all(p["status"] in {"SHIPPED", "DELIVERED"} for p in self.packages()):
            self.set_status(SHIPPED, cause, now)
        else:
            self.history.append(
                {"at": iso(now), "package": package["id"], "to": "SHIPPED", "by": cause}
            )
            self.touch(now)
