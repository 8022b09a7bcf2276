"""The Orders API operations (v0 and 2026-01-01) and what the marketplace does to MFN orders."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any, ClassVar

from ..core.api import Api, Call
from ..core.catalogue import LOCATIONS
from ..core.errors import bad_request, wrong_state
from ..core.timefmt import iso
from . import seed, shipping, v0, v2026
from .records import (
    CANCELED,
    MODEL_2026,
    MODEL_V0,
    PENDING,
    UNSHIPPED,
    OrderRecord,
    find,
)

PENDING_MINUTES = 5  # live mode: payment of a Pending order is authorized after this long


class OrdersApi(Api):
    """MFN orders by AmazonOrderId (`records`)."""

    name = "orders"
    size_key, default_size = "orders", 16
    config_defaults: ClassVar = {
        # without an explicit ...Before, getOrders/searchOrders do not list orders changed in
        # the last N seconds (Amazon: now minus two minutes); 0 lists everything at once
        "orders_list_lag_seconds": 120,
    }

    def __init__(self, sandbox):
        super().__init__(sandbox)
        self.records: dict[str, OrderRecord] = {}
        self.taken_ids: set[str] = set()

    def check_config(self, key: str, value: Any) -> Any:
        if int(value) < 0:
            raise ValueError(f"{key} must not be negative")
        return int(value)

    def reset(self) -> int:
        now = self.now()
        self.records, self.taken_ids = {}, set()
        for record in seed.seed_orders(self.sandbox.seed_number, self.size, now):
            self.records[record.order_id] = record
            self.taken_ids.add(record.order_id)
        ordered = list(self.records.values())
        if len(ordered) > seed.PARTLY_SHIPPED_INDEX:
            record = ordered[seed.PARTLY_SHIPPED_INDEX]
            item = record.items[0]
            self.confirm_package(record, {item.order_item_id: 1}, "UPS", "1Z999AA10123456784")
        if len(ordered) > seed.CANCELLED_INDEX:
            self._cancel(ordered[seed.CANCELLED_INDEX], "Ordered by mistake", False)
        return len(self.records)

    def record(self, order_id: str) -> OrderRecord:
        """The order (404 in Amazon's shape when unknown); callers hold the lock."""
        return find(self.records, order_id)

    def call_ids(self, operation_id: str, call: Call) -> dict:
        return {"order_id": call.path.get("orderId")}

    # --- Orders v0 ---------------------------------------------------------------------------

    def get_orders(self, call: Call):
        with self.lock:
            lag = self.config["orders_list_lag_seconds"]
            return 200, v0.get_orders(list(self.records.values()), call.lists, self.now(), lag)

    def get_order(self, call: Call):
        with self.lock:
            return 200, {"payload": v0.order(self.record(call.path["orderId"]))}

    def get_order_items(self, call: Call):
        with self.lock:
            record = self.record(call.path["orderId"])
            if call.query.get("NextToken"):  # every order fits one page: no token was handed out
                raise bad_request("Invalid input for parameter 'NextToken'.")
            items = [v0.order_item(record, item) for item in record.items]
            return 200, {"payload": {"AmazonOrderId": record.order_id, "OrderItems": items}}

    def confirm_shipment(self, call: Call):
        body = call.require_body()
        with self.lock:
            shipping.confirm_shipment(self.record(call.path["orderId"]), body, self.now())
        return 204, None

    def update_shipment_status(self, call: Call):
        body = call.require_body()
        with self.lock:
            shipping.update_shipment_status(self.record(call.path["orderId"]), body, self.now())
        return 204, None

    # --- Orders 2026-01-01 -------------------------------------------------------------------------

    def search_orders(self, call: Call):
        with self.lock:
            lag = self.config["orders_list_lag_seconds"]
            records = list(self.records.values())
            return 200, v2026.search_orders(records, call.lists, self.now(), lag)

    def get_order_2026(self, call: Call):
        with self.lock:
            return 200, v2026.get_order(self.record(call.path["orderId"]), call.lists)

    handlers: ClassVar = {
        (MODEL_V0, "getOrders"): get_orders,
        (MODEL_V0, "getOrder"): get_order,
        (MODEL_V0, "getOrderItems"): get_order_items,
        (MODEL_V0, "confirmShipment"): confirm_shipment,
        (MODEL_V0, "updateShipmentStatus"): update_shipment_status,
        (MODEL_2026, "searchOrders"): search_orders,
        (MODEL_2026, "getOrder"): get_order_2026,
    }

    # --- what others do to orders (the buyer, Amazon, Merchant Fulfillment) ------------------------

    def confirm_package(
        self, record: OrderRecord, items: dict[str, int], carrier: str, tracking: str
    ) -> dict:
        """Confirm a package as confirmShipment would, under the next free packageReferenceId."""
        reference = str(max((int(r) for r in record.packages), default=0) + 1)
        body = {
            "marketplaceId": record.marketplace.marketplace_id,
            "packageDetail": {
                "packageReferenceId": reference,
                "carrierCode": carrier,
                "trackingNumber": tracking,
                "shipDate": iso(self.now()),
                "orderItems": [{"orderItemId": i, "quantity": n} for i, n in items.items()],
            },
        }
        return shipping.confirm_shipment(record, body, self.now())

    def create_order(self, spec: dict) -> dict:
        spec = dict(spec)
        if "marketplace" in spec:
            spec["marketplace_code"] = spec.pop("marketplace")
        with self.lock:
            try:
                record = seed.build_order(
                    self.rng, now=self.now(), taken_ids=self.taken_ids, **spec
                )
            except TypeError as exc:
                raise ValueError(str(exc)) from None
            record.updated_at = self.now()
            self.records[record.order_id] = record
            return self.state(record.order_id)

    def cancel_order(self, order_id: str, reason: str, request_only: bool = False) -> dict:
        """The buyer cancels (Pending/Unshipped orders), or only asks the seller to
        (request_only: BuyerRequestedCancel on every item, the order stays as it is)."""
        with self.lock:
            self._cancel(self.record(order_id), reason, request_only)
            return self.state(order_id)

    def _cancel(self, record: OrderRecord, reason: str, request_only: bool) -> None:
        if record.status not in {PENDING, UNSHIPPED}:
            raise wrong_state(
                f"Order {record.order_id} is {record.status}: the buyer can no longer cancel it."
            )
        for item in record.items:
            item.cancel_requested = reason
        if request_only:
            record.touch(self.now())
            return
        record.cancel_reason = reason
        record.move(CANCELED, "buyer cancellation", self.now())

    def authorize(self, order_id: str) -> dict:
        """The buyer's payment is authorized: Pending -> Unshipped."""
        with self.lock:
            record = self.record(order_id)
            if record.status != PENDING:
                raise wrong_state(f"Order {order_id} is {record.status}, not Pending.")
            record.move(UNSHIPPED, "payment authorized", self.now())
            return self.state(order_id)

    def state(self, order_id: str) -> dict:
        """Everything the sandbox keeps about one order, for tests and demos."""
        with self.lock:
            record = self.record(order_id)
            return {
                "order": v0.order(record),
                "items": [v0.order_item(record, i) for i in record.items],
                "units": {
                    i.order_item_id: {
                        "ordered": i.quantity,
                        "shipped": i.shipped,
                        "readyForPickup": i.ready,
                        "refusedPickup": i.refused,
                        "left": i.left,
                    }
                    for i in record.items
                },
                "confirmations": copy.deepcopy(record.packages),
                "shipTo": dict(record.ship_to),
                "locationId": record.location_id,
                "cancelReason": record.cancel_reason,
                "history": copy.deepcopy(record.history),
            }

    def summaries(self) -> list[dict]:
        with self.lock:
            return [r.summary() for r in sorted(self.records.values(), key=lambda r: r.order_id)]

    def live_tick(self) -> dict:
        """Live mode: Pending payments clear after a few minutes; now and then an order arrives."""
        with self.lock:
            now = self.now()
            authorized = []
            for record in self.records.values():
                if record.status == PENDING and now - record.purchased_at >= timedelta(
                    minutes=PENDING_MINUTES
                ):
                    record.move(UNSHIPPED, "payment authorized", now)
                    authorized.append(record.order_id)
            created = None
            if self.rng.random() < 0.5:
                spec = {
                    "marketplace": self.rng.choice(["US", "US", "IN", "DE"]),
                    "location_id": self.rng.choice(LOCATIONS),
                    "placed_minutes_ago": 0,
                    "status": self.rng.choice([UNSHIPPED, UNSHIPPED, PENDING]),
                }
                created = self.create_order(spec)["order"]["AmazonOrderId"]
            return {"order_created": created, "orders_authorized": authorized}
