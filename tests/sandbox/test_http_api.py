"""The sandbox over real HTTP: LWA, access tokens, rate limits, faults, getShipments, static cases, start-up."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.sandbox.builders import packages_for

DEV = {
    "grant_type": "refresh_token",
    "refresh_token": "Atzr|sandbox-refresh-token",
    "client_id": "amzn1.application-oa2-client.sandbox",
    "client_secret": "sandbox-secret",
}


# --- LWA and access tokens -------------------------------------------------------------------------


def test_token_endpoint_trades_the_refresh_token(fresh):
    answer = httpx.post(fresh.token_url, data=DEV)
    assert answer.status_code == 200
    body = answer.json()
    assert body["access_token"].startswith("Atza|")
    assert body | {"access_token": "x"} == {
        "access_token": "x",
        "token_type": "bearer",
        "expires_in": 3600,
        "refresh_token": "Atzr|sandbox-refresh-token",
    }


def test_token_endpoint_refuses_unknown_clients_and_bad_grants(fresh):
    unknown = httpx.post(fresh.token_url, data={**DEV, "client_secret": "wrong"})
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"
    assert unknown.json()["error_description"]
    bad_grant = httpx.post(fresh.token_url, data={**DEV, "refresh_token": "Atzr|not-issued"})
    assert bad_grant.status_code == 400 and bad_grant.json()["error"] == "invalid_grant"
    fresh.configure(revoked_refresh_tokens=["Atzr|sandbox-refresh-token"])
    revoked = httpx.post(fresh.token_url, data=DEV)
    assert revoked.status_code == 400 and revoked.json()["error"] == "invalid_grant"


def test_credentials_can_be_registered_at_runtime(fresh):
    fresh.configure(
        lwa_clients={"amzn1.application-oa2-client.other": "other-secret"},
        refresh_tokens=["Atzr|other"],
    )
    answer = httpx.post(
        fresh.token_url,
        data={
            **DEV,
            "client_id": "amzn1.application-oa2-client.other",
            "client_secret": "other-secret",
            "refresh_token": "Atzr|other",
        },
    )
    assert answer.status_code == 200


def test_api_calls_without_a_valid_token_are_403(api):
    denied = {
        "errors": [
            {
                "code": "Unauthorized",
                "message": "Access to requested resource is denied.",
                "details": "",
            }
        ]
    }
    missing = api.call("getShipments", "GET", "", token=None, params={"status": "ACCEPTED"})
    assert missing.status_code == 403 and missing.json() == denied
    forged = api.call(
        "getShipments", "GET", "", token="Atza|forged.123", params={"status": "ACCEPTED"}
    )
    assert forged.status_code == 403 and forged.json() == denied


def test_expired_tokens_are_403_with_amazons_detail(api, sandbox):
    sandbox.configure(expire_tokens=True)
    expired = api.get_shipments(status="ACCEPTED")
    assert expired.status_code == 403
    assert expired.json()["errors"][0]["details"] == "The access token you provided has expired."
    sandbox.configure(token_ttl_seconds=0)
    short = httpx.post(sandbox.token_url, data=DEV).json()
    assert short["expires_in"] == 0
    assert (
        api.call(
            "getShipments", "GET", "", token=short["access_token"], params={"status": "ACCEPTED"}
        ).status_code
        == 403
    )
    sandbox.configure(token_ttl_seconds=3600)
    api.token = sandbox.access_token()
    assert api.get_shipments(status="ACCEPTED").status_code == 200


# --- rate limits and faults ------------------------------------------------------------------------------


def test_rate_limit_is_per_operation_and_answers_429(api, sandbox):
    sandbox.configure(rate_limits={"getShipment": {"rate": 0.2, "burst": 2}})
    sid = sandbox.shipments()[0]["id"]
    answers = [api.get_shipment(sid) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json() == {
        "errors": [
            {
                "code": "QuotaExceeded",
                "message": "You exceeded your quota for the requested resource.",
            }
        ]
    }
    assert answers[2].headers["x-amzn-RateLimit-Limit"] == "0.2"
    assert (
        api.get_shipments(status="ACCEPTED").status_code == 200
    )  # another operation, another bucket


def test_server_error_fault_hits_the_next_call_only(api, sandbox):
    sandbox.faults(operations=["getShipments"], error_rate=1.0, error_status=503, count=1)
    first = api.get_shipments(status="ACCEPTED")
    assert first.status_code == 503 and first.json()["errors"][0]["code"] == "ServiceUnavailable"
    assert api.get_shipments(status="ACCEPTED").status_code == 200


def test_applied_server_error_leaves_the_outcome_unknown(api, sandbox):
    sid = sandbox.create_shipment(programme="seller_flex", marketplace="IN")["id"]
    sandbox.faults(
        operations=["processShipment"], error_rate=1.0, error_status=500, count=1, apply=True
    )
    assert api.process_shipment(sid, "CONFIRM").status_code == 500
    assert (
        api.get_shipment(sid).json()["status"] == "CONFIRMED"
    )  # the confirm went through nevertheless


def test_throttle_storm_and_latency(api, sandbox):
    sandbox.faults(operations=["getShipments"], throttle_seconds=30)
    assert api.get_shipments(status="ACCEPTED").status_code == 429
    sid = sandbox.shipments()[0]["id"]
    assert api.get_shipment(sid).status_code == 200  # other operations are not in the storm
    sandbox.clear_faults()
    sandbox.faults(latency_ms=300)
    started = time.monotonic()
    assert api.get_shipment(sid).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_timeout_fault_outlives_the_caller_but_still_does_the_work(fresh):
    sid = fresh.create_shipment(programme="seller_flex", marketplace="IN")["id"]
    fresh.faults(operations=["processShipment"], timeout_rate=1.0, timeout_seconds=1.5, count=1)
    token = fresh.access_token()
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            f"{fresh.url}/externalFulfillment/2024-09-11/shipments/{sid}",
            params={"operation": "CONFIRM"},
            headers={"x-amz-access-token": token},
            timeout=0.5,
        )
    assert fresh.state(sid)["shipment"]["status"] == "CONFIRMED"


# --- getShipments -------------------------------------------------------------------------------------------


def test_get_shipments_validates_its_parameters(api):
    assert api.get_shipments().status_code == 400  # status is required by the model
    assert api.get_shipments(status="WAITING").status_code == 400
    assert api.get_shipments(status="ACCEPTED", maxResults=0).status_code == 400
    assert api.get_shipments(status="ACCEPTED", maxResults=101).status_code == 400
    assert api.get_shipments(status="ACCEPTED", lastUpdatedAfter="yesterday").status_code == 400
    assert api.get_shipments(status="ACCEPTED", paginationToken="garbage!").status_code == 400
    assert len(api.get_shipments(status="ACCEPTED").json()["shipments"]) == 10  # default page size


def test_get_shipments_pages_through_every_match_with_filters(api, sandbox):
    seen, token = [], None
    while True:
        params = {"status": "ACCEPTED", "locationId": "SANDBOX-LOC-1", "maxResults": 7}
        if token:
            params["paginationToken"] = token
        page = api.get_shipments(**params).json()
        seen += page["shipments"]
        token = page.get("pagination", {}).get("nextToken")
        if not token:
            break
    expected = [
        s["id"]
        for s in sandbox.shipments()
        if s["status"] == "ACCEPTED" and s["locationId"] == "SANDBOX-LOC-1"
    ]
    assert sorted(s["id"] for s in seen) == sorted(expected)
    assert len(seen) == len({s["id"] for s in seen})
    india = api.get_shipments(
        status="ACCEPTED", marketplaceId="A21TJRUUN4KGV", channelName="FBA", maxResults=100
    ).json()
    assert india["shipments"] and all(
        s["marketplaceAttributes"]
        == s["marketplaceAttributes"] | {"marketplaceId": "A21TJRUUN4KGV", "channelName": "FBA"}
        for s in india["shipments"]
    )


def test_get_shipments_by_last_update(api, sandbox):
    everything = api.get_shipments(status="ACCEPTED", maxResults=100).json()["shipments"]
    newest = max(s["lastUpdatedDateTime"] for s in everything)
    recent = api.get_shipments(status="ACCEPTED", maxResults=100, lastUpdatedAfter=newest).json()[
        "shipments"
    ]
    assert recent and all(s["lastUpdatedDateTime"] >= newest for s in recent)
    older = api.get_shipments(status="ACCEPTED", maxResults=100, lastUpdatedBefore=newest).json()[
        "shipments"
    ]
    assert len(recent) + len(older) == len(everything)


def test_get_shipments_sometimes_returns_an_empty_page_mid_stream(api, sandbox):
    sandbox.configure(empty_page_every=2)
    first = api.get_shipments(status="ACCEPTED", maxResults=5).json()
    token = first["pagination"]["nextToken"]
    second = api.get_shipments(status="ACCEPTED", maxResults=5, paginationToken=token).json()
    third = api.get_shipments(
        status="ACCEPTED", maxResults=5, paginationToken=second["pagination"]["nextToken"]
    ).json()
    pages = [second, third]
    assert [len(p["shipments"]) for p in pages].count(0) == 1
    assert all(p["pagination"]["nextToken"] for p in pages)


# --- static cases, control API, start-up -------------------------------------------------------------------


def test_static_sandbox_cases_answer_exactly_as_listed(api):
    from fulfillment.sandbox.external_fulfillment.records import MODEL

    expected = MODEL.document["paths"]["/externalFulfillment/2024-09-11/shipments/{shipmentId}"][
        "get"
    ]["responses"]["200"]["x-amzn-api-sandbox"]["static"][1]["response"]
    assert api.get_shipment("TEST_CASE_200_MFN_SHIPMENT_ID").json() == expected
    missing = api.get_shipment("TEST_CASE_404_SHIPMENT_ID")
    assert (
        missing.status_code == 404
        and "TEST_CASE_404_SHIPMENT_ID" in missing.json()["errors"][0]["message"]
    )
    assert api.process_shipment("TEST_CASE_200_MFN_SHIPMENT_ID", "CONFIRM").status_code == 204
    options = api.retrieve_shipping_options(
        "TEST_CASE_200_FBA_SHIPMENT_ID", "TEST_CASE_200_PACKAGE_ID"
    ).json()
    assert options == {"shippingOptions": []}
    listed = api.get_shipments(
        locationId="TEST_CASE_200_LOCATION_ID", status="CONFIRMED", maxResults=2
    ).json()
    assert listed["pagination"]["nextToken"] == "eyJsYXN0VXBkYXRlZFRpbWVzdGFtcCI6eyJzIjpLL"


def test_control_api_rejects_bad_input_with_a_message(sandbox):
    bad = httpx.post(f"{sandbox.url}/_sandbox/config", json={"label_format": "GIF"})
    assert bad.status_code == 400 and "label_format" in bad.json()["error"]
    unknown = httpx.post(f"{sandbox.url}/_sandbox/shipments", json={"programme": "drone"})
    assert unknown.status_code == 400 and "programme" in unknown.json()["error"]


def test_runsandbox_seeds_every_programme_across_both_locations(fresh):
    shipments = fresh.shipments()
    assert len(shipments) == 40
    assert {s["programme"] for s in shipments} == {"easy_ship", "self_ship", "seller_flex"}
    assert {s["locationId"] for s in shipments} == {"SANDBOX-LOC-1", "SANDBOX-LOC-2"}
    assert {s["marketplaceId"] for s in shipments} >= {
        "A21TJRUUN4KGV",
        "ATVPDKIKX0DER",
        "A1PA6795UKMFR9",
        "A2VIGQ35RCS4UG",
    }
    assert fresh.reset(seed=99, count=12)["count"] == 12
    assert len(fresh.shipments()) == 12


def test_live_mode_tick_brings_a_new_accepted_shipment(fresh):
    before = {s["id"] for s in fresh.shipments()}
    tick = httpx.post(f"{fresh.url}/_sandbox/live/tick").json()
    assert tick["created"] not in before
    assert fresh.state(tick["created"])["shipment"]["status"] == "ACCEPTED"


def test_runsandbox_reports_a_port_in_use_clearly(sandbox):
    port = int(sandbox.url.rsplit(":", 1)[1])
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "manage.py", "runsandbox", f"127.0.0.1:{port}", "--no-live"],
        check=False,
        cwd=root,
        env={**os.environ, "PACKBENCH_ENV": "test"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert f"Port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_paths_answer_in_amazons_shape(sandbox):
    answer = httpx.get(f"{sandbox.url}/externalFulfillment/2024-09-11/nothing")
    assert answer.status_code == 404 and answer.json()["errors"][0]["code"] == "NotFound"


def test_requests_are_logged_for_tests_to_inspect(api, sandbox):
    sid = sandbox.shipments()[0]["id"]
    api.get_shipment(sid)
    calls = sandbox.calls(operation="getShipment")
    assert (
        calls[-1]["shipment_id"] == sid and calls[-1]["status"] == 200 and calls[-1]["request_id"]
    )


def test_package_validation_errors_over_http(api, sandbox):
    shipment = sandbox.create_shipment(
        programme="seller_flex", marketplace="IN", skus=["MILTON-THERMO-1000-SS"]
    )
    sid = shipment["id"]
    api.process_shipment(sid, "CONFIRM")
    box = packages_for(shipment)[0]
    numeric = {
        **box,
        "weight": {"value": 850, "weightUnit": "G"},
    }  # the model's Decimal is a string
    malformed = api.create_packages(sid, [numeric])
    assert (
        malformed.status_code == 400 and "weight/value" in malformed.json()["errors"][0]["details"]
    )
    feather = api.create_packages(sid, [{**box, "weight": {"value": "4", "weightUnit": "G"}}])
    assert feather.status_code == 422 and "minimum is 5 g" in feather.json()["errors"][0]["message"]
    not_json = api.call(
        "createPackages",
        "POST",
        f"/{sid}/packages",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert not_json.status_code == 400


def test_getshipments_lists_a_seller_its_own_locations_only(fresh):
    """As Amazon: a seller's getShipments (no locationId) lists its own locations' shipments; a location the
    sandbox names no seller for is everyone's (the seeded floor)."""
    from fulfillment.sandbox.core import auth
    from tests.sandbox.conftest import Api as SandboxApi

    def listed(token):
        answer = SandboxApi(fresh)
        answer.token = token
        return {s["locationId"] for s in answer.get_shipments(status="ACCEPTED", maxResults=100).json()["shipments"]}

    assert listed(fresh.access_token()) == {"SANDBOX-LOC-1", "SANDBOX-LOC-2"}
    fresh.configure(refresh_tokens=["Atzr|second-seller"], location_sellers={"SANDBOX-LOC-2": "Atzr|second-seller"})
    second = httpx.post(f"{fresh.url}/auth/o2/token", data={
        "grant_type": "refresh_token", "refresh_token": "Atzr|second-seller",
        "client_id": auth.DEFAULT_CLIENT_ID, "client_secret": auth.DEFAULT_CLIENT_SECRET}).json()["access_token"]
    assert listed(fresh.access_token()) == {"SANDBOX-LOC-1"}
    assert listed(second) == {"SANDBOX-LOC-1", "SANDBOX-LOC-2"}  # LOC-1 is named for nobody: everyone's
    fresh.configure(location_sellers={"SANDBOX-LOC-1": auth.DEFAULT_REFRESH_TOKEN,
                                      "SANDBOX-LOC-2": "Atzr|second-seller"})
    assert listed(fresh.access_token()) == {"SANDBOX-LOC-1"} and listed(second) == {"SANDBOX-LOC-2"}
