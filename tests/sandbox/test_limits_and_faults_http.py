"""Usage plans, throttling and injected faults on the Orders and Merchant Fulfillment operations,
over real HTTP; and the contract check that holds the client to the three models."""

from __future__ import annotations

import httpx

from fulfillment.sandbox.core.catalogue import MARKETPLACES
from tests.amazon.contract_check import ContractCheck
from tests.sandbox.builders import confirmation, label_request
from tests.sandbox.conftest import MFN, ORDERS_V0

US = MARKETPLACES["US"].marketplace_id
LONG_AGO = "2020-01-01T00:00:00Z"
QUOTA_EXCEEDED = {
    "errors": [
        {"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource."}
    ]
}


def test_every_operation_is_held_to_the_usage_plan_its_model_states(fresh):
    plans = {o["name"]: o["usage_plan"] for o in fresh.operations()}
    assert plans["getOrders"] == {"rate": 0.0167, "burst": 20}
    assert plans["getOrder"] == {"rate": 0.5, "burst": 30}
    assert plans["confirmShipment"] == {"rate": 2.0, "burst": 10}
    assert plans["updateShipmentStatus"] == {"rate": 5.0, "burst": 15}
    assert plans["searchOrders"] == {"rate": 0.0056, "burst": 20}
    assert plans["orders_2026-01-01.getOrder"] == {"rate": 0.5, "burst": 30}
    assert plans["getEligibleShipmentServices"] == {"rate": 6.0, "burst": 12}
    assert plans["createShipment"] == {"rate": 2.0, "burst": 2}
    assert plans["merchantFulfillmentV0.getShipment"] == {"rate": 1.0, "burst": 1}
    assert plans["cancelShipment"] == {"rate": 1.0, "burst": 1}
    assert plans["getShipment"] == {"rate": 1.0, "burst": 1}  # SmartConnect's (guide 003)


def test_get_orders_answers_429_after_its_burst_of_20(sp, fresh):
    fresh.configure(rate_limits={"default": None})  # the session's 100/s goes: Amazon's plans
    statuses = [
        sp.get_orders(MarketplaceIds=US, CreatedAfter=LONG_AGO).status_code for _ in range(21)
    ]
    assert statuses == [200] * 20 + [429]  # 0.0167/s refills one request a minute
    throttled = sp.get_orders(MarketplaceIds=US, CreatedAfter=LONG_AGO)
    assert throttled.status_code == 429 and throttled.json() == QUOTA_EXCEEDED
    assert throttled.headers["x-amzn-RateLimit-Limit"] == "0.0167"
    order_id = fresh.orders()[0]["AmazonOrderId"]
    other = sp.get_order(order_id)  # another operation, another bucket
    assert other.status_code == 200 and other.headers["x-amzn-RateLimit-Limit"] == "0.5"
    throttled_calls = [c for c in fresh.calls(operation="getOrders") if c["status"] == 429]
    assert len(throttled_calls) == 2 and throttled_calls[0]["error_code"] == "QuotaExceeded"


def test_confirm_shipment_is_throttled_under_its_own_limit(sp, fresh):
    fresh.configure(rate_limits={"confirmShipment": {"rate": 0.01, "burst": 2}})
    state = fresh.create_order(marketplace="US", units=3)
    order_id, item = state["order"]["AmazonOrderId"], state["items"][0]["OrderItemId"]
    answers = [
        sp.confirm_shipment(order_id, confirmation(state, str(n), {item: 1})) for n in (1, 2, 3)
    ]
    assert [a.status_code for a in answers] == [204, 204, 429]
    assert answers[2].json() == QUOTA_EXCEEDED  # a ConfirmShipmentErrorResponse, checked by sp
    assert (
        fresh.order_state(order_id)["units"][item]["shipped"] == 2
    )  # the throttled one did nothing


def test_a_fault_aimed_at_confirm_shipment_hits_it_once(sp, fresh):
    state = fresh.create_order(marketplace="US", units=2)
    order_id, item = state["order"]["AmazonOrderId"], state["items"][0]["OrderItemId"]
    fresh.faults(operations=["confirmShipment"], error_rate=1.0, error_status=503, count=1)
    failed = sp.confirm_shipment(order_id, confirmation(state, "1", {item: 1}))
    assert failed.status_code == 503 and failed.json()["errors"][0]["code"] == "ServiceUnavailable"
    assert fresh.order_state(order_id)["units"][item]["shipped"] == 0  # not applied
    assert sp.get_order(order_id).status_code == 200  # other operations are not hit
    assert sp.confirm_shipment(order_id, confirmation(state, "1", {item: 1})).status_code == 204
    fresh.faults(
        operations=["confirmShipment"], error_rate=1.0, error_status=500, count=1, apply=True
    )
    unknown = sp.confirm_shipment(order_id, confirmation(state, "2", {item: 1}))
    assert unknown.status_code == 500
    assert fresh.order_state(order_id)["order"]["OrderStatus"] == "Shipped"  # it went through


def test_faults_tell_merchant_fulfillments_get_shipment_from_smartconnects(sp, fresh, sandbox):
    state = fresh.create_order(marketplace="US")
    shipment_id = sp.create_shipment(label_request(state), "UPS_PTP_GND").json()["payload"][
        "ShipmentId"
    ]
    fresh.faults(operations=["merchantFulfillmentV0.getShipment"], throttle_seconds=30)
    assert sp.get_shipment(shipment_id).status_code == 429
    token = fresh.access_token()
    smartconnect = httpx.get(
        f"{fresh.url}/externalFulfillment/2024-09-11/shipments/{fresh.shipments()[0]['id']}",
        headers={"x-amz-access-token": token},
    )
    assert smartconnect.status_code == 200
    fresh.clear_faults()
    fresh.faults(operations=["createShipment"], latency_ms=300, error_rate=1.0, error_status=500)
    answer = sp.create_shipment(label_request(state), "UPS_PTP_GND")
    assert answer.status_code == 500 and answer.json()["errors"][0]["code"] == "InternalFailure"
    bad = fresh.http.post("/_sandbox/faults", json={"operations": ["getShipmnt"]})
    assert bad.status_code == 400 and "getShipmnt" in bad.json()["error"]
    calls = fresh.calls(operation="merchantFulfillmentV0.getShipment")
    assert calls and calls[-1]["shipment_id"] == shipment_id
    assert calls[-1]["order_id"] == state["order"]["AmazonOrderId"]


def test_new_operations_need_an_access_token(fresh):
    order_id = fresh.orders()[0]["AmazonOrderId"]
    denied = httpx.get(f"{fresh.url}/orders/v0/orders/{order_id}")
    assert denied.status_code == 403 and denied.json()["errors"][0]["code"] == "Unauthorized"
    wrong_method = httpx.put(
        f"{fresh.url}/mfn/v0/shipments", headers={"x-amz-access-token": fresh.access_token()}
    )
    assert wrong_method.status_code == 405


def test_the_contract_check_holds_orders_and_mfn_traffic_to_the_models(fresh):
    fresh.configure(orders_list_lag_seconds=0)
    state = fresh.create_order(marketplace="US", skus=["LEGO-60337-CITY"])
    order_id, item = state["order"]["AmazonOrderId"], state["items"][0]["OrderItemId"]
    check = ContractCheck()
    headers = {"x-amz-access-token": fresh.access_token()}
    with check.client(base_url=fresh.url, headers=headers, timeout=10) as client:
        client.get("/orders/v0/orders", params={"MarketplaceIds": US, "CreatedAfter": LONG_AGO})
        client.get(f"/orders/v0/orders/{order_id}/orderItems")
        client.post(
            "/mfn/v0/shipments",
            json={
                "ShipmentRequestDetails": label_request(state),
                "ShippingServiceId": "UPS_PTP_GND",
            },
        )
        client.post(
            f"/orders/v0/orders/{order_id}/shipmentConfirmation",
            json=confirmation(state, "1", {item: 1}),
        )
        client.get(f"/orders/2026-01-01/orders/{order_id}", params={"includedData": "PACKAGES"})
        assert check.problems == []
        assert [name for name, _ in check.checked] == [
            "getOrders",
            "getOrderItems",
            "createShipment",
            "confirmShipment",
            "orders_2026-01-01.getOrder",
        ]
        # what a careless client might send: each is named
        client.get(
            "/orders/v0/orders",
            params=[
                ("MarketplaceIds", US),
                ("MarketplaceIds", US),
                ("CreatedAfter", LONG_AGO),
                ("Colour", "red"),
            ],
        )
        client.post(
            f"/orders/v0/orders/{order_id}/shipmentConfirmation",
            json={"packageDetail": {"packageReferenceId": "2"}},
        )
        client.get("/mfn/v0/shipments/not-a-uuid")
    problems = "\n".join(check.problems)
    assert "MarketplaceIds is repeated" in problems
    assert "query parameter Colour is not in the model" in problems
    assert "'marketplaceId' is a required property" in problems
    assert "merchantFulfillmentV0.getShipment request: path parameter shipmentId" in problems
    assert ORDERS_V0.operations()["confirmShipment"] and MFN.operations()["createShipment"]
