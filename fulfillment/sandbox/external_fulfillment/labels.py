"""SmartConnect's carriers, shipping options and ship labels, and the presigned links labels
are fetched from (S3-style: signed, expiring, 403 XML when expired or forged)."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from .. import documents
from ..core.catalogue import MARKETPLACE_BY_ID
from ..core.errors import bad_request, unprocessable
from ..core.timefmt import iso
from .records import Record

if TYPE_CHECKING:
    from .engine import ExternalFulfillmentApi

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


class LabelDesk:
    """Shipping options and labels of one sandbox's shipments; signs and serves label links."""

    def __init__(self, api: ExternalFulfillmentApi):
        self.api = api
        self.signing_key = secrets.token_bytes(32)
        self.labels_by_id: dict[str, tuple[str, str]] = {}

    def shipping_options(self, record: Record, package_id: str) -> list[dict]:
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
        country = MARKETPLACE_BY_ID[record.doc["marketplaceAttributes"]["marketplaceId"]].code
        now = self.api.now()
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

    def chosen_option(
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

    def new_label(
        self, record: Record, package_id: str, option: dict | None, courier: dict | None
    ) -> dict:
        old = record.labels.get(package_id)
        if old is not None:
            record.served_labels.append(old)
        country = MARKETPLACE_BY_ID[record.doc["marketplaceAttributes"]["marketplaceId"]].code
        if courier:
            carrier, tracking = courier["carrierName"], courier["trackingId"]
        elif option is not None:
            carrier, tracking = option["carrierName"], self.tracking_id(option["carrierName"])
        elif old is not None:
            carrier, tracking = old["carrierName"], self.tracking_id(old["carrierName"])
        else:  # Seller Flex: Amazon's own carrier at the location's fixed slot
            carrier, tracking = (
                ("ATS" if country == "IN" else f"AMZL_{country}"),
                self.tracking_id("ATS"),
            )
        label = {
            "labelId": secrets.token_hex(8),
            "packageId": package_id,
            "carrierName": carrier,
            "trackingId": tracking,
            "format": self.api.config["label_format"] or record.label_format,
            "createdAt": iso(self.api.now()),
            "shippingOptionId": option["shippingOptionId"] if option else None,
        }
        if option is not None:
            label["pickupWindow"] = option.get("pickupWindow")
            label["timeSlot"] = option.get("timeSlot")
            label["handoverLocation"] = option.get("handoverLocation")
        elif record.programme == "seller_flex":
            slot = (self.api.now() + timedelta(days=1)).replace(hour=10, minute=0, second=0)
            label["pickupWindow"] = {
                "startTime": int(slot.timestamp()),
                "endTime": int(slot.timestamp()) + 4 * 3600,
            }
            label["timeSlot"] = {**label["pickupWindow"], "handoverMethod": "PICKUP"}
        record.labels[package_id] = label
        self.labels_by_id[label["labelId"]] = (record.doc["id"], package_id)
        record.package(package_id)["status"] = "SHIPLABEL_GENERATED"
        record.touch(self.api.now())
        return label

    def tracking_id(self, carrier: str) -> str:
        digits = "".join(str(self.api.rng.randrange(10)) for _ in range(12))
        if carrier.startswith("AMZL"):
            return "TBA" + digits
        if carrier == "DHL_PAKET":
            return "00340434" + digits
        if carrier == "UPS":
            return "1Z" + digits[:6].upper() + "03" + digits[6:]
        return digits

    def answer(self, label: dict, base_url: str, *, expired: bool = False) -> dict:
        metadata = {"carrierName": label["carrierName"], "trackingId": label["trackingId"]}
        for key in ("shippingOptionId", "pickupWindow", "timeSlot", "handoverLocation"):
            if label.get(key):
                metadata[key] = copy.deepcopy(label[key])
        return {
            "packageId": label["packageId"],
            "shipLabelMetadata": metadata,
            "fileData": {"url": base_url + self.presign(label["labelId"], expired=expired)},
            "status": "SUCCESS",
        }

    def presign(self, label_id: str, *, expired: bool = False) -> str:
        expires = self.api.config["label_url_ttl_seconds"]
        # An expired link is one signed long enough ago, as a fetch that came too late would see it.
        issued = self.api.now() - timedelta(seconds=expires + 1) if expired else self.api.now()
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

    def label_file(self, label_id: str, query: dict[str, str]) -> tuple[int, str, bytes]:
        """(status, content type, bytes) for a presigned label URL; 403 S3-style XML when expired or forged."""
        with self.api.lock:
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
            if self.api.now() > issued + timedelta(seconds=expires):
                return 403, "application/xml", _s3_error("AccessDenied", "Request has expired")
            if found is None:
                return (
                    404,
                    "application/xml",
                    _s3_error("NoSuchKey", "The specified key does not exist."),
                )
            shipment_id, package_id = found
            record = self.api.records[shipment_id]
            label = next(
                (
                    label
                    for label in [*record.labels.values(), *record.served_labels]
                    if label["labelId"] == label_id
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


def _option_id(shipment_id: str, package_id: str, carrier: str) -> str:
    return base64.b64encode(f"{shipment_id}|{package_id}|{carrier}".encode()).decode()


def _s3_error(code: str, message: str) -> bytes:
    request_id = secrets.token_hex(8).upper()
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        f"<RequestId>{request_id}</RequestId><HostId>sandbox</HostId></Error>"
    ).encode()
