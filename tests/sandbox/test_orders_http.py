"""The Orders API (v0 and 2026-01-01) over real HTTP: seeded MFN orders, listing, confirmShipment,
store pickup, buyer cancellations. Every answer is checked against Amazon's model (SpApi)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fulfillment.sandbox.core.catalogue import LOCATIONS, MARKETPLACES
from tests.sandbox.builders import confirmation

US = MARKETPLACES["US"].marketplace_id
LONG_AGO = "2020-01-01T00:00:00Z"


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _error(response, status=400) -> str:
    assert response.status_code == status, response.text
    error = response.json()["errors"][0]
    assert error["code"] and error["message"]
    return error["message"]


def _all_orders(sp, **params) -> list[dict]:
    seen, token = [], None
    while True:
        page = sp.get_orders(**params, **({"NextToken": token} if token else {})).json()["payload"]
        seen += page["Orders"]
        token = page.get("NextToken")
        if not token:
            return seen


# --- seeded orders and listing ------------------------------------------------------------------


def test_seeded_orders_cover_what_a_station_meets_at_the_shipments_locations(fresh):
    fresh.reset(seed=40)
    orders = fresh.orders()
    states = [fresh.order_state(o["AmazonOrderId"]) for o in orders]
    assert len(orders) == 16
    assert {o["locationId"] for o in orders} == set(LOCATIONS)
    shipment_markets = {s["marketplaceId"] for s in fresh.shipments()}
    assert {o["MarketplaceId"] for o in orders} <= shipment_markets
    assert {o["OrderStatus"] for o in orders} >= {
        "Pending",
        "Unshipped",
        "PartiallyShipped",
        "Canceled",
    }
    assert sum(o["IsISPU"] for o in orders) >= 2
    assert any(len(s["items"]) >= 2 for s in states)
    assert any(len(s["items"]) == 1 and s["items"][0]["QuantityOrdered"] >= 2 for s in states)
    assert any(i["SerialNumberRequired"] for s in states for i in s["items"])
    assert any(s["order"]["LatestShipDate"] < _iso(datetime.now(UTC)) for s in states)
    # deterministic from the seed
    again = fresh.reset(seed=40)
    assert again["orders"] == 16 and [o["AmazonOrderId"] for o in fresh.orders()] == [
        o["AmazonOrderId"] for o in orders
    ]
    fresh.reset(seed=41)
    assert {o["AmazonOrderId"] for o in fresh.orders()}.isdisjoint(
        o["AmazonOrderId"] for o in orders
    )


def test_get_orders_pages_through_every_match_of_its_filters(sp, fresh):
    expected = sorted(o["AmazonOrderId"] for o in fresh.orders() if o["MarketplaceId"] == US)
    listed = _all_orders(sp, MarketplaceIds=US, CreatedAfter=LONG_AGO, MaxResultsPerPage=2)
    assert sorted(o["AmazonOrderId"] for o in listed) == expected
    assert all(o["FulfillmentChannel"] == "MFN" and o["MarketplaceId"] == US for o in listed)
    unshipped = _all_orders(
        sp, MarketplaceIds=US, CreatedAfter=LONG_AGO, OrderStatuses="Unshipped,PartiallyShipped"
    )
    assert unshipped and {o["OrderStatus"] for o in unshipped} <= {"Unshipped", "PartiallyShipped"}
    amazon_fulfilled = _all_orders(
        sp, MarketplaceIds=US, CreatedAfter=LONG_AGO, FulfillmentChannels="AFN"
    )
    assert amazon_fulfilled == []  # every sandbox order is seller-fulfilled
    assert len(
        _all_orders(sp, MarketplaceIds=US, CreatedAfter=LONG_AGO, FulfillmentChannels="MFN")
    ) == len(expected)
    pickup = _all_orders(sp, MarketplaceIds=US, CreatedAfter=LONG_AGO, IsISPU="true")
    assert pickup and all(o["IsISPU"] for o in pickup)
    at_second = _all_orders(
        sp,
        MarketplaceIds=",".join(m.marketplace_id for m in MARKETPLACES.values()),
        LastUpdatedAfter=LONG_AGO,
        ActualFulfillmentSupplySourceId=LOCATIONS[1],
    )
    assert at_second and all(
        o["FulfillmentInstruction"]["FulfillmentSupplySourceId"] == LOCATIONS[1] for o in at_second
    )


def test_get_orders_refuses_what_amazon_refuses(sp):
    recent = _iso(datetime.now(UTC) - timedelta(seconds=30))
    cases = [
        {"CreatedAfter": LONG_AGO},  # MarketplaceIds is required
        {"MarketplaceIds": US},  # one of CreatedAfter / LastUpdatedAfter is required
        {"MarketplaceIds": US, "CreatedAfter": LONG_AGO, "LastUpdatedAfter": LONG_AGO},
        {"MarketplaceIds": US, "CreatedAfter": LONG_AGO, "CreatedBefore": recent},
        {"MarketplaceIds": US, "CreatedAfter": "yesterday"},
        {"MarketplaceIds": US, "CreatedAfter": LONG_AGO, "OrderStatuses": "Lost"},
        {"MarketplaceIds": US, "CreatedAfter": LONG_AGO, "MaxResultsPerPage": 0},
        {"MarketplaceIds": US, "CreatedAfter": LONG_AGO, "NextToken": "forged!"},
    ]
    for params in cases:
        assert sp.get_orders(**params).status_code == 400, params
    first = sp.get_orders(MarketplaceIds=US, CreatedAfter=LONG_AGO, MaxResultsPerPage=1).json()
    token = first["payload"]["NextToken"]
    other_filters = sp.get_orders(
        MarketplaceIds=US,
        CreatedAfter=LONG_AGO,
        MaxResultsPerPage=1,
        OrderStatuses="Pending",
        NextToken=token,
    )
    assert "other filters" in _error(other_filters)


def test_a_new_order_is_listed_only_two_minutes_later_as_amazon_does(sp, fresh):
    fresh.configure(orders_list_lag_seconds=120)
    order_id = fresh.create_order(marketplace="US", placed_minutes_ago=0)["order"]["AmazonOrderId"]
    answer = sp.get_orders(MarketplaceIds=US, LastUpdatedAfter=LONG_AGO).json()["payload"]
    assert order_id not in [o["AmazonOrderId"] for o in answer["Orders"]]
    bound = datetime.fromisoformat(answer["LastUpdatedBefore"])
    assert timedelta(seconds=110) < datetime.now(UTC) - bound < timedelta(seconds=140)
    fresh.configure(orders_list_lag_seconds=0)
    answer = sp.get_orders(MarketplaceIds=US, LastUpdatedAfter=LONG_AGO).json()["payload"]
    assert order_id in [o["AmazonOrderId"] for o in answer["Orders"]]


def test_a_pending_order_shows_no_prices_until_its_payment_clears(sp, fresh):
    order_id = fresh.create_order(marketplace="US", status="Pending")["order"]["AmazonOrderId"]
    pending = sp.get_order(order_id).json()["payload"]
    assert pending["OrderStatus"] == "Pending" and "OrderTotal" not in pending
    item = sp.get_order_items(order_id).json()["payload"]["OrderItems"][0]
    assert "ItemPrice" not in item and item["QuantityOrdered"] == 1
    fresh.authorize_order(order_id)
    assert sp.get_order(order_id).json()["payload"]["OrderStatus"] == "Unshipped"
    item = sp.get_order_items(order_id).json()["payload"]["OrderItems"][0]
    assert item["ItemPrice"]["CurrencyCode"] == "USD" and float(item["ItemPrice"]["Amount"]) > 0
    assert sp.get_order("111-0000000-0000000").status_code == 404


def test_orders_show_no_buyer_name_or_street_without_restricted_data(sp, fresh):
    state = fresh.create_order(marketplace="IN")
    address = sp.get_order(state["order"]["AmazonOrderId"]).json()["payload"]["ShippingAddress"]
    assert set(address) == {"City", "StateOrRegion", "PostalCode", "CountryCode"}
    assert address["PostalCode"] == state["shipTo"]["PostalCode"]


# --- confirmShipment --------------------------------------------------------------------------------


def test_two_boxes_confirmed_one_by_one_ship_the_order(sp, fresh):
    state = fresh.create_order(marketplace="IN", skus=["MILTON-THERMO-1000-SS"], units=2)
    order_id, item_id = state["order"]["AmazonOrderId"], state["items"][0]["OrderItemId"]
    first = confirmation(state, "1", {item_id: 1}, tracking="TBA000000000001")
    assert sp.confirm_shipment(order_id, first).status_code == 204
    order = sp.get_order(order_id).json()["payload"]
    assert order["OrderStatus"] == "PartiallyShipped"
    assert (order["NumberOfItemsShipped"], order["NumberOfItemsUnshipped"]) == (1, 1)
    assert sp.get_order_items(order_id).json()["payload"]["OrderItems"][0]["QuantityShipped"] == 1
    second = confirmation(state, "2", {item_id: 1}, tracking="TBA000000000002")
    assert sp.confirm_shipment(order_id, second).status_code == 204
    assert sp.get_order(order_id).json()["payload"]["OrderStatus"] == "Shipped"
    packages = sp.get_order_2026(order_id, includedData="PACKAGES").json()["order"]["packages"]
    assert sorted((p["packageReferenceId"], p["trackingNumber"]) for p in packages) == [
        ("1", "TBA000000000001"),
        ("2", "TBA000000000002"),
    ]
    assert set(fresh.order_state(order_id)["confirmations"]) == {"1", "2"}


def test_confirm_shipment_refusals_leave_the_order_as_it_was(sp, fresh):
    state = fresh.create_order(
        marketplace="US", skus=["LEGO-60337-CITY", "CAMEL-ACRYLIC-24SET"], units=[2, 1]
    )
    order_id = state["order"]["AmazonOrderId"]
    lego, paint = (i["OrderItemId"] for i in state["items"])
    good = confirmation(state, "1", {lego: 1})
    refused = {
        "package reference": confirmation(state, "box-1", {lego: 1}),
        "zero reference": confirmation(state, "0", {lego: 1}),
        "over what is left": confirmation(state, "1", {lego: 3}),
        "unknown item": confirmation(state, "1", {"99999999999999": 1}),
        "no items": confirmation(state, "1", {}),
        "quantity 0": confirmation(state, "1", {paint: 0}),
        "Other without name": confirmation(state, "1", {lego: 1}, carrier="Other"),
        "empty tracking": confirmation(state, "1", {lego: 1}, tracking=" "),
        "before purchase": confirmation(state, "1", {lego: 1}, ship_date="2020-01-01T00:00:00Z"),
        "far ahead": confirmation(state, "1", {lego: 1}, ship_date="2099-01-01T00:00:00Z"),
        "bad date": confirmation(state, "1", {lego: 1}, ship_date="tomorrow"),
        "other marketplace": {**good, "marketplaceId": MARKETPLACES["DE"].marketplace_id},
        "no carrierCode": {
            **good,
            "packageDetail": {k: v for k, v in good["packageDetail"].items() if k != "carrierCode"},
        },
    }
    messages = {name: _error(sp.confirm_shipment(order_id, body)) for name, body in refused.items()}
    assert "positive number" in messages["package reference"]
    assert "left to ship" in messages["over what is left"]
    assert "carrierName" in messages["Other without name"]
    assert "marketplace" in messages["other marketplace"]
    twice = {
        **good,
        "packageDetail": {
            **good["packageDetail"],
            "orderItems": [
                {"orderItemId": lego, "quantity": 1},
                {"orderItemId": lego, "quantity": 1},
            ],
        },
    }
    assert "twice" in _error(sp.confirm_shipment(order_id, twice))
    assert _error(sp.confirm_shipment("111-0000000-0000000", good), 404)
    units = fresh.order_state(order_id)["units"]
    assert (
        all(u["shipped"] == 0 for u in units.values())
        and not fresh.order_state(order_id)["confirmations"]
    )
    assert sp.confirm_shipment(order_id, good).status_code == 204


def test_orders_that_cannot_ship_refuse_confirmation(sp, fresh):
    pending = fresh.create_order(marketplace="US", status="Pending")
    cancelled = fresh.create_order(marketplace="US")
    fresh.cancel_order(cancelled["order"]["AmazonOrderId"], "Found it cheaper")
    pickup = fresh.create_order(marketplace="US", store_pickup=True)
    for state, words in ((pending, "Pending"), (cancelled, "Canceled"), (pickup, "store pickup")):
        item = state["items"][0]["OrderItemId"]
        body = confirmation(state, "1", {item: 1})
        assert words in _error(sp.confirm_shipment(state["order"]["AmazonOrderId"], body))


def test_a_correction_repeats_the_package_and_may_change_only_carrier_details(sp, fresh):
    state = fresh.create_order(
        marketplace="US", skus=["LEGO-60337-CITY", "CAMEL-ACRYLIC-24SET"], units=[2, 1]
    )
    order_id = state["order"]["AmazonOrderId"]
    lego, paint = (i["OrderItemId"] for i in state["items"])
    assert sp.confirm_shipment(order_id, confirmation(state, "1", {lego: 1})).status_code == 204
    corrected = confirmation(
        state, "1", {lego: 1}, carrier="USPS", tracking="9400100000000000000001"
    )
    assert sp.confirm_shipment(order_id, corrected).status_code == 204
    stored = fresh.order_state(order_id)
    assert stored["confirmations"]["1"]["trackingNumber"] == "9400100000000000000001"
    assert stored["confirmations"]["1"]["carrierCode"] == "USPS"
    assert len(stored["confirmations"]["1"]["corrections"]) == 1
    assert stored["units"][lego]["shipped"] == 1  # a correction ships nothing more
    for items in ({lego: 2}, {lego: 1, paint: 1}, {paint: 1}):
        message = _error(sp.confirm_shipment(order_id, confirmation(state, "1", items)))
        assert "repeat" in message
    assert fresh.order_state(order_id)["units"][lego]["shipped"] == 1
    assert sp.get_order(order_id).json()["payload"]["OrderStatus"] == "PartiallyShipped"


# --- store pickup -------------------------------------------------------------------------------------


def _pickup(state, status, items=None) -> dict:
    body = {"marketplaceId": state["order"]["MarketplaceId"], "shipmentStatus": status}
    if items:
        body["orderItems"] = [{"orderItemId": i, "quantity": n} for i, n in items.items()]
    return body


def test_store_pickup_goes_ready_then_picked_up_or_refused(sp, fresh):
    state = fresh.create_order(
        marketplace="IN",
        skus=["BOAT-AIRDOPES-141-BLK", "CAMEL-ACRYLIC-24SET"],
        units=[1, 2],
        store_pickup=True,
    )
    order_id = state["order"]["AmazonOrderId"]
    buds, paint = (i["OrderItemId"] for i in state["items"])
    assert state["order"]["IsISPU"] is True
    for early in ("PickedUp", "RefusedPickup"):  # nothing is ready yet
        assert "ready for pickup" in _error(
            sp.update_shipment_status(order_id, _pickup(state, early))
        )
    assert (
        sp.update_shipment_status(
            order_id, _pickup(state, "ReadyForPickup", {paint: 1})
        ).status_code
        == 204
    )
    assert "1 asked, 0 ready" in _error(
        sp.update_shipment_status(order_id, _pickup(state, "PickedUp", {buds: 1}))
    )
    assert sp.update_shipment_status(order_id, _pickup(state, "ReadyForPickup")).status_code == 204
    assert "not yet ready" in _error(
        sp.update_shipment_status(order_id, _pickup(state, "ReadyForPickup"))
    )
    assert (
        sp.update_shipment_status(
            order_id, _pickup(state, "PickedUp", {buds: 1, paint: 1})
        ).status_code
        == 204
    )
    assert sp.get_order(order_id).json()["payload"]["OrderStatus"] == "PartiallyShipped"
    assert sp.update_shipment_status(order_id, _pickup(state, "RefusedPickup")).status_code == 204
    units = fresh.order_state(order_id)["units"]
    assert units[paint] == {
        "ordered": 2,
        "shipped": 1,
        "readyForPickup": 0,
        "refusedPickup": 1,
        "left": 0,
    }
    assert units[buds]["shipped"] == 1
    assert sp.get_order(order_id).json()["payload"]["OrderStatus"] == "Shipped"
    assert "cannot change" in _error(
        sp.update_shipment_status(order_id, _pickup(state, "PickedUp"))
    )


def test_a_pickup_refused_whole_cancels_the_order_and_other_orders_have_no_pickup(sp, fresh):
    state = fresh.create_order(marketplace="US", store_pickup=True)
    order_id = state["order"]["AmazonOrderId"]
    assert sp.update_shipment_status(order_id, _pickup(state, "ReadyForPickup")).status_code == 204
    assert sp.update_shipment_status(order_id, _pickup(state, "RefusedPickup")).status_code == 204
    assert sp.get_order(order_id).json()["payload"]["OrderStatus"] == "Canceled"
    delivered = fresh.create_order(marketplace="US")
    message = _error(
        sp.update_shipment_status(
            delivered["order"]["AmazonOrderId"], _pickup(delivered, "ReadyForPickup")
        )
    )
    assert "not a store pickup order" in message
    bad_status = {**_pickup(state, "ReadyForPickup"), "shipmentStatus": "Collected"}
    assert sp.update_shipment_status(order_id, bad_status).status_code == 400


# --- the buyer cancels ------------------------------------------------------------------------------


def test_buyer_cancellation_and_cancellation_requests(sp, fresh):
    order_id = fresh.create_order(marketplace="US")["order"]["AmazonOrderId"]
    fresh.cancel_order(order_id, "Ordered by mistake")
    assert sp.get_order(order_id).json()["payload"]["OrderStatus"] == "Canceled"
    listed = _all_orders(sp, MarketplaceIds=US, LastUpdatedAfter=LONG_AGO, OrderStatuses="Canceled")
    assert order_id in [o["AmazonOrderId"] for o in listed]
    again = fresh.http.post(f"/_sandbox/orders/{order_id}/cancel", json={})
    assert again.status_code == 409
    asked = fresh.create_order(marketplace="US")
    asked_id, item = asked["order"]["AmazonOrderId"], asked["items"][0]["OrderItemId"]
    fresh.cancel_order(asked_id, "No longer needed", request_only=True)
    line = sp.get_order_items(asked_id).json()["payload"]["OrderItems"][0]
    assert line["BuyerRequestedCancel"] == {
        "IsBuyerRequestedCancel": "true",
        "BuyerCancelReason": "No longer needed",
    }
    assert sp.get_order(asked_id).json()["payload"]["OrderStatus"] == "Unshipped"
    assert sp.confirm_shipment(asked_id, confirmation(asked, "1", {item: 1})).status_code == 204
    shipped = fresh.http.post(f"/_sandbox/orders/{asked_id}/cancel", json={})
    assert shipped.status_code == 409 and "Shipped" in shipped.json()["errors"][0]["message"]


# --- Orders 2026-01-01 ---------------------------------------------------------------------------------


def test_search_orders_and_get_order_in_the_2026_shape(sp, fresh):
    unshipped = {o["AmazonOrderId"] for o in fresh.orders() if o["OrderStatus"] == "Unshipped"}
    seen, token = [], None
    while True:
        params = {
            "createdAfter": LONG_AGO,
            "fulfillmentStatuses": "UNSHIPPED",
            "maxResultsPerPage": 3,
            "includedData": "FULFILLMENT",
        }
        if token:
            params["paginationToken"] = token
        page = sp.search_orders(**params).json()
        seen += page["orders"]
        token = page.get("pagination", {}).get("nextToken")
        if not token:
            break
    assert {o["orderId"] for o in seen} == unshipped
    assert all(o["fulfillment"]["fulfilledBy"] == "MERCHANT" for o in seen)
    sample = seen[0]
    v0 = sp.get_order(sample["orderId"]).json()["payload"]
    assert sample["fulfillment"]["shipByWindow"] == {
        "earliestDateTime": v0["EarliestShipDate"],
        "latestDateTime": v0["LatestShipDate"],
    }
    bare = sp.get_order_2026(sample["orderId"]).json()["order"]
    assert "fulfillment" not in bare and bare["orderItems"][0]["product"]["sellerSku"]
    both = sp.search_orders(createdAfter=LONG_AGO, lastUpdatedAfter=LONG_AGO)
    assert both.status_code == 400
    assert (
        sp.search_orders(lastUpdatedAfter=LONG_AGO, fulfillmentStatuses="LOST").status_code == 400
    )
    assert sp.get_order_2026("111-0000000-0000000").status_code == 404


def test_every_seeded_order_validates_against_both_models(sp, fresh):
    everything = "BUYER,RECIPIENT,PROCEEDS,EXPENSE,PROMOTION,CANCELLATION,FULFILLMENT,PACKAGES,TAX"
    for summary in fresh.orders():
        order_id = summary["AmazonOrderId"]
        assert sp.get_order(order_id).json()["payload"]["AmazonOrderId"] == order_id
        assert sp.get_order_items(order_id).json()["payload"]["OrderItems"]
        assert (
            sp.get_order_2026(order_id, includedData=everything).json()["order"]["orderId"]
            == order_id
        )


@pytest.mark.parametrize(
    "path", ["/orders/v0/orders/111-3210850-8175423/buyerInfo", "/orders/v0/nowhere"]
)
def test_operations_the_sandbox_does_not_serve_answer_404_in_amazons_shape(fresh, path):
    answer = fresh.http.get(path)
    assert answer.status_code == 404 and answer.json()["errors"][0]["code"] == "NotFound"
