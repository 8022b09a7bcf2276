"""Talk to the running sandbox like Amazon's callers do, checking every answer against the model."""

from __future__ import annotations

import httpx
import pytest

from fulfillment.sandbox.core.model import Model
from fulfillment.sandbox.external_fulfillment.records import MODEL

BASE = "/externalFulfillment/2024-09-11/shipments"


class Api:
    """Plain httpx calls with an access token; each answer must carry Amazon's headers and match the model."""

    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.http = httpx.Client(base_url=sandbox.url, timeout=10)
        self.token = sandbox.access_token()

    def call(
        self, operation: str, method: str, path: str, *, token: str | None = "default", **kw
    ) -> httpx.Response:
        headers = kw.pop("headers", {})
        if token is not None:
            headers["x-amz-access-token"] = self.token if token == "default" else token
        response = self.http.request(method, BASE + path, headers=headers, **kw)
        assert response.headers.get("x-amzn-RequestId"), "every answer carries x-amzn-RequestId"
        assert response.headers.get("x-amzn-RateLimit-Limit"), (
            "every answer carries x-amzn-RateLimit-Limit"
        )
        static = "TEST_CASE_" in path or "TEST_CASE_" in str(kw.get("params", ""))
        if not static:  # Amazon's own static examples are not all valid against its model (e.g. chargeType GIFT)
            validator = MODEL.response_validator(operation, response.status_code)
            if validator is not None:
                problems = MODEL.schema_errors(validator, response.json())
                assert not problems, (
                    f"{operation} {response.status_code} answer breaks the model: {problems[:3]}"
                )
            else:
                assert response.status_code == 204 and not response.content, response.text
        return response

    # one method per operation, Amazon's names
    def get_shipments(self, **params):
        return self.call("getShipments", "GET", "", params=params)

    def get_shipment(self, sid, **kw):
        return self.call("getShipment", "GET", f"/{sid}", **kw)

    def process_shipment(self, sid, operation, body=None):
        return self.call(
            "processShipment", "POST", f"/{sid}", params={"operation": operation}, json=body
        )

    def create_packages(self, sid, packages):
        return self.call("createPackages", "POST", f"/{sid}/packages", json={"packages": packages})

    def update_package(self, sid, pid, package):
        return self.call("updatePackage", "PUT", f"/{sid}/packages/{pid}", json=package)

    def update_package_status(self, sid, pid, status="SHIPPED", body=None):
        params = {"status": status} if status else {}
        return self.call(
            "updatePackageStatus", "PATCH", f"/{sid}/packages/{pid}", params=params, json=body
        )

    def retrieve_shipping_options(self, sid, pid):
        return self.call(
            "retrieveShippingOptions", "GET", f"/{sid}/shippingOptions", params={"packageId": pid}
        )

    def generate_invoice(self, sid):
        return self.call("generateInvoice", "POST", f"/{sid}/invoice")

    def retrieve_invoice(self, sid):
        return self.call("retrieveInvoice", "GET", f"/{sid}/invoice")

    def generate_ship_labels(
        self, sid, package_ids, operation="GENERATE", shipping_option_id=None, courier=None
    ):
        params = {"operation": operation}
        if shipping_option_id:
            params["shippingOptionId"] = shipping_option_id
        body = {"packageIds": package_ids}
        if courier:
            body["courierSupportedAttributes"] = courier
        return self.call(
            "generateShipLabels", "PUT", f"/{sid}/shipLabels", params=params, json=body
        )


@pytest.fixture
def fresh(sandbox):
    sandbox.reset()
    return sandbox


@pytest.fixture
def api(fresh):
    client = Api(fresh)
    yield client
    client.http.close()


# --- Orders API and Merchant Fulfillment -----------------------------------------------------------

ORDERS_V0 = Model("ordersV0")
ORDERS_2026 = Model("orders_2026-01-01")
MFN = Model("merchantFulfillmentV0")


class SpApi:
    """Plain httpx calls to the Orders and Merchant Fulfillment operations, by model and
    operationId; every answer must carry Amazon's headers, a status the model lists for the
    operation, and a body that validates against the model."""

    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.http = httpx.Client(base_url=sandbox.url, timeout=10)
        self.token = sandbox.access_token()

    def call(self, model: Model, operation_id: str, path: dict | None = None, **kw):
        spec = model.operations()[operation_id]
        headers = {"x-amz-access-token": self.token, **kw.pop("headers", {})}
        url = spec["path"].format(**(path or {}))
        response = self.http.request(spec["method"], url, headers=headers, **kw)
        assert response.headers.get("x-amzn-RequestId")
        assert response.headers.get("x-amzn-RateLimit-Limit")
        assert str(response.status_code) in spec["responses"], (
            f"{operation_id} answered {response.status_code}, which the model does not list"
        )
        if response.content:
            problems = model.response_problems(operation_id, response.status_code, response.json())
            assert not problems, (
                f"{operation_id} {response.status_code} breaks the model: {problems[:3]}"
            )
        else:
            assert model.response_validator(operation_id, response.status_code) is None
        return response

    # Orders v0
    def get_orders(self, **params):
        return self.call(ORDERS_V0, "getOrders", params=params)

    def get_order(self, order_id):
        return self.call(ORDERS_V0, "getOrder", {"orderId": order_id})

    def get_order_items(self, order_id):
        return self.call(ORDERS_V0, "getOrderItems", {"orderId": order_id})

    def confirm_shipment(self, order_id, body):
        return self.call(ORDERS_V0, "confirmShipment", {"orderId": order_id}, json=body)

    def update_shipment_status(self, order_id, body):
        return self.call(ORDERS_V0, "updateShipmentStatus", {"orderId": order_id}, json=body)

    # Orders 2026-01-01
    def search_orders(self, **params):
        return self.call(ORDERS_2026, "searchOrders", params=params)

    def get_order_2026(self, order_id, **params):
        return self.call(ORDERS_2026, "getOrder", {"orderId": order_id}, params=params)

    # Merchant Fulfillment
    def eligible_services(self, details):
        body = {"ShipmentRequestDetails": details}
        return self.call(MFN, "getEligibleShipmentServices", json=body)

    def create_shipment(self, details, service_id, **extra):
        body = {"ShipmentRequestDetails": details, "ShippingServiceId": service_id, **extra}
        return self.call(MFN, "createShipment", json=body)

    def get_shipment(self, shipment_id):
        return self.call(MFN, "getShipment", {"shipmentId": shipment_id})

    def cancel_shipment(self, shipment_id):
        return self.call(MFN, "cancelShipment", {"shipmentId": shipment_id})


@pytest.fixture
def sp(fresh):
    """Orders and Merchant Fulfillment over HTTP; new orders are listed at once (no 2-minute lag)."""
    fresh.configure(orders_list_lag_seconds=0)
    client = SpApi(fresh)
    yield client
    client.http.close()
