"""What Amazon's marketplace and carriers do to SmartConnect shipments without the seller asking
(new orders, cancellations, carrier scans), and the sandbox's own views of the shipments."""

from __future__ import annotations

import copy

from .. import documents
from ..core.catalogue import CATALOGUE, LOCATIONS
from ..core.errors import wrong_state
from . import seed
from .records import ACCEPTED, CONFIRMED, PACKED, TERMINAL


class MarketplaceSide:
    """Mixed into ExternalFulfillmentApi: works on its `records` under the sandbox's lock."""

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
                    self.rng, now=self.now(), taken_ids=self.taken_ids, status=status, **spec
                )
            except TypeError as exc:
                raise ValueError(str(exc)) from None
            if seeded.doc["id"] in self.records:
                raise ValueError(f"shipment {seeded.doc['id']} exists already")
            record = self._add(seeded)
            record.touch(self.now())
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
            record.cancel("MARKETPLACE_CANCELLED", reason, self.now())
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
                record.ship_package(package, "carrier scan", self.now())
            record.doc["subStatus"] = "PICKED_UP"
            return copy.deepcopy(record.doc)

    def tamper(self, shipment_id: str, changes: dict) -> dict:
        """Set (`set`: dotted path -> value) or drop (`remove`: dotted paths) fields of a shipment as
        getShipment(s) serve it, to play a shipment that breaks the model or carries codes longer
        than expected. Counts as an update (lastUpdatedDateTime moves)."""
        with self.lock:
            record = self._record(shipment_id)
            for dotted, value in (changes.get("set") or {}).items():
                *parents, name = _path(dotted)
                _walk(record.doc, parents)[name] = value
            for dotted in changes.get("remove") or []:
                *parents, name = _path(dotted)
                _walk(record.doc, parents).pop(name, None)
            record.touch(self.now())
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
                    p: self.labels.answer(label, base_url)
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
                [p.sku for p in CATALOGUE if p.pieces == 1], self.rng.choice([1, 1, 2])
            )
            created = self.create_shipment(
                {
                    "programme": programme,
                    "marketplace": market,
                    "skus": skus,
                    "location_id": self.rng.choice(LOCATIONS),
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
                    self.records[cancelled].cancel(
                        "MARKETPLACE_CANCELLED", "Customer cancelled the order", self.now()
                    )
            return {"created": created["id"], "cancelled": cancelled}

    def label_file(self, label_id: str, query: dict[str, str]) -> tuple[int, str, bytes]:
        """(status, content type, bytes) for a presigned label URL; 403 S3-style XML when expired or forged."""
        return self.labels.label_file(label_id, query)


def _path(dotted: str) -> list:
    """"lineItems.0.merchantSku" -> ["lineItems", 0, "merchantSku"]."""
    return [int(part) if part.isdigit() else part for part in dotted.split(".")]


def _walk(doc, parts: list):
    for part in parts:
        doc = doc[part]
    return doc
