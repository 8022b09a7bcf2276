"""Client seams without a network: LWA token handling, retry rules, recording, request shapes.

An httpx.MockTransport plays Amazon here; the real-HTTP behaviour is covered against the
sandbox in test_client_sandbox.py.
"""

import json
import uuid

import httpx
import pytest
from django.core.cache import cache

from fulfillment.amazon import errors
from fulfillment.amazon.auth import Credentials
from fulfillment.amazon.client import AmazonClient, AmazonRequestInvalid, RetryPolicy
from fulfillment.amazon.models import AmazonCall

pytestmark = pytest.mark.django_db

SHIPMENTS = "/externalFulfillment/2024-09-11/shipments"


class FakeAmazon:
    """Answers token and API requests from a list of scripted responses per path."""

    def __init__(self):
        self.requests: list[httpx.Request] = []
        self.token_answers: list[httpx.Response] = []
        self.api_answers: list[httpx.Response] = []
        self.tokens_issued = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/auth/o2/token":
            if self.token_answers:
                return self.token_answers.pop(0)
            self.tokens_issued += 1
            return httpx.Response(200, json={"access_token": f"Atza|token-{self.tokens_issued}", "expires_in": 3600})
        answer = self.api_answers.pop(0) if self.api_answers else httpx.Response(204)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def api_requests(self):
        return [r for r in self.requests if r.url.path.startswith("/externalFulfillment")]


@pytest.fixture
def fake(settings):
    account = f"unit-{uuid.uuid4().hex[:8]}"
    settings.AMAZON_RATE_LIMITS = {"*": "1000/1000"}
    fake = FakeAmazon()
    credentials = Credentials(
        seller_account=account,
        endpoint="http://amazon.test",
        token_url="http://amazon.test/auth/o2/token",
        client_id="amzn1.application-oa2-client.unit",
        client_secret=f"secret-{account}",
        refresh_token=f"Atzr|refresh-{account}",
    )
    fake.client = AmazonClient(
        credentials,
        http=httpx.Client(transport=httpx.MockTransport(fake)),
        retry=RetryPolicy(attempts=3, initial_wait=0.01, max_wait=0.05, rate_limit_wait=2),
    )
    yield fake
    cache.delete(fake.client.tokens.cache_key)


def test_access_token_is_cached_under_a_hashed_key_and_shared(fake):
    fake.client.process_shipment("S1", "CONFIRM")
    fake.client.process_shipment("S1", "CONFIRM")
    other_process = AmazonClient(fake.client.credentials, http=fake.client.http, retry=fake.client.retry)
    other_process.process_shipment("S1", "CONFIRM")
    assert fake.tokens_issued == 1
    assert [r.headers["x-amz-access-token"] for r in fake.api_requests()] == ["Atza|token-1"] * 3
    key = fake.client.tokens.cache_key
    assert fake.client.tokens.cached() == "Atza|token-1"
    assert fake.client.credentials.client_secret not in key and "refresh" not in key
    assert "secret" not in repr(fake.client.credentials)


def test_token_request_is_a_refresh_token_grant(fake):
    fake.client.process_shipment("S1", "CONFIRM")
    token_request = next(r for r in fake.requests if r.url.path == "/auth/o2/token")
    form = dict(httpx.QueryParams(token_request.content.decode()))
    assert form["grant_type"] == "refresh_token"
    assert form["refresh_token"] == fake.client.credentials.refresh_token
    assert form["client_id"] == fake.client.credentials.client_id


@pytest.mark.parametrize("code", ["invalid_grant", "invalid_client"])
def test_bad_credentials_fail_at_once_without_retry(fake, code, caplog):
    fake.token_answers = [httpx.Response(400, json={"error": code, "error_description": "The request has an invalid grant"})] * 5
    with pytest.raises(errors.AmazonAuthConfigurationError) as raised:
        fake.client.get_shipments(status="ACCEPTED")
    assert raised.value.error_code == code
    assert "re-authorise" in raised.value.packer_message
    assert len([r for r in fake.requests if r.url.path == "/auth/o2/token"]) == 1
    assert not fake.api_requests()
    assert fake.client.credentials.client_secret not in caplog.text
    assert fake.client.credentials.refresh_token not in caplog.text


def test_access_token_is_encrypted_at_rest_with_the_seller_secret_key(fake, settings):
    fake.client.process_shipment("S1", "CONFIRM")
    stored = cache.get(fake.client.tokens.cache_key)
    assert stored and "Atza|token-1" not in stored and "token-1" not in stored
    # The key is derived from SECRET_KEY and PACKBENCH_ENCRYPTION_SALT, like the seller secrets':
    # under another key the stored value is unreadable, so a new token is fetched, never garbage sent.
    settings.SALT_KEY = "another-salt"
    assert fake.client.tokens.cached() is None
    fake.client.process_shipment("S1", "CONFIRM")
    assert fake.api_requests()[-1].headers["x-amz-access-token"] == "Atza|token-2"


FORBIDDEN = {"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.", "details": ""}]}


def test_any_403_on_a_cached_token_gets_one_new_token_then_names_the_account(fake):
    fake.client.process_shipment("S1", "CONFIRM")  # token-1 is now cached
    # Not "expired": revoked, or refused for a reason Amazon does not give. The cached token is
    # dropped, a new one fetched and the call repeated once.
    fake.api_answers = [httpx.Response(403, json=FORBIDDEN), httpx.Response(204)]
    fake.client.process_shipment("S1", "CONFIRM")
    assert [r.headers["x-amz-access-token"] for r in fake.api_requests()] == ["Atza|token-1", "Atza|token-1", "Atza|token-2"]
    assert fake.client.tokens.cached() == "Atza|token-2"
    # Refused again with the new token: no loop, a message naming the seller account.
    fake.api_answers = [httpx.Response(403, json=FORBIDDEN)] * 3
    with pytest.raises(errors.AmazonForbidden) as raised:
        fake.client.process_shipment("S1", "CONFIRM")
    assert len(fake.api_requests()) == 5 and fake.tokens_issued == 3
    account = fake.client.credentials.seller_account
    assert f"seller account '{account}'" in raised.value.packer_message
    assert "even with a new access token" in raised.value.packer_message
    assert account in str(raised.value)


def test_a_403_on_a_token_just_fetched_is_not_retried(fake):
    fake.api_answers = [httpx.Response(403, json=FORBIDDEN)] * 3
    with pytest.raises(errors.AmazonForbidden):
        fake.client.process_shipment("S1", "CONFIRM")
    assert len(fake.api_requests()) == 1 and fake.tokens_issued == 1


def test_a_refused_token_another_process_already_replaced_is_not_replaced_again(fake):
    fake.client.process_shipment("S1", "CONFIRM")  # token-1 cached
    other = AmazonClient(fake.client.credentials, http=fake.client.http, retry=fake.client.retry)
    assert other.tokens.token(replacing="Atza|token-1") == ("Atza|token-2", True)
    # This process still holds token-1 and is refused: it takes token-2 from the cache, no LWA call.
    assert fake.client.tokens.token(replacing="Atza|token-1") == ("Atza|token-2", False)
    assert fake.tokens_issued == 2


@pytest.mark.parametrize("answer", [
    httpx.Response(200, text="<html><body>Service unavailable</body></html>", headers={"content-type": "text/html"}),
    httpx.Response(200, text='{"access_token": "Atza|cut', headers={"content-type": "application/json"}),
    httpx.Response(200, json=["not", "an", "object"]),
    httpx.Response(401, text="<html>proxy says no</html>", headers={"content-type": "text/html"}),
])
def test_an_lwa_answer_that_is_not_its_json_is_a_transient_error_and_retried(fake, answer):
    fake.token_answers = [answer]
    fake.client.process_shipment("S1", "CONFIRM")  # a write, retried because it was never sent
    token_requests = [r for r in fake.requests if r.url.path == "/auth/o2/token"]
    assert len(token_requests) == 2 and len(fake.api_requests()) == 1
    fake.token_answers = [answer] * 3
    fake.client.tokens.invalidate()
    with pytest.raises(errors.AmazonServerError) as raised:
        fake.client.process_shipment("S1", "CONFIRM")
    assert raised.value.not_sent and not isinstance(raised.value, errors.AmazonAuthConfigurationError)
    assert "LWA" in str(raised.value) or raised.value.status == 401
    assert "try again" in raised.value.packer_message.lower()


def test_reads_retry_5xx_and_timeouts_writes_do_not(fake):
    fake.api_answers = [
        httpx.Response(503, json={"errors": [{"code": "ServiceUnavailable", "message": "try later"}]}),
        httpx.ReadTimeout("slow"),
        httpx.Response(200, json={"shipments": []}),
    ]
    assert fake.client.get_shipments(status="ACCEPTED").shipments == []
    assert len(fake.api_requests()) == 3

    fake.api_answers = [httpx.Response(500, json={"errors": [{"code": "InternalFailure", "message": "boom"}]})]
    with pytest.raises(errors.AmazonServerError) as raised:
        fake.client.generate_invoice("S1")
    assert raised.value.outcome_unknown is True
    assert "may or may not" in raised.value.packer_message
    assert len(fake.api_requests()) == 4

    fake.api_answers = [httpx.ReadTimeout("slow")]
    with pytest.raises(errors.AmazonTimeout) as raised:
        fake.client.process_shipment("S1", "CONFIRM")
    assert raised.value.outcome_unknown is True
    assert len(fake.api_requests()) == 5


def test_a_429_on_a_write_is_retried_after_retry_after(fake):
    throttled = httpx.Response(
        429, headers={"Retry-After": "0.01"}, json={"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota"}]}
    )
    fake.api_answers = [throttled, httpx.Response(204)]
    fake.client.update_package_status("S1", "P1")
    assert len(fake.api_requests()) == 2


def test_a_write_that_never_left_is_retried(fake):
    fake.api_answers = [httpx.ConnectError("refused"), httpx.Response(204)]
    fake.client.create_packages("S1", [_package()])
    assert len(fake.api_requests()) == 2


def test_409_carries_amazons_words_and_request_id(fake):
    fake.api_answers = [
        httpx.Response(
            409,
            headers={"x-amzn-RequestId": "req-409"},
            json={"errors": [{"code": "InvalidStatus", "message": "Shipment is in CONFIRMED state"}]},
        )
    ]
    with pytest.raises(errors.AmazonConflict) as raised:
        fake.client.generate_invoice("S1")
    error = raised.value
    assert error.request_id == "req-409" and error.status == 409 and error.outcome_unknown is False
    assert error.errors[0].code == "InvalidStatus"
    assert error.packer_message == (
        "Amazon says this step does not fit the shipment's current status (Shipment is in CONFIRMED state). "
        "Refresh the shipment and continue from its current step."
    )
    call = AmazonCall.objects.filter(seller_account=fake.client.credentials.seller_account, operation="generateInvoice").get()
    assert (call.http_status, call.request_id, call.error_code, call.shipment_id) == (409, "req-409", "InvalidStatus", "S1")


def test_update_package_status_sends_the_body_not_the_query(fake):
    fake.client.update_package_status("S 1/2", "P1", sub_status=None)
    request = fake.api_requests()[0]
    assert request.method == "PATCH"
    assert request.url.raw_path.decode() == f"{SHIPMENTS}/S%201%2F2/packages/P1"
    assert "status" not in request.url.params
    assert json.loads(request.content) == {"status": "SHIPPED"}


def test_reject_needs_reference_and_valid_reasons(fake):
    with pytest.raises(AmazonRequestInvalid):
        fake.client.process_shipment("S1", "REJECT", line_items=[{"lineItem": {"id": "1", "quantity": 1}, "reason": "OUT_OF_STOCK"}])
    with pytest.raises(AmazonRequestInvalid) as raised:
        fake.client.process_shipment(
            "S1", "REJECT", reference_id="r-1", line_items=[{"lineItem": {"id": "1", "quantity": 1}, "reason": "BORED"}]
        )
    assert "reason" in raised.value.packer_message
    assert not fake.api_requests()
    fake.client.process_shipment(
        "S1", "REJECT", reference_id="r-1", line_items=[{"lineItem": {"id": "1", "quantity": 1}, "reason": "CUSTOMER_REQUESTED"}]
    )
    request = fake.api_requests()[0]
    assert request.url.params["operation"] == "REJECT"
    assert json.loads(request.content) == {
        "referenceId": "r-1",
        "lineItems": [{"lineItem": {"id": "1", "quantity": 1}, "reason": "CUSTOMER_REQUESTED"}],
    }


def test_ship_labels_limits_and_shape(fake):
    with pytest.raises(AmazonRequestInvalid):
        fake.client.generate_ship_labels("S1", package_ids=[f"P{i}" for i in range(51)])
    fake.api_answers = [httpx.Response(200, json={"packageShipLabelList": []})]
    fake.client.generate_ship_labels(
        "S1",
        package_ids=["P1"],
        operation="REGENERATE",
        shipping_option_id="OPT-1",
        courier_supported_attributes={"carrierName": "Blue Dart", "trackingId": "BD123"},
    )
    request = fake.api_requests()[0]
    assert request.method == "PUT"
    assert dict(request.url.params) == {"operation": "REGENERATE", "shippingOptionId": "OPT-1"}
    assert json.loads(request.content) == {
        "packageIds": ["P1"],
        "courierSupportedAttributes": {"carrierName": "Blue Dart", "trackingId": "BD123"},
    }


def test_get_shipments_validates_max_results_and_formats_filters(fake):
    from datetime import UTC, datetime

    with pytest.raises(ValueError):
        fake.client.get_shipments(status="ACCEPTED", max_results=0)
    with pytest.raises(ValueError):
        list(fake.client.iter_shipments(status="ACCEPTED", max_results=101))
    fake.api_answers = [httpx.Response(200, json={})]
    fake.client.get_shipments(
        status="ACCEPTED",
        location_id="LOC",
        marketplace_id="A21TJRUUN4KGV",
        channel_name="MFN",
        last_updated_after=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        last_updated_before="2025-01-03T00:00:00Z",
        max_results=7,
    )
    assert dict(fake.api_requests()[0].url.params) == {
        "status": "ACCEPTED",
        "locationId": "LOC",
        "marketplaceId": "A21TJRUUN4KGV",
        "channelName": "MFN",
        "lastUpdatedAfter": "2025-01-02T03:04:05Z",
        "lastUpdatedBefore": "2025-01-03T00:00:00Z",
        "maxResults": "7",
    }


def test_recording_failure_never_breaks_the_call(fake, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("database is down")

    monkeypatch.setattr(AmazonCall.objects, "create", broken)
    fake.client.process_shipment("S1", "CONFIRM")
    assert len(fake.api_requests()) == 1


def test_label_fetch_sends_no_amazon_headers_and_maps_expiry(fake, monkeypatch):
    from fulfillment.amazon import label_links

    fake.api_answers = []
    label_calls = []

    def label_server(request):
        label_calls.append(request)
        if "expired" in request.url.path:
            return httpx.Response(403, text="<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>")
        return httpx.Response(200, content=b"^XA^XZ", headers={"content-type": "x.application/zpl"})

    # Labels have a client of their own (label_links): Amazon's hosts only, no Amazon headers.
    labels = httpx.Client(transport=httpx.MockTransport(label_server))
    monkeypatch.setattr(label_links, "_client", lambda *args: labels)
    label = fake.client.fetch_label("https://labels.s3.amazonaws.com/label/1.zpl?X-Amz-Signature=abc")
    assert (label.content, label.content_type) == (b"^XA^XZ", "x.application/zpl")
    assert "x-amz-access-token" not in label_calls[0].headers
    with pytest.raises(errors.LabelUrlExpired) as raised:
        fake.client.fetch_label("https://labels.s3.amazonaws.com/expired/1.zpl?X-Amz-Signature=abc")
    assert "expired" in raised.value.packer_message
    paths = list(AmazonCall.objects.filter(operation="fetchLabel", seller_account=fake.client.credentials.seller_account).values_list("path", flat=True))
    assert sorted(paths) == ["/expired/1.zpl", "/label/1.zpl"]  # the signature never stored


def _package():
    from fulfillment.amazon.schemas import Package

    return Package.model_validate(
        {
            "id": "P1",
            "dimensions": {
                "length": {"value": "10", "dimensionUnit": "CM"},
                "width": {"value": "10", "dimensionUnit": "CM"},
                "height": {"value": "10", "dimensionUnit": "CM"},
            },
            "weight": {"value": "250", "weightUnit": "G"},
            "packageLineItems": [{"packageLineItemId": "1", "quantity": 1}],
        }
    )


def test_embedded_mode_shares_tokens_through_the_database_cache(fake, settings):
    from django.core.cache import caches
    from django.core.management import call_command

    from fulfillment.amazon.auth import AccessTokens

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "amazon_test_cache"}}
    call_command("createcachetable", verbosity=0)
    first = AccessTokens(fake.client.credentials, fake.client.http)
    second = AccessTokens(fake.client.credentials, fake.client.http)  # as another process would
    assert first.get() == second.get() == "Atza|token-1"
    assert fake.tokens_issued == 1
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT cache_key FROM amazon_test_cache")
        keys = [row[0] for row in cursor.fetchall()]
    assert keys and all(fake.client.credentials.client_secret not in key and "Atzr" not in key for key in keys)
    caches["default"].clear()


def test_call_log_is_read_only_in_admin(admin_client):
    AmazonCall.objects.create(operation="getShipment", method="GET", path="/x", shipment_id="S-ADMIN", http_status=200)
    changelist = admin_client.get("/admin/amazon/amazoncall/")
    assert changelist.status_code == 200 and b"S-ADMIN" in changelist.content
    assert admin_client.get("/admin/amazon/amazoncall/add/").status_code == 403
    call = AmazonCall.objects.get(shipment_id="S-ADMIN")
    assert admin_client.post(f"/admin/amazon/amazoncall/{call.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AmazonCall.objects.filter(pk=call.pk).exists()
