"""The SmartConnect operations: the state machine of the package docstring, over HTTP handlers."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any, ClassVar

from .. import documents
from ..core import auth, paging
from ..core.api import Api, Call
from ..core.errors import ApiError, bad_request, not_found, unprocessable, wrong_state
from ..core.timefmt import iso, parse_time
from . import seed
from .http import HANDLERS
from .labels import LabelDesk
from .marketplace import MarketplaceSide
from .records import (
    ACCEPTED,
    CANCELLED,
    CONFIRMED,
    DELIVERED,
    INVOICE_GENERATED,
    MODEL,
    PACKAGE_CREATED,
    PICKUP_SLOT_RETRIEVED,
    SHIPLABEL_GENERATED,
    Record,
)
from .rules import check_body, check_package, check_unit_totals


class ExternalFulfillmentApi(MarketplaceSide, Api):
    """SmartConnect shipments; `records` holds them by shipment id."""

    name = "external_fulfillment"
    handlers: ClassVar = {
        (MODEL, operation_id): handler for operation_id, handler in HANDLERS.items()
    }
    default_plan = (1.0, 1)  # guide 003: 1 request/s per operation (the model states no plan)
    size_key, default_size = "count", 40
    config_defaults: ClassVar = {
        "label_url_ttl_seconds": 300,
        "empty_page_every": 0,  # every Nth follow-up page comes back empty (with nextToken)
        "fail_next_labels": 0,  # the next N package labels fail inside a 200 (status FAILURE)
        "expire_next_label_urls": 0,  # the next N label links handed out are already expired
        "invoice_shape": None,  # force one of documents.INVOICE_SHAPES for every shipment
        "label_format": None,  # force one of documents.LABEL_FORMATS
        # location id -> refresh token of the seller it belongs to: getShipments lists a seller its own
        # locations' shipments only, as Amazon does (a location not named here is every seller's).
        "location_sellers": {},
    }

    def __init__(self, sandbox):
        super().__init__(sandbox)
        self.labels = LabelDesk(self)
        self.records: dict[str, Record] = {}

    def check_config(self, key: str, value: Any) -> Any:
        if key in {"label_url_ttl_seconds", "fail_next_labels", "expire_next_label_urls"}:
            if int(value) < 0:
                raise ValueError(f"{key} must not be negative")
            return int(value)
        if key == "location_sellers":
            if not isinstance(value, dict):
                raise ValueError("location_sellers must map location ids to refresh tokens")
            return {str(location): auth.seller_key(str(token)) for location, token in value.items()}
        if key == "empty_page_every":
            if int(value) == 1 or int(value) < 0:
                raise ValueError("empty_page_every must be 0 (off) or at least 2")
            return int(value)
        choices = {
            "invoice_shape": documents.INVOICE_SHAPES,
            "label_format": documents.LABEL_FORMATS,
        }
        if value is not None and value not in choices[key]:
            raise ValueError(f"{key} must be one of {', '.join(choices[key])} or null")
        return value

    def reset(self) -> int:
        self.records = {}
        self.labels.labels_by_id.clear()
        self.taken_ids: set[str] = set()
        self.page_requests = 0
        now = self.now()
        for index, seeded in enumerate(
            seed.seed_shipments(self.sandbox.seed_number, self.size, now)
        ):
            record = self._add(seeded)
            # a few seeded shipments are further along / already cancelled, as a real queue is
            if index in (12, 13):
                record.set_status(CONFIRMED, "seed", now)
            elif index == 14:
                record.cancel("MARKETPLACE_CANCELLED", "Customer cancelled the order", now)
        self.taken_ids |= set(self.records)
        return len(self.records)

    # --- HTTP ------------------------------------------------------------------------------------

    def static_case(self, operation_id: str, call: Call) -> tuple[int, Any] | None:
        """Amazon's `x-amzn-api-sandbox.static` answer for a TEST_CASE_ request, else None."""
        if operation_id in {"createPackages", "updatePackage"}:
            call.require_body()
        parameters = {**call.query, **call.path}
        if not any(
            str(parameters.get(k, "")).startswith("TEST_CASE_")
            for k in ("shipmentId", "locationId")
        ):
            return None
        generic = None
        for status, expected, response in MODEL.static_cases(operation_id):
            if not expected:
                generic = generic or (status, response)
                continue
            if all(
                _static_matches(name, spec.get("value"), parameters, call.body)
                for name, spec in expected.items()
            ):
                return status, response
        return generic or (400, bad_request("Invalid input").body())

    def call_ids(self, operation_id: str, call: Call) -> dict:
        return {
            "shipment_id": call.path.get("shipmentId"),
            "package_id": call.path.get("packageId") or call.query.get("packageId"),
        }

    # --- the operations ----------------------------------------------------------------------

    def get_shipments(self, query: dict[str, str], *, seller: str = "") -> dict:
        values, problems = MODEL.check_query("getShipments", query)
        if problems:
            raise bad_request(problems[0], "; ".join(problems[1:]))
        after = parse_time(values.get("lastUpdatedAfter"), "lastUpdatedAfter")
        before = parse_time(values.get("lastUpdatedBefore"), "lastUpdatedBefore")
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
        query_fingerprint = paging.fingerprint(filters)
        position = None
        if values.get("paginationToken"):
            position = paging.read_page_token(
                values["paginationToken"],
                query_fingerprint,
                ("lastUpdatedTimestamp", "id"),
                "paginationToken",
            )
        owners = self.config["location_sellers"]
        with self.lock:
            matching = sorted(
                (
                    r
                    for r in self.records.values()
                    if r.status == values["status"]
                    and (not seller or owners.get(r.doc["locationId"], seller) == seller)
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
                position = {"lastUpdatedTimestamp": iso(last.updated_at), "id": last.doc["id"]}
                answer["pagination"] = {"nextToken": paging.page_token(position, query_fingerprint)}
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
                record.require("processShipment:CONFIRM", "confirm")
                record.set_status(CONFIRMED, "processShipment CONFIRM", self.now())
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
            per_line = {
                i["lineItem"]["id"]: i["reason"] for i in body["lineItems"] if i.get("reason")
            }
            record.cancel("SELLER_REJECTED", reason, self.now(), per_line)

    def create_packages(self, shipment_id: str, body: Any) -> None:
        check_body("createPackages", body)
        packages = body["packages"]
        ids = [p["id"] for p in packages]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise bad_request(f"Duplicate package id(s) in the request: {', '.join(duplicates)}.")
        with self.lock:
            record = self._record(shipment_id)
            record.require("createPackages", "create packages for")
            for package in packages:
                check_package(record.doc, package)
            check_unit_totals(record.doc, packages)
            stored = []
            for package in packages:
                package = copy.deepcopy(package)
                package["status"] = "CREATED"
                stored.append(package)
            record.doc["packages"] = stored
            record.set_status(PACKAGE_CREATED, "createPackages", self.now())

    def update_package(self, shipment_id: str, package_id: str, body: Any) -> None:
        check_body("updatePackage", body)
        if body["id"] != package_id:
            raise bad_request(
                f"The body's package id '{body['id']}' differs from '{package_id}' in the path."
            )
        with self.lock:
            record = self._record(shipment_id)
            record.package(package_id)
            record.require("updatePackage", "update a package of")
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
            record.set_status(PACKAGE_CREATED, f"updatePackage {package_id}", self.now())

    def retrieve_shipping_options(self, shipment_id: str, package_id: str | None) -> dict:
        if not package_id:
            raise bad_request("Missing required parameter 'packageId'.")
        with self.lock:
            record = self._record(shipment_id)
            record.package(package_id)
            record.require("retrieveShippingOptions", "retrieve shipping options for")
            options = record.options.get(package_id)
            if options is None:
                options = record.options[package_id] = self.labels.shipping_options(
                    record, package_id
                )
            if record.status == PACKAGE_CREATED:
                record.set_status(
                    PICKUP_SLOT_RETRIEVED, f"retrieveShippingOptions {package_id}", self.now()
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
            record.require(step, "generate the invoice of")
            if record.invoice is None:
                now = self.now()
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
                record.set_status(INVOICE_GENERATED, "generateInvoice", self.now())
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
        values, problems = MODEL.check_query("generateShipLabels", query)
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
                record.require("generateShipLabels:REGENERATE", "regenerate labels of")
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
                record.require(step, "generate labels of")
            courier = body.get("courierSupportedAttributes")
            option = self.labels.chosen_option(
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
                    label = self.labels.new_label(record, package_id, option, courier)
                expired = self.config["expire_next_label_urls"] > 0
                if expired:
                    self.config["expire_next_label_urls"] -= 1
                results.append(self.labels.answer(label, base_url, expired=expired))
            if record.status in {INVOICE_GENERATED, PICKUP_SLOT_RETRIEVED} and all(
                p["id"] in record.labels for p in record.packages()
            ):
                record.set_status(
                    SHIPLABEL_GENERATED, f"generateShipLabels {operation}", self.now()
                )
            return {"packageShipLabelList": results}

    def update_package_status(
        self, shipment_id: str, package_id: str, query: dict[str, str], body: Any
    ) -> None:
        values, problems = MODEL.check_query("updatePackageStatus", query)
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
                record.ship_package(package, "updatePackageStatus SHIPPED", self.now())
            elif (
                status == "DELIVERED" and record.programme == "self_ship"
            ):  # the seller's own carrier reports delivery
                if package["status"] != "SHIPPED":
                    raise wrong_state(f"Package {package_id} is not shipped yet.")
                package["status"] = "DELIVERED"
                if all(p["status"] == "DELIVERED" for p in record.packages()):
                    record.set_status(DELIVERED, "updatePackageStatus DELIVERED", self.now())
                else:
                    record.touch(self.now())
            else:
                raise unprocessable(
                    f"Status {status} cannot be set by the seller for this shipment."
                )

    # --- internals --------------------------------------------------------------------------------

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


def _static_matches(name: str, expected: Any, parameters: dict[str, Any], body: Any) -> bool:
    if name == "body":
        return expected == {} or expected == body
    return str(parameters.get(name)) == str(expected)
