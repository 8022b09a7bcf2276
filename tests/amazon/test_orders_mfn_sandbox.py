"""The Orders and Merchant Fulfillment operations of the client against the sandbox, over real HTTP.

Every request and answer is checked against Amazon's models (`ContractCheck`, via the shared
`make_client` fixture of test_client_sandbox)."""

from datetime import UTC, datetime, timedelta

import pytest

from fulfillment.amazon import errors, ratelimit
from fulfillment.amazon.models import AmazonCall
from fulfillment.documents.formats import checked_label

from .test_client_sandbox import check, make_client  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

US = "ATVPDKIKX0DER"
WAREHOUSE_US = {"Name": "Packbench LOC", "AddressLine1": "1 Warehouse Way", "City": "Kent",
                "StateOrProvinceCode": "WA", "PostalCode": "98032", "CountryCode": "US",
                "Phone": "+1 253 555 0100", "Email": "loc@packbench.example"}


@pytest.fixture
def amazon(make_client):  # noqa: F811
    return make_client()


def details(order_id: str, items: dict[str, int], grams=900) -> dict:
    return {
        "AmazonOrderId": order_id,
        "ItemList": [{"OrderItemId": i, "Quantity": n} for i, n in items.items()],
        "ShipFromAddress": WAREHOUSE_US,
        "PackageDimensions": {"Length": 30, "Width": 20, "Height": 10, "Unit": "centimeters"},
        "Weight": {"Value": grams, "Unit": "g"},
        "ShippingServiceOptions": {"DeliveryExperience": "DeliveryConfirmationWithoutSignature",
                                   "CarrierWillPickUp": False},
    }


def test_usage_plans_come_from_the_models(settings):
    settings.AMAZON_RATE_LIMITS = {}
    assert ratelimit.configured_limit("getOrders") == ratelimit.OperationLimit(0.0167, 20)
    assert ratelimit.configured_limit("confirmShipment") == ratelimit.OperationLimit(2.0, 10)
    assert ratelimit.configured_limit("merchantFulfillmentV0.getShipment") == ratelimit.OperationLimit(1.0, 1)
    assert ratelimit.configured_limit("createShipment") == ratelimit.OperationLimit(2.0, 2)
    assert ratelimit.configured_limit("getShipments") == ratelimit.OperationLimit(1.0, 1)  # no plan in its model
    settings.AMAZON_RATE_LIMITS = {"getOrders": "5/5"}
    assert ratelimit.configured_limit("getOrders") == ratelimit.OperationLimit(5.0, 5)


def test_orders_are_listed_by_page_with_their_items(amazon, sandbox_settings):
    since = datetime.now(UTC) - timedelta(days=3)
    pages = list(amazon.iter_order_pages(marketplace_ids=[US], last_updated_after=since,
                                         order_statuses=["Unshipped", "PartiallyShipped"], max_results=2))
    orders = [order for page in pages for order in page.orders]
    assert len(pages) > 1 and all(len(page.orders) <= 2 for page in pages)
    assert orders and {o.status for o in orders} <= {"Unshipped", "PartiallyShipped"}
    assert all(o.marketplace_id == US and o.fulfillment_channel == "MFN" and o.location_id for o in orders)
    assert pages[0].listed_before is not None
    pickup = [o for o in orders if o.is_store_pickup]
    assert pickup, "the seed has a store pickup order in the US"
    order = next(o for o in orders if not o.is_store_pickup and o.items_unshipped)
    items = amazon.get_order_items(order.order_id)
    assert sum(i.quantity_ordered - i.quantity_shipped for i in items) == order.items_unshipped
    assert all(i.order_item_id and i.sku for i in items)
    assert AmazonCall.objects.filter(operation="getOrderItems", shipment_id=order.order_id).count() == 1


def test_a_label_is_bought_unpacked_and_the_package_confirmed_once(amazon, sandbox_settings):
    state = sandbox_settings.create_order(marketplace="US", skus=["LEGO-60337-CITY"], units=2, ship_by_hours=30)
    order_id = state["order"]["AmazonOrderId"]
    item = state["items"][0]["OrderItemId"]
    offered = amazon.get_eligible_shipment_services(details(order_id, {item: 1}))
    assert [s.rate for s in offered.services] == sorted(s.rate for s in offered.services)
    ship_by = datetime.fromisoformat(state["order"]["LatestShipDate"].replace("Z", "+00:00"))
    cheapest = offered.cheapest_by(ship_by)
    assert cheapest is not None and cheapest.ship_date <= ship_by

    bought = amazon.create_shipment(details(order_id, {item: 1}), cheapest.service_id, offer_id=cheapest.offer_id)
    assert bought.status == "Purchased" and bought.tracking_id and bought.order_id == order_id
    assert checked_label(bought.label.content).kind in {"ZPL", "PNG", "PDF"}
    assert "FileContents" not in bought.raw["Label"]  # the bytes are not kept twice
    assert amazon.get_mfn_shipment(bought.shipment_id).tracking_id == bought.tracking_id

    confirmation = dict(marketplace_id=US, package_reference_id="1", carrier_code=bought.carrier,
                        tracking_number=bought.tracking_id, ship_date=datetime.now(UTC), items={item: 1})
    amazon.confirm_shipment(order_id, **confirmation)
    amazon.confirm_shipment(order_id, **{**confirmation, "tracking_number": bought.tracking_id})  # a correction
    [package] = amazon.confirmed_packages(order_id)
    assert package.reference_id == "1" and package.items == {item: 1}
    assert sandbox_settings.order_state(order_id)["order"]["OrderStatus"] == "PartiallyShipped"
    with pytest.raises(errors.AmazonBadRequest) as refused:  # a correction must repeat the quantities
        amazon.confirm_shipment(order_id, **{**confirmation, "items": {item: 2}})
    assert refused.value.packer_message

    voided = amazon.cancel_mfn_shipment(bought.shipment_id)
    assert voided.status == "RefundPending"


def test_store_pickup_goes_ready_then_picked_up(amazon, sandbox_settings):
    state = sandbox_settings.create_order(marketplace="US", skus=["TPLINK-ARCHER-C6"], store_pickup=True)
    order_id = state["order"]["AmazonOrderId"]
    amazon.update_shipment_status(order_id, marketplace_id=US, status="ReadyForPickup")
    amazon.update_shipment_status(order_id, marketplace_id=US, status="PickedUp")
    assert sandbox_settings.order_state(order_id)["order"]["OrderStatus"] == "Shipped"
    with pytest.raises(errors.AmazonBadRequest):
        amazon.update_shipment_status(order_id, marketplace_id=US, status="PickedUp")  # nothing left ready
