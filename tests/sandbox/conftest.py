"""Talk to the running sandbox like Amazon's callers do, checking every answer against the model."""

from __future__ import annotations

import httpx
import pytest

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
