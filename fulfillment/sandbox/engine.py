"""The sandbox's Amazon: shipment state machine, request validation, LWA tokens, rate limits, faults.

Plain Python, no HTTP: `views.py` turns requests into calls on one `Sandbox` and its answers
into responses, and tests can drive a `Sandbox` directly.

Shipment state machine (guide 003 §3.2-3.4 and 002's step table; where they differ the model wins):

    operation                 accepted in                                   moves to
    processShipment CONFIRM   ACCEPTED                                      CONFIRMED
    processShipment REJECT    shipmentInfo.orderStatesEligibleForRejection  CANCELLED (SELLER_REJECTED)
    createPackages            CONFIRMED                                     PACKAGE_CREATED
    updatePackage             PACKAGE_CREATED .. SHIPLABEL_GENERATED        PACKAGE_CREATED (invoice and
                                                                            labels dropped: regenerate them)
    retrieveShippingOptions   PACKAGE_CREATED                               PICKUP_SLOT_RETRIEVED
                              PICKUP_SLOT_RETRIEVED .. SHIPLABEL_GENERATED  unchanged (another package / re-read)
    generateInvoice           PICKUP_SLOT_RETRIEVED                         INVOICE_GENERATED
                              PACKAGE_CREATED, Seller Flex only             INVOICE_GENERATED (its slot is fixed,
                                                                            options are empty: the step may be skipped)
                              INVOICE_GENERATED, SHIPLABEL_GENERATED        unchanged (same invoice)
                              Easy Ship outside IN: refused, 422 (no invoice in that programme)
    retrieveInvoice           once an invoice exists                        unchanged; 409 before generateInvoice,
                                                                            404 where the programme has none
    generateShipLabels        INVOICE_GENERATED (programmes with invoice)   SHIPLABEL_GENERATED once every
      GENERATE                PICKUP_SLOT_RETRIEVED (no-invoice programmes)  package has a label
                              SHIPLABEL_GENERATED, SHIPPED                  unchanged; same labels again
      REGENERATE              packages that have a label                    unchanged; new labels, new tracking
    updatePackageStatus       package with a label (SHIPLABEL_GENERATED)    package SHIPPED; shipment SHIPPED
      SHIPPED                                                               when every package is; 409
                                                                            DuplicateRequest when already shipped
                                                                            (e.g. the carrier scanned it)
    marketplace cancel        anything before SHIPPED                       CANCELLED (MARKETPLACE_CANCELLED)

Anything else is an out-of-order call: 409 InvalidState. CANCELLED, SHIPPED and DELIVERED are terminal.
Package status mirrors the shipment (CREATED, PICKUP_SLOT_RETRIEVED, INVOICE_GENERATED) and then
goes per package: SHIPLABEL_GENERATED when it has a label, SHIPPED.

Errors answer in Amazon's shape {"errors": [{"code", "message", "details"}]}: 400 malformed/against
the model's schema, 404 unknown shipment/package, 409 wrong state, 422 business rule broken.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import random
import secrets
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from . import contract, documents, seed

ACCEPTED, CONFIRMED, PACKAGE_CREATED = "ACCEPTED", "CONFIRMED", "PACKAGE_CREATED"
PICKUP_SLOT_RETRIEVED, INVOICE_GENERATED, SHIPLABEL_GENERATED = (
    "PICKUP_SLOT_RETRIEVED",
    "INVOICE_GENERATED",
    "SHIPLABEL_GENERATED",
)
SHIPPED, DELIVERED, CANCELLED = "SHIPPED", "DELIVERED", "CANCELLED"
TERMINAL = {SHIPPED, DELIVERED, CANCELLED}
PACKED = (PACKAGE_CREATED, PICKUP_SLOT_RETRIEVED, INVOICE_GENERATED, SHIPLABEL_GENERATED)

# Statuses in which each step is accepted (see the module docstring for what each does).
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
GRAMS_PER_UNIT = {
    "G": Decimal(1),
    "KG": Decimal(1000),
    "LB": Decimal("453.59237"),
    "OZ": Decimal("28.349523125"),
}
MIN_PACKAGE_GRAMS = Decimal(5)
MAX_LABEL_PACKAGES = 50

DEFAULT_CLIENT_ID = "amzn1.application-oa2-client.sandbox"
DEFAULT_CLIENT_SECRET = "sandbox-secret"
DEFAULT_REFRESH_TOKEN = "Atzr|sandbox-refresh-token"


class ApiError(Exception):
    """An answer in Amazon's error shape."""

    def __init__(self, status: int, code: str, message: str, details: str = ""):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details

    def body(self) -> dict:
        return {"errors": [{"code": self.code, "message": self.message, "details": self.details}]}


def bad_request(message: str, details: str = "") -> ApiError:
    return ApiError(400, "InvalidInput", message, details)


def unprocessable(message: str, details: str = "") -> ApiError:
    return ApiError(422, "InvalidInput", message, details)


def not_found(message: str) -> ApiError:
    return ApiError(404, "NotFound", message)


def wrong_state(message: str, details: str = "") -> ApiError:
    return ApiError(409, "InvalidState", message, details)


def iso(moment: datetime) -> str:
    return seed.iso(moment)


def programme_of(doc: dict) -> str:
    channel = doc["marketplaceAttributes"]["channelName"]
    shipping_type = doc["shippingInfo"].get("shippingType", "MARKETPLACE")
    if channel == "FBA":
        return "seller_flex"
    return "self_ship" if shipping_type == "SELF" else "easy_ship"


# --- Validation (pure functions) ---------------------------------------------------------------


def check_body(operation_id: str, body: Any) -> None:
    """400 when the body does not match the model's schema for this operation."""
    validator = contract.body_validator(operation_id)
    if validator is None:
        return
    problems = contract.schema_errors(validator, body)
    if problems:
        raise bad_request("The request body does not match the model.", "; ".join(problems[:5]))


def _decimal(value: str, what: str) -> Decimal:
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError):
        raise bad_request(f"{what} '{value}' is not a number.") from None
    if not number.is_finite():
        raise bad_request(f"{what} '{value}' is not a number.")
    return number


def weight_in_grams(weight: dict) -> Decimal:
    return _decimal(weight["value"], "weight.value") * GRAMS_PER_UNIT[weight["weightUnit"]]


def _pieces_per_unit(line: dict) -> int | None:
    for attribute in line.get("customAttributes", []):
        if attribute.get("key") == "numberOfPieces":
            return int(attribute["value"])
    return None


def check_package(shipment: dict, package: dict) -> None:
    """Business rules for one package (422 unless the input is plainly malformed)."""
    pid = package["id"]
    if not pid.strip():
        raise bad_request("Package id must not be empty.")
    grams = weight_in_grams(package["weight"])
    if grams < MIN_PACKAGE_GRAMS:
        raise unprocessable(
            f"Package {pid} weighs {package['weight']['value']} {package['weight']['weightUnit']}; "
            f"the minimum is {MIN_PACKAGE_GRAMS} g."
        )
    for side in ("length", "width", "height"):
        if _decimal(package["dimensions"][side]["value"], f"dimensions.{side}.value") <= 0:
            raise unprocessable(f"Package {pid}: {side} must be greater than zero.")
    items = package["packageLineItems"]
    if not items:
        raise unprocessable(f"Package {pid} has no line items.")
    lines = {line["shipmentLineItemId"]: line for line in shipment["lineItems"]}
    seen_lines = set()
    for item in items:
        line = lines.get(item["packageLineItemId"])
        if line is None:
            raise unprocessable(
                f"Package {pid}: line item {item['packageLineItemId']} is not in shipment {shipment['id']}.",
                f"Line items of the shipment: {', '.join(lines)}",
            )
        if item["packageLineItemId"] in seen_lines:
            raise bad_request(f"Package {pid} lists line item {item['packageLineItemId']} twice.")
        seen_lines.add(item["packageLineItemId"])
        _check_line_item(pid, line, item)
    hazmat_needed = any(
        lines[i["packageLineItemId"]]["complianceAttributes"]["hazmatLabelsRequirement"]
        == "REQUIRED"
        for i in items
    )
    labels = [label for label in package.get("hazmatLabels", []) if label.strip()]
    if hazmat_needed and not labels:
        raise unprocessable(f"Package {pid} holds dangerous goods: hazmatLabels are required.")
    if not hazmat_needed and package.get("hazmatLabels"):
        raise unprocessable(f"Package {pid}: hazmatLabels are not allowed for these items.")


def _check_line_item(pid: str, line: dict, item: dict) -> None:
    rules = line["complianceAttributes"]
    sku, quantity = line["merchantSku"], item["quantity"]
    multi_piece = line.get("pieceType") == "MULTIPLE"
    if quantity < 0 or (quantity == 0 and not multi_piece):
        raise unprocessable(f"Package {pid}: quantity of {sku} must be at least 1.")
    # A multi-piece unit spreads over several cartons: every carton says how many pieces it
    # holds; cartons after the first of a unit carry quantity 0.
    if multi_piece and "pieces" not in item:
        raise unprocessable(
            f"Package {pid}: {sku} is a multi-piece item; give the number of pieces in this package."
        )
    serials = item.get("serialNumbers", [])
    if rules["serialNumberRequirement"] == "REQUIRED":
        if len(serials) != quantity or any(not s.strip() for s in serials):
            raise unprocessable(
                f"Package {pid}: {sku} needs one serial number per unit ({quantity}), got {len(serials)}."
            )
        if len(set(serials)) != len(serials):
            raise unprocessable(f"Package {pid}: {sku} has the same serial number twice.")
    elif serials:
        raise unprocessable(f"Package {pid}: serial numbers are not allowed for {sku}.")
    origin = item.get("countryOfOrigin")
    if rules["countryOfOriginRequirement"] == "REQUIRED":
        if not origin or len(origin) != 2 or not origin.isalpha() or not origin.isupper():
            raise unprocessable(
                f"Package {pid}: {sku} needs its country of origin (two-letter code such as CN)."
            )
    elif origin:
        raise unprocessable(f"Package {pid}: country of origin is not allowed for {sku}.")
    value = item.get("itemValue")
    if rules["itemValueRequirement"] == "REQUIRED":
        if not value or _decimal(value["value"], "itemValue.value") <= 0:
            raise unprocessable(f"Package {pid}: {sku} needs its item value (amount and currency).")
    elif value:
        raise unprocessable(f"Package {pid}: item value is not allowed for {sku}.")


def check_unit_totals(shipment: dict, packages: list[dict]) -> None:
    """The packages together must hold exactly the shipment's units (and pieces of multi-piece items)."""
    problems = []
    serials: list[str] = []
    for line in shipment["lineItems"]:
        lid = line["shipmentLineItemId"]
        held = [i for p in packages for i in p["packageLineItems"] if i["packageLineItemId"] == lid]
        units = sum(i["quantity"] for i in held)
        if units != line["numberOfUnits"]:
            problems.append(
                f"{line['merchantSku']} (line {lid}): packages hold {units} of {line['numberOfUnits']} units"
            )
        per_unit = _pieces_per_unit(line)
        if line.get("pieceType") == "MULTIPLE" and per_unit:
            pieces = sum(i.get("pieces", 0) for i in held)
            expected = per_unit * line["numberOfUnits"]
            if pieces != expected:
                problems.append(
                    f"{line['merchantSku']} (line {lid}): packages hold {pieces} of {expected} pieces"
                )
        serials += [s for i in held for s in i.get("serialNumbers", [])]
    if problems:
        raise unprocessable("Packages do not match the shipment's items.", "; ".join(problems))
    duplicates = sorted({s for s in serials if serials.count(s) > 1})
    if duplicates:
        raise unprocessable(
            f"Serial number(s) used twice in the shipment: {', '.join(duplicates)}."
        )


# --- Tokens and rate limits -------------------------------------------------------------------------


class TokenBucket:
    """Server-side throttle: `rate` tokens per second, at most `burst` saved up."""

    def __init__(self, rate: float, burst: int):
        self.rate, self.burst = float(rate), max(1, int(burst))
        self.tokens, self.stamp = float(self.burst), None

    def take(self, now: float) -> bool:
        if self.stamp is not None:
            now = max(now, self.stamp)  # requests handled out of their arrival order
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@dataclass
class Fault:
    id: int
    operations: set[str] | None = None
    latency_ms: int = 0
    error_rate: float = 0.0
    error_status: int = 503
    timeout_rate: float = 0.0
    timeout_seconds: float = 30.0
    throttle_until: datetime | None = None
    count: int | None = None  # how many more requests it may hit (errors/timeouts); None = no limit
    apply: bool | None = (
        None  # perform the operation before failing (None: yes for timeouts, no for 5xx)
    )

    def covers(self, operation: str) -> bool:
        return self.operations is None or operation in self.operations

    def as_dict(self) -> dict:
        data = {k: v for k, v in self.__dict__.items() if k not in {"operations", "throttle_until"}}
        data["operations"] = sorted(self.operations) if self.operations else None
        data["throttle_until"] = iso(self.throttle_until) if self.throttle_until else None
        return data


@dataclass
class FaultPlan:
    latency_seconds: float = 0.0
    throttled: bool = False
    error_status: int | None = None
    timeout_seconds: float | None = None
    apply: bool = False


DEFAULT_CONFIG = {
    "rate_limits": {"default": {"rate": 1.0, "burst": 1}},
    "label_url_ttl_seconds": 300,
    "token_ttl_seconds": 3600,
    "live": {"enabled": False, "interval_seconds": 45, "cancel_probability": 0.15},
    "empty_page_every": 0,  # every Nth follow-up page comes back empty (still with nextToken), as Amazon's do
    "fail_next_labels": 0,  # the next N package labels fail inside a 200 (status FAILURE)
    "expire_next_label_urls": 0,  # the next N label links handed out by generateShipLabels are already expired
    "invoice_shape": None,  # force one of documents.INVOICE_SHAPES for every shipment
    "label_format": None,  # force one of documents.LABEL_FORMATS
    "lwa_clients": {DEFAULT_CLIENT_ID: DEFAULT_CLIENT_SECRET},
    "refresh_tokens": [DEFAULT_REFRESH_TOKEN],
    "revoked_refresh_tokens": [],
    "forbid_next_calls": 0,  # the next N API calls answer 403 whatever their access token
    "lwa_html_next": 0,  # the next N LWA token requests answer 200 with an HTML page
    "lwa_latency_ms": 0,  # every LWA token request takes this long
}


def merge_config(current: dict, changes: dict) -> dict:
    """Validate and apply a /_sandbox/config body; ValueError names the bad key."""
    merged = copy.deepcopy(current)
    for key, value in changes.items():
        if key == "rate_limits":
            for operation, limit in value.items():
                if operation != "default" and operation not in contract.operations():
                    raise ValueError(f"rate_limits: unknown operation {operation!r}")
                rate, burst = float(limit["rate"]), int(limit["burst"])
                if rate <= 0 or burst < 1:
                    raise ValueError("rate_limits: rate must be > 0 and burst >= 1")
                merged["rate_limits"][operation] = {"rate": rate, "burst": burst}
        elif key in {"label_url_ttl_seconds", "token_ttl_seconds", "fail_next_labels", "expire_next_label_urls",
                     "forbid_next_calls", "lwa_html_next", "lwa_latency_ms"}:
            if int(value) < 0:
                raise ValueError(f"{key} must not be negative")
            merged[key] = int(value)
        elif key == "empty_page_every":
            if int(value) == 1 or int(value) < 0:
                raise ValueError("empty_page_every must be 0 (off) or at least 2")
            merged[key] = int(value)
        elif key == "live":
            merged["live"].update({k: v for k, v in value.items() if k in merged["live"]})
        elif key == "invoice_shape":
            if value is not None and value not in documents.INVOICE_SHAPES:
                raise ValueError(
                    f"invoice_shape must be one of {', '.join(documents.INVOICE_SHAPES)} or null"
                )
            merged[key] = value
        elif key == "label_format":
            if value is not None and value not in documents.LABEL_FORMATS:
                raise ValueError(
                    f"label_format must be one of {', '.join(documents.LABEL_FORMATS)} or null"
                )
            merged[key] = value
        elif key == "lwa_clients":
            merged["lwa_clients"].update({str(k): str(v) for k, v in value.items()})
        elif key in {"refresh_tokens", "revoked_refresh_tokens"}:
            merged[key] = sorted(set(merged[key]) | {str(v) for v in value})
        else:
            raise ValueError(f"unknown setting {key!r}")
    return merged


# --- Shipments ----------------------------------------------------------------------------------------


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


CARRIERS = {
    "IN": [("ATSPL", "PICKUP"), ("DELHIVERY", "PICKUP"), ("BLUEDART", "DROPOFF")],
    "AE": [("AMZL_AE", "PICKUP"), ("ARAMEX", "DROPOFF")],
    "DE": [("AMZL_DE", "PICKUP"), ("DHL_PAKET", "DROPOFF")],
    "US": [("AMZL_US", "PICKUP"), ("UPS", "DROPOFF")],
}
DROPOFF_POINTS = {
    "IN": {
        "name": "BlueDart Express Centre",
        "addressLine1": "12 MG Road",
        "city": "Bengaluru",
        "postalCode": "560001",
        "countryCode": "IN",
    },
    "AE": {
        "name": "Aramex Service Centre",
        "addressLine1": "Al Quoz Industrial 3",
        "city": "Dubai",
        "postalCode": "00000",
        "countryCode": "AE",
    },
    "DE": {
        "name": "DHL Packstation 112",
        "addressLine1": "Friedrichstraße 120",
        "city": "Berlin",
        "postalCode": "10117",
        "countryCode": "DE",
    },
    "US": {
        "name": "The UPS Store #4521",
        "addressLine1": "500 Pike Street",
        "city": "Seattle",
        "postalCode": "98101",
        "countryCode": "US",
    },
}


class Sandbox:
    """All sandbox state; every public method takes the lock."""

    def __init__(
        self, *, seed_number: int = 40, count: int = 40, config: dict | None = None, clock=None
    ):
        self.lock = threading.RLock()
        self.clock = clock or (lambda: datetime.now(UTC))
        self.base_config = merge_config(DEFAULT_CONFIG, config or {})
        self.signing_key = secrets.token_bytes(32)
        self.tokens_expired_at: int | None = (
            None  # tokens issued up to then (epoch ms) count as expired, until reset
        )
        self.calls: deque[dict] = deque(maxlen=5000)
        self.reset(seed_number=seed_number, count=count)

    # --- control ---------------------------------------------------------------------------------

    def reset(self, *, seed_number: int | None = None, count: int | None = None) -> dict:
        """Fresh shipments, the start-up configuration, no faults; access tokens issued before stay valid."""
        with self.lock:
            self.seed_number = self.seed_number if seed_number is None else int(seed_number)
            self.count = self.count if count is None else int(count)
            self.config = copy.deepcopy(self.base_config)
            self.tokens_expired_at = None
            self.tokens_revoked_at = None
            self.rng = random.Random(self.seed_number)
            self.buckets: dict[str, TokenBucket] = {}
            self.faults: list[Fault] = []
            self.fault_ids = 0
            self.page_requests = 0
            self.calls.clear()
            self.records: dict[str, Record] = {}
            self.labels_by_id: dict[str, tuple[str, str]] = {}
            now = self._now()
            self.taken_ids: set[str] = set()
            for index, seeded in enumerate(seed.seed_shipments(self.seed_number, self.count, now)):
                record = self._add(seeded)
                # a few seeded shipments are further along / already cancelled, as a real queue is
                if index in (12, 13):
                    self._set_status(record, CONFIRMED, "seed")
                elif index == 14:
                    self._cancel(record, "MARKETPLACE_CANCELLED", "Customer cancelled the order")
            self.taken_ids |= set(self.records)
            return {"seed": self.seed_number, "count": len(self.records)}

    def configure(self, changes: dict) -> dict:
        with self.lock:
            expire = changes.pop("expire_tokens", False)
            if changes.pop("revoke_tokens", False):
                self.tokens_revoked_at = int(self.clock().timestamp() * 1000)
            self.config = merge_config(self.config, changes)
            if "rate_limits" in changes:
                self.buckets.clear()
            if expire:
                self.tokens_expired_at = int(self.clock().timestamp() * 1000)
            return self.public_config()

    def public_config(self) -> dict:
        with self.lock:
            return copy.deepcopy(self.config)

    def add_fault(self, spec: dict) -> dict:
        allowed = {
            "operations",
            "latency_ms",
            "error_rate",
            "error_status",
            "timeout_rate",
            "timeout_seconds",
            "throttle_seconds",
            "count",
            "apply",
        }
        unknown = set(spec) - allowed
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        operations = spec.get("operations")
        if isinstance(operations, str):
            operations = [operations]
        for operation in operations or []:
            if operation not in contract.operations():
                raise ValueError(f"unknown operation {operation!r}")
        if int(spec.get("error_status", 503)) not in {500, 502, 503, 504}:
            raise ValueError("error_status must be 500, 502, 503 or 504")
        with self.lock:
            self.fault_ids += 1
            throttle = float(spec.get("throttle_seconds", 0))
            fault = Fault(
                id=self.fault_ids,
                operations=set(operations) if operations else None,
                latency_ms=int(spec.get("latency_ms", 0)),
                error_rate=float(spec.get("error_rate", 0)),
                error_status=int(spec.get("error_status", 503)),
                timeout_rate=float(spec.get("timeout_rate", 0)),
                timeout_seconds=float(spec.get("timeout_seconds", 30)),
                throttle_until=self._now() + timedelta(seconds=throttle) if throttle else None,
                count=int(spec["count"]) if spec.get("count") is not None else None,
                apply=spec.get("apply"),
            )
            self.faults.append(fault)
            return fault.as_dict()

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def list_faults(self) -> list[dict]:
        with self.lock:
            return [f.as_dict() for f in self.faults]

    def plan_faults(self, operation: str) -> FaultPlan:
        """What the active faults do to this request (rolls the dice once)."""
        with self.lock:
            plan, now = FaultPlan(), self._now()
            for fault in list(self.faults):
                if not fault.covers(operation):
                    continue
                plan.latency_seconds += fault.latency_ms / 1000
                if fault.throttle_until and now < fault.throttle_until:
                    plan.throttled = True
                if fault.count is not None and fault.count <= 0:
                    continue
                hit = False
                if (
                    plan.timeout_seconds is None
                    and fault.timeout_rate
                    and self.rng.random() < fault.timeout_rate
                ):
                    plan.timeout_seconds, plan.apply, hit = (
                        fault.timeout_seconds,
                        fault.apply is not False,
                        True,
                    )
                elif (
                    plan.error_status is None
                    and fault.error_rate
                    and self.rng.random() < fault.error_rate
                ):
                    plan.error_status, plan.apply, hit = fault.error_status, bool(fault.apply), True
                if hit and fault.count is not None:
                    fault.count -= 1
            return plan

    def record_call(self, entry: dict) -> None:
        with self.lock:
            self.calls.append(entry)

    def call_log(self, operation: str | None = None, shipment_id: str | None = None) -> list[dict]:
        with self.lock:
            return [
                c
                for c in self.calls
                if (operation is None or c.get("operation") == operation)
                and (shipment_id is None or c.get("shipment_id") == shipment_id)
            ]

    def clear_calls(self) -> None:
        with self.lock:
            self.calls.clear()

    # --- LWA --------------------------------------------------------------------------------------

    def grant_token(self, form: dict[str, str]) -> tuple[int, dict]:
        """LWA refresh-token grant: (status, JSON body) like api.amazon.com/auth/o2/token; a str body
        is an HTML page (the `lwa_html_next` fault)."""
        with self.lock:
            if self.config["lwa_html_next"] > 0:
                self.config["lwa_html_next"] -= 1
                return 200, "<html><body><h1>Service temporarily unavailable</h1></body></html>"
            if form.get("grant_type") != "refresh_token":
                return 400, {
                    "error": "unsupported_grant_type",
                    "error_description": "The authorization grant type is not supported by the authorization server",
                }
            missing = [
                k for k in ("refresh_token", "client_id", "client_secret") if not form.get(k)
            ]
            if missing:
                return 400, {
                    "error": "invalid_request",
                    "error_description": f"The request is missing a required parameter : {missing[0]}",
                }
            if self.config["lwa_clients"].get(form["client_id"]) != form["client_secret"]:
                return 401, {
                    "error": "invalid_client",
                    "error_description": "Client authentication failed",
                }
            refresh = form["refresh_token"]
            if (
                refresh not in self.config["refresh_tokens"]
                or refresh in self.config["revoked_refresh_tokens"]
            ):
                return 400, {
                    "error": "invalid_grant",
                    "error_description": "The request has an invalid grant parameter : refresh_token",
                }
            ttl = self.config["token_ttl_seconds"]
            now = self.clock().timestamp()
            payload = {
                "c": form["client_id"],
                "i": int(now * 1000),
                "e": int(now) + ttl,
                "n": secrets.token_hex(6),
            }
            return 200, {
                "access_token": _sign_token(payload),
                "refresh_token": refresh,
                "token_type": "bearer",
                "expires_in": ttl,
            }

    def authorize(self, token: str | None) -> None:
        """403 unless the x-amz-access-token is one this sandbox issued and it has not expired."""
        payload = _read_token(token or "")
        if payload is None:
            raise ApiError(403, "Unauthorized", "Access to requested resource is denied.", "")
        with self.lock:
            if self.config["forbid_next_calls"] > 0:
                self.config["forbid_next_calls"] -= 1
                raise ApiError(403, "Unauthorized", "Access to requested resource is denied.", "")
            if self.tokens_revoked_at is not None and payload["i"] <= self.tokens_revoked_at:
                raise ApiError(403, "Unauthorized", "Access to requested resource is denied.", "")
            now = self.clock().timestamp()
            if now >= payload["e"] or (
                self.tokens_expired_at is not None and payload["i"] <= self.tokens_expired_at
            ):
                raise ApiError(
                    403,
                    "Unauthorized",
                    "Access to requested resource is denied.",
                    "The access token you provided has expired.",
                )

    def rate_limit(self, operation: str) -> float:
        """The operation's rate (for x-amzn-RateLimit-Limit)."""
        limits = self.config["rate_limits"]
        return float(limits.get(operation, limits["default"])["rate"])

    def take_token(self, operation: str, at: float | None = None) -> bool:
        """Spend a token of the operation's bucket at `at` (when the request arrived; default now)."""
        with self.lock:
            bucket = self.buckets.get(operation)
            if bucket is None:
                limits = self.config["rate_limits"]
                limit = limits.get(operation, limits["default"])
                bucket = self.buckets[operation] = TokenBucket(limit["rate"], limit["burst"])
            # full precision: buckets refill continuously
            return bucket.take(at if at is not None else self.clock().timestamp())

    # --- static sandbox cases ---------------------------------------------------------------------

    @staticmethod
    def static_case(
        operation: str, parameters: dict[str, Any], body: Any
    ) -> tuple[int, Any] | None:
        """Amazon's `x-amzn-api-sandbox.static` answer for a TEST_CASE_ request, else None."""
        if not any(
            str(parameters.get(k, "")).startswith("TEST_CASE_")
            for k in ("shipmentId", "locationId")
        ):
            return None
        generic = None
        for status, expected, response in contract.static_cases(operation):
            if not expected:
                generic = generic or (status, response)
                continue
            if all(
                _static_matches(name, spec.get("value"), parameters, body)
                for name, spec in expected.items()
            ):
                return status, response
        return generic or (400, bad_request("Invalid input").body())

    # --- the operations -----------------------------------------------------------------------

    def get_shipments(self, query: dict[str, str]) -> dict:
        values, problems = contract.check_query("getShipments", query)
        if problems:
            raise bad_request(problems[0], "; ".join(problems[1:]))
        after = _parse_time(values.get("lastUpdatedAfter"), "lastUpdatedAfter")
        before = _parse_time(values.get("lastUpdatedBefore"), "lastUpdatedBefore")
        size = values.get("maxResults", 10)
        filters = {
            k: values.get(k)
            for k in (
                "locationId",
                "marketplaceId",
                "channelName",
                "status",
                "lastUpdatedAfter",
                "lastUpdatedBefore",
            )
        }
        fingerprint = hashlib.sha256(json.dumps(filters, sort_keys=True).encode()).hexdigest()[:12]
        position = None
        if values.get("paginationToken"):
            position = _read_page_token(values["paginationToken"], fingerprint)
        with self.lock:
            matching = sorted(
                (
                    r
                    for r in self.records.values()
                    if r.status == values["status"]
                    and (
                        filters["locationId"] is None
                        or r.doc["locationId"] == filters["locationId"]
                    )
                    and (
                        filters["marketplaceId"] is None
                        or r.doc["marketplaceAttributes"]["marketplaceId"]
                        == filters["marketplaceId"]
                    )
                    and (
                        filters["channelName"] is None
                        or r.doc["marketplaceAttributes"]["channelName"] == filters["channelName"]
                    )
                    and (after is None or r.updated_at >= after)
                    and (before is None or r.updated_at < before)
                ),
                key=lambda r: (r.updated_at, r.doc["id"]),
            )
            if position is not None:
                self.page_requests += 1
                every = self.config["empty_page_every"]
                if every and self.page_requests % every == 0:
                    return {"shipments": [], "pagination": {"nextToken": values["paginationToken"]}}
                matching = [r for r in matching if (iso(r.updated_at), r.doc["id"]) > position]
            page = matching[:size]
            answer: dict[str, Any] = {"shipments": [copy.deepcopy(r.doc) for r in page]}
            if len(matching) > size:
                last = page[-1]
                answer["pagination"] = {
                    "nextToken": _page_token(iso(last.updated_at), last.doc["id"], fingerprint)
                }
            return answer

    def get_shipment(self, shipment_id: str) -> dict:
        with self.lock:
            return copy.deepcopy(self._record(shipment_id).doc)

    def process_shipment(self, shipment_id: str, operation: str | None, body: Any) -> None:
        if operation not in {"CONFIRM", "REJECT"}:
            raise bad_request("Invalid input for parameter 'operation': must be CONFIRM or REJECT.")
        if body is not None:
            check_body("processShipment", body)
        with self.lock:
            record = self._record(shipment_id)
            if operation == "CONFIRM":
                self._require(record, "processShipment:CONFIRM", "confirm")
                self._set_status(record, CONFIRMED, "processShipment CONFIRM")
                return
            if not body or not body.get("referenceId"):
                raise bad_request("A rejection needs a body with referenceId and lineItems.")
            eligible = record.doc["shipmentInfo"].get("orderStatesEligibleForRejection") or [
                ACCEPTED
            ]
            if record.status not in eligible:
                raise wrong_state(
                    f"Shipment {shipment_id} is {record.status} and can no longer be rejected.",
                    f"Rejection is possible in: {', '.join(eligible)}",
                )
            line_ids = {line["shipmentLineItemId"] for line in record.doc["lineItems"]}
            unknown = [
                i["lineItem"]["id"]
                for i in body["lineItems"]
                if i["lineItem"]["id"] not in line_ids
            ]
            if unknown or not body["lineItems"]:
                raise unprocessable(
                    f"Line item(s) {', '.join(unknown) or '(none)'} are not in shipment {shipment_id}."
                )
            reason = next(
                (i.get("reason") for i in body["lineItems"] if i.get("reason")), "OUT_OF_STOCK"
            )
            per_line = {i["lineItem"]["id"]: i["reason"] for i in body["lineItems"] if i.get("reason")}
            self._cancel(record, "SELLER_REJECTED", reason, per_line)

    def create_packages(self, shipment_id: str, body: Any) -> None:
        check_body("createPackages", body)
        packages = body["packages"]
        ids = [p["id"] for p in packages]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise bad_request(f"Duplicate package id(s) in the request: {', '.join(duplicates)}.")
        with self.lock:
            record = self._record(shipment_id)
            self._require(record, "createPackages", "create packages for")
            for package in packages:
                check_package(record.doc, package)
            check_unit_totals(record.doc, packages)
            stored = []
            for package in packages:
                package = copy.deepcopy(package)
                package["status"] = "CREATED"
                stored.append(package)
            record.doc["packages"] = stored
            self._set_status(record, PACKAGE_CREATED, "createPackages")

    def update_package(self, shipment_id: str, package_id: str, body: Any) -> None:
        check_body("updatePackage", body)
        if body["id"] != package_id:
            raise bad_request(
                f"The body's package id '{body['id']}' differs from '{package_id}' in the path."
            )
        with self.lock:
            record = self._record(shipment_id)
            record.package(package_id)
            self._require(record, "updatePackage", "update a package of")
            check_package(record.doc, body)
            updated = [
                copy.deepcopy(body) if p["id"] == package_id else p for p in record.packages()
            ]
            check_unit_totals(record.doc, updated)
            for package in updated:
                package["status"] = "CREATED"
            record.doc["packages"] = updated
            # new contents invalidate the invoice and every label: both have to be made again
            record.invoice = None
            record.labels.clear()
            record.options.clear()
            record.doc.pop("invoiceInfo", None)
            requirements = record.doc["shipmentRequirements"]
            if requirements["invoice"].get("requirement") == "REQUIRED":
                requirements["invoice"]["status"] = "PENDING"
            requirements["pSlip"]["status"] = "NOT_GENERATED"
            self._set_status(record, PACKAGE_CREATED, f"updatePackage {package_id}")

    def retrieve_shipping_options(self, shipment_id: str, package_id: str | None) -> dict:
        if not package_id:
            raise bad_request("Missing required parameter 'packageId'.")
        with self.lock:
            record = self._record(shipment_id)
            record.package(package_id)
            self._require(record, "retrieveShippingOptions", "retrieve shipping options for")
            options = record.options.get(package_id)
            if options is None:
                options = record.options[package_id] = self._shipping_options(record, package_id)
            if record.status == PACKAGE_CREATED:
                self._set_status(
                    record, PICKUP_SLOT_RETRIEVED, f"retrieveShippingOptions {package_id}"
                )
            if not options:  # Seller Flex: the pickup slot is fixed, nothing to choose
                return {"shippingOptions": []}
            return {
                "shippingOptions": copy.deepcopy(options),
                "recommendedShippingOption": copy.deepcopy(options[0]),
            }

    def generate_invoice(self, shipment_id: str) -> dict:
        with self.lock:
            record = self._record(shipment_id)
            if not record.has_invoice:
                raise unprocessable(
                    f"generateInvoice is not supported for Easy Ship shipments in marketplace "
                    f"{record.doc['marketplaceAttributes']['marketplaceId']} (only in IN). Skip this step."
                )
            step = (
                "generateInvoice:seller_flex"
                if record.programme == "seller_flex"
                else "generateInvoice"
            )
            self._require(record, step, "generate the invoice of")
            if record.invoice is None:
                now = self._now()
                invoice_id = (
                    f"{record.doc['locationId'][-5:]}-{now:%y%m}-{self.rng.randrange(10**5, 10**6)}"
                )
                shape = self.config["invoice_shape"] or record.invoice_shape
                record.invoice = {
                    "invoiceId": invoice_id,
                    "shape": shape,
                    "document": documents.invoice_document(record.doc, invoice_id, shape),
                }
                record.doc["invoiceInfo"] = {"invoiceId": invoice_id, "creationDateTime": iso(now)}
                requirements = record.doc["shipmentRequirements"]
                if requirements["invoice"].get("requirement") == "REQUIRED":
                    requirements["invoice"]["status"] = "AVAILABLE"
                requirements["pSlip"]["status"] = "GENERATED"
            if record.status in {PACKAGE_CREATED, PICKUP_SLOT_RETRIEVED}:
                self._set_status(record, INVOICE_GENERATED, "generateInvoice")
            return {"document": copy.deepcopy(record.invoice["document"])}

    def retrieve_invoice(self, shipment_id: str) -> dict:
        with self.lock:
            record = self._record(shipment_id)
            if not record.has_invoice:
                raise not_found(
                    f"Shipment {shipment_id} has no invoice: Easy Ship outside IN has none."
                )
            if record.invoice is None:
                raise wrong_state(
                    f"No invoice has been generated for shipment {shipment_id} yet.",
                    "Call generateInvoice first.",
                )
            return {"document": copy.deepcopy(record.invoice["document"])}

    def generate_ship_labels(
        self, shipment_id: str, query: dict[str, str], body: Any, *, base_url: str = ""
    ) -> dict:
        values, problems = contract.check_query("generateShipLabels", query)
        if problems:
            raise bad_request(problems[0], "; ".join(problems[1:]))
        if body is None:
            raise bad_request("The request body with packageIds is required.")
        check_body("generateShipLabels", body)
        package_ids = body["packageIds"]
        if not package_ids:
            raise bad_request("packageIds must name at least one package.")
        duplicates = sorted({i for i in package_ids if package_ids.count(i) > 1})
        if duplicates:
            raise bad_request(f"Duplicate package id(s): {', '.join(duplicates)}.")
        operation = values["operation"]
        with self.lock:
            record = self._record(shipment_id)
            for package_id in package_ids:
                record.package(package_id)
            if operation == "REGENERATE":
                self._require(record, "generateShipLabels:REGENERATE", "regenerate labels of")
                missing = [p for p in package_ids if p not in record.labels]
                if missing:
                    raise wrong_state(
                        f"Package(s) {', '.join(missing)} have no label to regenerate.",
                        "Call generateShipLabels with operation GENERATE first.",
                    )
                shipped = [p for p in package_ids if record.package(p)["status"] == "SHIPPED"]
                if shipped:
                    raise wrong_state(f"Package(s) {', '.join(shipped)} are already shipped.")
            else:
                step = "generateShipLabels:GENERATE" + ("" if record.has_invoice else ":no_invoice")
                self._require(record, step, "generate labels of")
            courier = body.get("courierSupportedAttributes")
            option = self._chosen_option(
                record, package_ids, values.get("shippingOptionId"), courier
            )
            results = []
            for package_id in package_ids:
                label = record.labels.get(package_id)
                if label is None or operation == "REGENERATE":
                    if self.config["fail_next_labels"] > 0:
                        self.config["fail_next_labels"] -= 1
                        results.append(
                            {
                                "packageId": package_id,
                                "status": "FAILURE",
                                "errorDetails": {
                                    "code": "LabelGenerationFailed",
                                    "message": f"The carrier did not return a label for package {package_id}. Try again.",
                                    "details": "",
                                },
                            }
                        )
                        continue
                    label = self._new_label(record, package_id, option, courier)
                expired = self.config["expire_next_label_urls"] > 0
                if expired:
                    self.config["expire_next_label_urls"] -= 1
                results.append(self._label_answer(label, base_url, expired=expired))
            if record.status in {INVOICE_GENERATED, PICKUP_SLOT_RETRIEVED} and all(
                p["id"] in record.labels for p in record.packages()
            ):
                self._set_status(record, SHIPLABEL_GENERATED, f"generateShipLabels {operation}")
            return {"packageShipLabelList": results}

    def update_package_status(
        self, shipment_id: str, package_id: str, query: dict[str, str], body: Any
    ) -> None:
        values, problems = contract.check_query("updatePackageStatus", query)
        if problems:
            raise bad_request(problems[0])
        if body is not None:
            check_body("updatePackageStatus", body)
        status = values.get("status") or (body or {}).get("status")
        if status is None:
            raise bad_request("Say which status to set: query parameter status=SHIPPED.")
        with self.lock:
            record = self._record(shipment_id)
            package = record.package(package_id)
            if record.status == CANCELLED:
                raise wrong_state(f"Shipment {shipment_id} is cancelled.")
            if status == "SHIPPED":
                if package["status"] in {"SHIPPED", "DELIVERED"}:
                    by = (
                        " (scanned by the carrier at pickup)"
                        if package_id in record.carrier_scanned
                        else ""
                    )
                    raise ApiError(
                        409,
                        "DuplicateRequest",
                        f"Package {package_id} of shipment {shipment_id} is already shipped{by}.",
                    )
                if package["status"] != "SHIPLABEL_GENERATED":
                    raise wrong_state(
                        f"Package {package_id} has no ship label yet: it cannot be shipped.",
                        "Generate its label with generateShipLabels first.",
                    )
                self._ship_package(record, package, "updatePackageStatus SHIPPED")
            elif (
                status == "DELIVERED" and record.programme == "self_ship"
            ):  # the seller's own carrier reports delivery
                if package["status"] != "SHIPPED":
                    raise wrong_state(f"Package {package_id} is not shipped yet.")
                package["status"] = "DELIVERED"
                if all(p["status"] == "DELIVERED" for p in record.packages()):
                    self._set_status(record, DELIVERED, "updatePackageStatus DELIVERED")
                else:
                    self._touch(record)
            else:
                raise unprocessable(
                    f"Status {status} cannot be set by the seller for this shipment."
                )

    # --- sandbox-only actions -----------------------------------------------------------------------

    def create_shipment(self, spec: dict) -> dict:
        spec = dict(spec)
        if "invoice_shape" in spec and spec["invoice_shape"] not in documents.INVOICE_SHAPES:
            raise ValueError(f"invoice_shape must be one of {', '.join(documents.INVOICE_SHAPES)}")
        if "label_format" in spec and spec["label_format"] not in documents.LABEL_FORMATS:
            raise ValueError(f"label_format must be one of {', '.join(documents.LABEL_FORMATS)}")
        status = spec.pop("status", ACCEPTED)
        if status not in {ACCEPTED, "CREATED"}:
            raise ValueError("status must be ACCEPTED or CREATED; move it on through the API")
        with self.lock:
            try:
                seeded = seed.build_shipment(
                    self.rng, now=self._now(), taken_ids=self.taken_ids, status=status, **spec
                )
            except TypeError as exc:
                raise ValueError(str(exc)) from None
            if seeded.doc["id"] in self.records:
                raise ValueError(f"shipment {seeded.doc['id']} exists already")
            record = self._add(seeded)
            self._touch(record)
            return copy.deepcopy(record.doc)

    def marketplace_cancel(
        self, shipment_id: str, reason: str = "Customer cancelled the order"
    ) -> dict:
        with self.lock:
            record = self._record(shipment_id)
            if record.status in TERMINAL:
                raise wrong_state(
                    f"Shipment {shipment_id} is {record.status}: it cannot be cancelled."
                )
            self._cancel(record, "MARKETPLACE_CANCELLED", reason)
            return copy.deepcopy(record.doc)

    def carrier_scan(self, shipment_id: str, package_ids: list[str] | None = None) -> dict:
        """The carrier scans packages at pickup: Amazon marks them SHIPPED without the seller's call."""
        with self.lock:
            record = self._record(shipment_id)
            targets = [record.package(p) for p in package_ids] if package_ids else record.packages()
            if not targets:
                raise wrong_state(f"Shipment {shipment_id} has no packages to scan.")
            for package in targets:
                if package["status"] != "SHIPLABEL_GENERATED":
                    raise wrong_state(
                        f"Package {package['id']} has no label: the carrier cannot scan it."
                    )
            for package in targets:
                record.carrier_scanned.add(package["id"])
                self._ship_package(record, package, "carrier scan")
            record.doc["subStatus"] = "PICKED_UP"
            return copy.deepcopy(record.doc)

    def state(self, shipment_id: str, base_url: str = "") -> dict:
        with self.lock:
            record = self._record(shipment_id)
            return {
                "shipment": copy.deepcopy(record.doc),
                "programme": record.programme,
                "has_invoice": record.has_invoice,
                "invoice_shape": self.config["invoice_shape"] or record.invoice_shape,
                "label_format": self.config["label_format"] or record.label_format,
                "invoice": copy.deepcopy(record.invoice),
                "shipping_options": copy.deepcopy(record.options),
                "labels": {
                    p: self._label_answer(label, base_url)
                    | {"labelId": label["labelId"], "format": label["format"]}
                    for p, label in record.labels.items()
                },
                "served_labels": copy.deepcopy(record.served_labels),
                "carrier_scanned": sorted(record.carrier_scanned),
                "history": copy.deepcopy(record.history),
            }

    def summaries(self) -> list[dict]:
        with self.lock:
            return [
                {
                    "id": r.doc["id"],
                    "status": r.status,
                    "programme": r.programme,
                    "locationId": r.doc["locationId"],
                    "marketplaceId": r.doc["marketplaceAttributes"]["marketplaceId"],
                    "lastUpdatedDateTime": r.doc["lastUpdatedDateTime"],
                }
                for r in sorted(self.records.values(), key=lambda r: r.doc["id"])
            ]

    def live_tick(self) -> dict:
        """Live mode: a new order arrives and, sometimes, the marketplace cancels one in flight."""
        with self.lock:
            programme = self.rng.choice(list(seed.PROGRAMMES))
            market = self.rng.choice(
                ["IN", "IN", "AE", "DE", "US"]
                if programme != "easy_ship"
                else ["IN", "IN", "AE", "DE"]
            )
            skus = self.rng.sample(
                [p.sku for p in seed.CATALOGUE if p.pieces == 1], self.rng.choice([1, 1, 2])
            )
            created = self.create_shipment(
                {
                    "programme": programme,
                    "marketplace": market,
                    "skus": skus,
                    "location_id": self.rng.choice(seed.LOCATIONS),
                    "ship_by_hours": self.rng.uniform(2, 48),
                }
            )
            cancelled = None
            if self.rng.random() < self.config["live"]["cancel_probability"]:
                open_ = sorted(
                    r.doc["id"]
                    for r in self.records.values()
                    if r.status in {ACCEPTED, CONFIRMED, *PACKED}
                )
                if open_:
                    cancelled = self.rng.choice(open_)
                    self._cancel(
                        self.records[cancelled],
                        "MARKETPLACE_CANCELLED",
                        "Customer cancelled the order",
                    )
            return {"created": created["id"], "cancelled": cancelled}

    def label_file(self, label_id: str, query: dict[str, str]) -> tuple[int, str, bytes]:
        """(status, content type, bytes) for a presigned label URL; 403 S3-style XML when expired or forged."""
        with self.lock:
            found = self.labels_by_id.get(label_id)
            try:
                issued = datetime.strptime(query.get("X-Amz-Date", ""), "%Y%m%dT%H%M%SZ").replace(
                    tzinfo=UTC
                )
                expires = int(query.get("X-Amz-Expires", ""))
            except ValueError:
                return (
                    403,
                    "application/xml",
                    _s3_error(
                        "AccessDenied",
                        "Query-string authentication requires the "
                        "X-Amz-Date and X-Amz-Expires parameters",
                    ),
                )
            if not hmac.compare_digest(
                query.get("X-Amz-Signature", ""), self._sign(label_id, query["X-Amz-Date"], expires)
            ):
                return (
                    403,
                    "application/xml",
                    _s3_error(
                        "SignatureDoesNotMatch",
                        "The request signature we calculated "
                        "does not match the signature you provided.",
                    ),
                )
            if self._now() > issued + timedelta(seconds=expires):
                return 403, "application/xml", _s3_error("AccessDenied", "Request has expired")
            if found is None:
                return (
                    404,
                    "application/xml",
                    _s3_error("NoSuchKey", "The specified key does not exist."),
                )
            shipment_id, package_id = found
            record = self.records[shipment_id]
            label = next(
                (
                    l
                    for l in [*record.labels.values(), *record.served_labels]
                    if l["labelId"] == label_id
                ),
                None,
            )
            package = next((p for p in record.packages() if p["id"] == package_id), None)
            if label is None or package is None:
                return (
                    404,
                    "application/xml",
                    _s3_error("NoSuchKey", "The specified key does not exist."),
                )
            content = documents.label_content(label["format"], record.doc, package, label)
            return 200, documents.LABEL_CONTENT_TYPES[label["format"]], content

    # --- internals --------------------------------------------------------------------------------

    def _now(self) -> datetime:
        return self.clock().replace(microsecond=0)

    def _add(self, seeded: seed.SeededShipment) -> Record:
        updated = datetime.strptime(
            seeded.doc["lastUpdatedDateTime"], "%Y-%m-%dT%H:%M:%SZ"
        ).replace(tzinfo=UTC)
        record = Record(
            doc=seeded.doc,
            invoice_shape=seeded.invoice_shape,
            label_format=seeded.label_format,
            has_invoice=seeded.extras["has_invoice"],
            updated_at=updated,
        )
        self.records[seeded.doc["id"]] = record
        self.taken_ids.add(seeded.doc["id"])
        return record

    def _record(self, shipment_id: str) -> Record:
        record = self.records.get(shipment_id)
        if record is None:
            raise not_found(f"Requested Entity with 'shipmentId' '{shipment_id}' is not found")
        return record

    def _require(self, record: Record, step: str, doing: str) -> None:
        allowed = ACCEPTED_IN[step]
        if record.status not in allowed:
            raise wrong_state(
                f"Cannot {doing} shipment {record.doc['id']}: it is {record.status}.",
                f"Allowed when the shipment is {', '.join(sorted(allowed))}.",
            )

    def _touch(self, record: Record) -> None:
        now = self._now()
        record.updated_at = max(now, record.updated_at)
        record.doc["lastUpdatedDateTime"] = iso(record.updated_at)

    def _set_status(self, record: Record, status: str, cause: str) -> None:
        record.history.append(
            {"at": iso(self._now()), "from": record.status, "to": status, "by": cause}
        )
        record.doc["status"] = status
        if status in {PICKUP_SLOT_RETRIEVED, INVOICE_GENERATED}:
            for package in record.packages():
                if package["status"] in {"CREATED", PICKUP_SLOT_RETRIEVED, INVOICE_GENERATED}:
                    package["status"] = status
        self._touch(record)

    def _cancel(
        self, record: Record, kind: str, reason: str, per_line: dict[str, str] | None = None
    ) -> None:
        """Cancel every line: with its own reason where `per_line` has one (a seller's rejection
        names a reason per line), else `reason`, which also becomes the shipment's."""
        now = iso(self._now())
        for line in record.doc["lineItems"]:
            line["cancellations"] = [
                {
                    "cancelledQuantity": line["numberOfUnits"],
                    "cancelledTimestamp": now,
                    "cancellationType": kind,
                    "cancellationReason": (per_line or {}).get(line["shipmentLineItemId"], reason),
                }
            ]
        record.doc["reason"] = reason
        self._set_status(record, CANCELLED, kind)

    def _ship_package(self, record: Record, package: dict, cause: str) -> None:
        package["status"] = "SHIPPED"
        if all(p["status"] in {"SHIPPED", "DELIVERED"} for p in record.packages()):
            self._set_status(record, SHIPPED, cause)
        else:
            record.history.append(
                {"at": iso(self._now()), "package": package["id"], "to": "SHIPPED", "by": cause}
            )
            self._touch(record)

    def _shipping_options(self, record: Record, package_id: str) -> list[dict]:
        programme = record.programme
        if programme == "seller_flex":
            return []
        shipment_id = record.doc["id"]
        if programme == "self_ship":
            return [
                {
                    "shippingOptionId": _option_id(shipment_id, package_id, "SELF"),
                    "shipBy": "SELLER",
                }
            ]
        country = seed.MARKETPLACE_BY_ID[record.doc["marketplaceAttributes"]["marketplaceId"]].code
        now = self._now()
        first = (now + timedelta(hours=2)).replace(minute=0, second=0)
        options = []
        for index, (carrier, handover) in enumerate(CARRIERS[country]):
            start = first + timedelta(hours=20 * index)
            window = {
                "startTime": int(start.timestamp()),
                "endTime": int((start + timedelta(hours=3)).timestamp()),
            }
            option = {
                "shippingOptionId": _option_id(shipment_id, package_id, carrier),
                "shipBy": "MARKETPLACE",
                "carrierName": carrier,
                "pickupWindow": dict(window),
                "timeSlot": {**window, "handoverMethod": handover},
            }
            if handover == "DROPOFF":
                option["handoverLocation"] = {
                    "address": dict(DROPOFF_POINTS[country]),
                    "distance": {"value": "2.4", "distanceUnit": "MI" if country == "US" else "KM"},
                    "mapUrl": "https://maps.example.com/?q="
                    + DROPOFF_POINTS[country]["postalCode"],
                }
            options.append(option)
        return options

    def _chosen_option(
        self, record: Record, package_ids: list[str], option_id: str | None, courier: dict | None
    ) -> dict | None:
        programme = record.programme
        if programme == "self_ship":
            if not courier:
                raise bad_request(
                    "Self-Ship labels need courierSupportedAttributes (carrierName and trackingId)."
                )
            return None
        if programme == "seller_flex":
            return None
        offered = [o for p in package_ids for o in record.options.get(p, [])]
        if option_id is None:
            if all(p in record.labels for p in package_ids):
                return None  # labels exist: GENERATE again just hands them back
            raise bad_request(
                "Missing required parameter 'shippingOptionId' (required for Easy Ship)."
            )
        for option in offered:
            if option["shippingOptionId"] == option_id:
                return option
        raise unprocessable(
            f"Shipping option '{option_id}' was not offered for package(s) {', '.join(package_ids)}.",
            "Retrieve shipping options for the package and pick one of them.",
        )

    def _new_label(
        self, record: Record, package_id: str, option: dict | None, courier: dict | None
    ) -> dict:
        old = record.labels.get(package_id)
        if old is not None:
            record.served_labels.append(old)
        country = seed.MARKETPLACE_BY_ID[record.doc["marketplaceAttributes"]["marketplaceId"]].code
        if courier:
            carrier, tracking = courier["carrierName"], courier["trackingId"]
        elif option is not None:
            carrier, tracking = option["carrierName"], self._tracking_id(option["carrierName"])
        elif old is not None:
            carrier, tracking = old["carrierName"], self._tracking_id(old["carrierName"])
        else:  # Seller Flex: Amazon's own carrier at the location's fixed slot
            carrier, tracking = (
                ("ATS" if country == "IN" else f"AMZL_{country}"),
                self._tracking_id("ATS"),
            )
        label = {
            "labelId": secrets.token_hex(8),
            "packageId": package_id,
            "carrierName": carrier,
            "trackingId": tracking,
            "format": self.config["label_format"] or record.label_format,
            "createdAt": iso(self._now()),
            "shippingOptionId": option["shippingOptionId"] if option else None,
        }
        if option is not None:
            label["pickupWindow"] = option.get("pickupWindow")
            label["timeSlot"] = option.get("timeSlot")
            label["handoverLocation"] = option.get("handoverLocation")
        elif record.programme == "seller_flex":
            slot = (self._now() + timedelta(days=1)).replace(hour=10, minute=0, second=0)
            label["pickupWindow"] = {
                "startTime": int(slot.timestamp()),
                "endTime": int(slot.timestamp()) + 4 * 3600,
            }
            label["timeSlot"] = {**label["pickupWindow"], "handoverMethod": "PICKUP"}
        record.labels[package_id] = label
        self.labels_by_id[label["labelId"]] = (record.doc["id"], package_id)
        record.package(package_id)["status"] = "SHIPLABEL_GENERATED"
        self._touch(record)
        return label

    def _tracking_id(self, carrier: str) -> str:
        digits = "".join(str(self.rng.randrange(10)) for _ in range(12))
        if carrier.startswith("AMZL"):
            return "TBA" + digits
        if carrier == "DHL_PAKET":
            return "00340434" + digits
        if carrier == "UPS":
            return "1Z" + digits[:6].upper() + "03" + digits[6:]
        return digits

    def _label_answer(self, label: dict, base_url: str, *, expired: bool = False) -> dict:
        metadata = {"carrierName": label["carrierName"], "trackingId": label["trackingId"]}
        for key in ("shippingOptionId", "pickupWindow", "timeSlot", "handoverLocation"):
            if label.get(key):
                metadata[key] = copy.deepcopy(label[key])
        return {
            "packageId": label["packageId"],
            "shipLabelMetadata": metadata,
            "fileData": {"url": base_url + self._presign(label["labelId"], expired=expired)},
            "status": "SUCCESS",
        }

    def _presign(self, label_id: str, *, expired: bool = False) -> str:
        expires = self.config["label_url_ttl_seconds"]
        # An expired link is one signed long enough ago, as a fetch that came too late would see it.
        issued = self._now() - timedelta(seconds=expires + 1) if expired else self._now()
        date = issued.strftime("%Y%m%dT%H%M%SZ")
        query = {
            "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
            "X-Amz-Credential": "AKIASANDBOXLABELS/" + date[:8] + "/us-east-1/s3/aws4_request",
            "X-Amz-Date": date,
            "X-Amz-Expires": str(expires),
            "X-Amz-SignedHeaders": "host",
            "X-Amz-Signature": self._sign(label_id, date, expires),
        }
        return f"/_sandbox/labels/{label_id}?{urlencode(query)}"

    def _sign(self, label_id: str, date: str, expires: int) -> str:
        return hmac.new(
            self.signing_key, f"{label_id}\n{date}\n{expires}".encode(), hashlib.sha256
        ).hexdigest()


# Access tokens carry their own expiry, signed with a fixed key: a token cached by Packbench (in
# Redis, across test runs) stays valid when the sandbox restarts, as a real LWA token would.
_TOKEN_KEY = b"packbench-sandbox-lwa"


def _sign_token(payload: dict) -> str:
    body = (
        base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode())
        .decode()
        .rstrip("=")
    )
    mac = hmac.new(_TOKEN_KEY, body.encode(), hashlib.sha256).hexdigest()[:32]
    return f"Atza|{body}.{mac}"


def _read_token(token: str) -> dict | None:
    if not token.startswith("Atza|") or "." not in token:
        return None
    body, mac = token[5:].rsplit(".", 1)
    if not hmac.compare_digest(
        mac, hmac.new(_TOKEN_KEY, body.encode(), hashlib.sha256).hexdigest()[:32]
    ):
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        return (
            payload
            if isinstance(payload.get("e"), int) and isinstance(payload.get("i"), int)
            else None
        )
    except ValueError:
        return None


def _option_id(shipment_id: str, package_id: str, carrier: str) -> str:
    return base64.b64encode(f"{shipment_id}|{package_id}|{carrier}".encode()).decode()


def _static_matches(name: str, expected: Any, parameters: dict[str, Any], body: Any) -> bool:
    if name == "body":
        return expected == {} or expected == body
    return str(parameters.get(name)) == str(expected)


def _parse_time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise bad_request(
            f"Invalid input '{value}' for parameter '{name}': expected ISO 8601 date-time."
        ) from None
    return moment.replace(tzinfo=moment.tzinfo or UTC)


def _page_token(updated: str, shipment_id: str, fingerprint: str) -> str:
    raw = json.dumps(
        {"lastUpdatedTimestamp": updated, "id": shipment_id, "q": fingerprint}
    ).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _read_page_token(token: str, fingerprint: str) -> tuple[str, str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        position = (data["lastUpdatedTimestamp"], data["id"])
        same_query = data["q"] == fingerprint
    except (ValueError, KeyError, TypeError):
        raise bad_request("Invalid input for parameter 'paginationToken'.") from None
    if not same_query:
        raise bad_request("The paginationToken belongs to a query with other filters.")
    return position


def _s3_error(code: str, message: str) -> bytes:
    request_id = secrets.token_hex(8).upper()
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        f"<RequestId>{request_id}</RequestId><HostId>sandbox</HostId></Error>"
    ).encode()
