"""The shared core without HTTP: operation names, usage plans and overrides, query rules, seeds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fulfillment.sandbox.core.model import Model
from fulfillment.sandbox.engine import Sandbox
from fulfillment.sandbox.orders import seed as orders_seed
from fulfillment.sandbox.orders import v0, v2026
from fulfillment.sandbox.orders.records import MODEL_2026, MODEL_V0

NOW = datetime(2025, 3, 3, 9, 30, tzinfo=UTC)


@pytest.fixture
def box():
    return Sandbox(seed_number=5, count=3, orders=4, clock=lambda: NOW)


def test_an_operation_id_two_apis_share_is_qualified_for_the_later_one(box):
    names = set(box.registry.operations)
    assert {"getShipment", "merchantFulfillmentV0.getShipment"} <= names  # EF keeps the bare name
    assert {"getOrder", "orders_2026-01-01.getOrder"} <= names
    assert (
        box.operation("externalFulfillmentShipments_2024-09-11.getShipment").name == "getShipment"
    )
    assert box.operation("ordersV0.getOrder").path == "/orders/v0/orders/{orderId}"
    with pytest.raises(ValueError, match="getOrderz"):
        box.operation("getOrderz")


def test_rate_limit_overrides_take_any_name_and_can_be_dropped(box):
    assert box.rate_limit("createShipment") == 2.0  # Amazon's plan
    box.configure({"rate_limits": {"default": {"rate": 50, "burst": 50}}})
    assert box.rate_limit("createShipment") == 50.0
    box.configure(
        {"rate_limits": {"merchantFulfillmentV0.createShipment": {"rate": 0.5, "burst": 1}}}
    )
    assert box.public_config()["rate_limits"]["createShipment"] == {"rate": 0.5, "burst": 1}
    assert [box.take_token("createShipment") for _ in range(2)] == [True, False]
    box.configure({"rate_limits": {"default": None, "createShipment": None}})
    assert box.rate_limit("createShipment") == 2.0 and box.rate_limit("getOrders") == 0.0167
    with pytest.raises(ValueError):
        box.configure({"rate_limits": {"getOrdrs": {"rate": 1, "burst": 1}}})


def test_faults_resolve_qualified_names(box):
    box.add_fault({"operations": ["merchantFulfillmentV0.getShipment"], "error_rate": 1.0})
    assert box.plan_faults("merchantFulfillmentV0.getShipment").error_status == 503
    assert box.plan_faults("getShipment").error_status is None


def test_query_rules_read_arrays_and_booleans_as_amazon_sends_them():
    model = Model("ordersV0")
    values, problems = model.check_query(
        "getOrders",
        {
            "MarketplaceIds": ["A1,A2"],
            "OrderStatuses": ["Unshipped", "Pending"],
            "IsISPU": ["true"],
        },
    )
    assert problems == []
    assert values["MarketplaceIds"] == ["A1", "A2"]
    assert values["OrderStatuses"] == ["Unshipped", "Pending"]  # repeated keys count too
    assert values["IsISPU"] is True
    _, problems = model.check_query("getOrders", {"MarketplaceIds": ",".join(["A"] * 51)})
    assert problems == ["Invalid input for parameter 'MarketplaceIds': at most 50 values."]
    _, problems = Model("orders_2026-01-01").check_query("searchOrders", {"fulfilledBy": "ME"})
    assert "must be one of MERCHANT, AMAZON" in problems[0]


def test_order_seed_is_deterministic_and_valid_against_both_models():
    first = orders_seed.seed_orders(7, 30, NOW)
    again = orders_seed.seed_orders(7, 30, NOW)
    assert [(o.order_id, [i.order_item_id for i in o.items]) for o in first] == [
        (o.order_id, [i.order_item_id for i in o.items]) for o in again
    ]
    assert len({o.order_id for o in first}) == 30
    order_schema = MODEL_V0.definition_validator("Order")
    item_schema = MODEL_V0.definition_validator("OrderItem")
    order_2026 = MODEL_2026.definition_validator("Order")
    for order in first:
        assert MODEL_V0.schema_errors(order_schema, v0.order(order)) == []
        for item in order.items:
            assert MODEL_V0.schema_errors(item_schema, v0.order_item(order, item)) == []
        everything = {"RECIPIENT", "PROCEEDS", "FULFILLMENT", "PACKAGES", "CANCELLATION"}
        assert MODEL_2026.schema_errors(order_2026, v2026.order(order, everything)) == []
        assert order.latest_ship < order.latest_delivery and order.purchased_at < order.latest_ship


def test_a_reset_brings_back_the_seeded_orders_and_forgets_bought_labels(box):
    before = [o["AmazonOrderId"] for o in box.orders.summaries()]
    box.merchant_fulfillment.shipments["x"] = {}
    assert box.reset() == {"seed": 5, "count": 3, "orders": 4}
    assert [o["AmazonOrderId"] for o in box.orders.summaries()] == before
    assert box.merchant_fulfillment.shipments == {}
    with pytest.raises(ValueError, match="parcels"):
        box.reset(parcels=3)
