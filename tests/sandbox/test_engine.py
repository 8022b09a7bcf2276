"""The sandbox engine without HTTP: state machine table, validation rules, seeded shipments, tokens, buckets."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest

from fulfillment.sandbox import seed
from fulfillment.sandbox.core import auth
from fulfillment.sandbox.core.errors import ApiError
from fulfillment.sandbox.core.ratelimit import TokenBucket
from fulfillment.sandbox.engine import Sandbox
from fulfillment.sandbox.external_fulfillment import rules
from fulfillment.sandbox.external_fulfillment.records import MODEL, programme_of
from tests.sandbox.builders import line_entry, package, packages_for

NOW = datetime(2025, 3, 3, 9, 30, tzinfo=UTC)


class Clock:
    def __init__(self):
        self.now = NOW

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def sandbox(clock):
    return Sandbox(
        seed_number=5,
        count=15,
        config={"rate_limits": {"default": {"rate": 1, "burst": 1}}},
        clock=clock,
    )


@pytest.fixture
def box(sandbox):
    """The SmartConnect side of the sandbox."""
    return sandbox.external_fulfillment


def _status_code(call) -> int:
    try:
        call()
    except ApiError as error:
        return error.status
    return 200


def _shipment_at(box, status: str, programme="seller_flex", **shape) -> str:
    """A fresh shipment walked through the API until it reaches `status`."""
    doc = box.create_shipment(
        {"programme": programme, "marketplace": "IN", "skus": ["MILTON-THERMO-1000-SS"], **shape}
    )
    sid = doc["id"]
    steps = [
        ("CONFIRMED", lambda: box.process_shipment(sid, "CONFIRM", None)),
        ("PACKAGE_CREATED", lambda: box.create_packages(sid, {"packages": packages_for(doc)})),
        ("PICKUP_SLOT_RETRIEVED", lambda: box.retrieve_shipping_options(sid, "PKG-1")),
        ("INVOICE_GENERATED", lambda: box.generate_invoice(sid)),
        (
            "SHIPLABEL_GENERATED",
            lambda: box.generate_ship_labels(
                sid, {"operation": "GENERATE"}, {"packageIds": ["PKG-1"]}
            ),
        ),
        ("SHIPPED", lambda: box.update_package_status(sid, "PKG-1", {"status": "SHIPPED"}, None)),
    ]
    walk_to = "PACKAGE_CREATED" if status == "CANCELLED" else status  # cancelled mid-flow
    for reached, step in steps:
        if box.get_shipment(sid)["status"] == walk_to:
            break
        step()
        assert box.get_shipment(sid)["status"] == reached
    if status == "CANCELLED":
        box.marketplace_cancel(sid)
    assert box.get_shipment(sid)["status"] == status
    return sid


STATUSES = [
    "ACCEPTED",
    "CONFIRMED",
    "PACKAGE_CREATED",
    "PICKUP_SLOT_RETRIEVED",
    "INVOICE_GENERATED",
    "SHIPLABEL_GENERATED",
    "SHIPPED",
    "CANCELLED",
]

# status -> operations that must be accepted there (Seller Flex); all others must be refused with 409
EXPECTED_OK = {
    "ACCEPTED": {"confirm"},
    "CONFIRMED": {"create"},
    "PACKAGE_CREATED": {"update", "options", "invoice"},
    "PICKUP_SLOT_RETRIEVED": {"update", "options", "invoice"},
    "INVOICE_GENERATED": {"update", "options", "invoice", "retrieve_invoice", "labels"},
    "SHIPLABEL_GENERATED": {
        "update",
        "options",
        "invoice",
        "retrieve_invoice",
        "labels",
        "regenerate",
        "ship",
    },
    "SHIPPED": {"retrieve_invoice", "labels"},
    "CANCELLED": set(),
}


@pytest.mark.parametrize("status", STATUSES)
def test_state_machine_table(box, status):
    sid = _shipment_at(box, status)
    doc = box.get_shipment(sid)
    box_body = packages_for(doc)[0]
    operations = {
        "confirm": lambda: box.process_shipment(sid, "CONFIRM", None),
        "create": lambda: box.create_packages(sid, {"packages": packages_for(doc)}),
        "update": lambda: box.update_package(sid, "PKG-1", box_body),
        "options": lambda: box.retrieve_shipping_options(sid, "PKG-1"),
        "invoice": lambda: box.generate_invoice(sid),
        "retrieve_invoice": lambda: box.retrieve_invoice(sid),
        "labels": lambda: box.generate_ship_labels(
            sid, {"operation": "GENERATE"}, {"packageIds": ["PKG-1"]}
        ),
        "regenerate": lambda: box.generate_ship_labels(
            sid, {"operation": "REGENERATE"}, {"packageIds": ["PKG-1"]}
        ),
        "ship": lambda: box.update_package_status(sid, "PKG-1", {"status": "SHIPPED"}, None),
    }
    needs_packages = {"update", "options", "labels", "regenerate", "ship"}
    for name, call in operations.items():
        snapshot = copy.deepcopy(box.records[sid].__dict__)
        code = _status_code(call)
        if name in EXPECTED_OK[status]:
            assert code == 200, f"{name} should be accepted in {status}"
        elif name in needs_packages and status in {"ACCEPTED", "CONFIRMED"}:
            assert code == 404, f"{name} in {status}: there is no package yet"
        else:
            assert code == 409, f"{name} should be refused in {status}, got {code}"
        box.records[sid].__dict__.update(
            snapshot
        )  # each operation is tried from the same starting point


def test_rejection_follows_orders_states_eligible_for_rejection(box):
    body = {
        "referenceId": "r1",
        "lineItems": [{"lineItem": {"id": "1", "quantity": 1}, "reason": "OUT_OF_STOCK"}],
    }
    for status, code in [("PICKUP_SLOT_RETRIEVED", 200), ("INVOICE_GENERATED", 409)]:
        sid = _shipment_at(box, status)
        assert _status_code(lambda sid=sid: box.process_shipment(sid, "REJECT", body)) == code


def test_easy_ship_outside_in_skips_the_invoice(box):
    doc = box.create_shipment(
        {"programme": "easy_ship", "marketplace": "AE", "skus": ["MILTON-THERMO-1000-SS"]}
    )
    sid = doc["id"]
    box.process_shipment(sid, "CONFIRM", None)
    box.create_packages(sid, {"packages": packages_for(doc)})
    option = box.retrieve_shipping_options(sid, "PKG-1")["recommendedShippingOption"]
    assert _status_code(lambda: box.generate_invoice(sid)) == 422
    query = {"operation": "GENERATE", "shippingOptionId": option["shippingOptionId"]}
    box.generate_ship_labels(sid, query, {"packageIds": ["PKG-1"]})
    assert box.get_shipment(sid)["status"] == "SHIPLABEL_GENERATED"


def test_generate_invoice_needs_shipping_options_outside_seller_flex(box):
    sid = _shipment_at(box, "PACKAGE_CREATED", programme="self_ship")
    assert _status_code(lambda: box.generate_invoice(sid)) == 409


def test_package_status_mirrors_the_shipment_then_goes_per_package(box):
    sid = _shipment_at(box, "INVOICE_GENERATED")
    assert box.get_shipment(sid)["packages"][0]["status"] == "INVOICE_GENERATED"
    box.generate_ship_labels(sid, {"operation": "GENERATE"}, {"packageIds": ["PKG-1"]})
    assert box.get_shipment(sid)["packages"][0]["status"] == "SHIPLABEL_GENERATED"


def test_last_updated_moves_with_every_change(box, clock):
    sid = _shipment_at(box, "ACCEPTED")
    clock.now += timedelta(minutes=5)
    box.process_shipment(sid, "CONFIRM", None)
    assert box.get_shipment(sid)["lastUpdatedDateTime"] == "2025-03-03T09:35:00Z"


# --- validation rules -------------------------------------------------------------------------------------


def _line(**rules) -> dict:
    compliance = {
        "serialNumberRequirement": "DISALLOWED",
        "hazmatLabelsRequirement": "DISALLOWED",
        "countryOfOriginRequirement": "DISALLOWED",
        "itemValueRequirement": "DISALLOWED",
        **rules,
    }
    return {
        "shipmentLineItemId": "1",
        "merchantSku": "SKU-1",
        "numberOfUnits": 2,
        "pieceType": "SINGLE",
        "complianceAttributes": compliance,
        "charges": [],
    }


def _shipment(*lines) -> dict:
    return {"id": "S1", "lineItems": list(lines)}


def _rule_status(shipment, pkg) -> int:
    return _status_code(lambda: rules.check_package(shipment, pkg))


@pytest.mark.parametrize(
    ("value", "unit", "ok"),
    [
        ("4.99", "G", False),
        ("5", "G", True),
        ("0.004", "KG", False),
        ("0.005", "KG", True),
        ("0.17", "OZ", False),
        ("0.18", "OZ", True),
        ("0.011", "LB", False),
        ("0.012", "LB", True),
    ],
)
def test_weight_must_be_at_least_5_grams_in_any_unit(value, unit, ok):
    line = _line()
    pkg = package("P", [(line, line_entry(line, 2))])
    pkg["weight"] = {"value": value, "weightUnit": unit}
    assert _rule_status(_shipment(line), pkg) == (200 if ok else 422)


def test_weight_that_is_not_a_number_is_malformed():
    line = _line()
    pkg = package("P", [(line, line_entry(line, 2))], grams="heavy")
    assert _rule_status(_shipment(line), pkg) == 400


@pytest.mark.parametrize("value", ["0", "-3"])
def test_dimensions_must_be_positive(value):
    line = _line()
    pkg = package("P", [(line, line_entry(line, 2))])
    pkg["dimensions"]["height"]["value"] = value
    assert _rule_status(_shipment(line), pkg) == 422


def test_serial_numbers_one_per_unit_when_required_none_when_disallowed():
    required = _line(serialNumberRequirement="REQUIRED")
    good = line_entry(required, 2)
    assert _rule_status(_shipment(required), package("P", [(required, good)])) == 200
    short = {**good, "serialNumbers": good["serialNumbers"][:1]}
    assert _rule_status(_shipment(required), package("P", [(required, short)])) == 422
    twice = {**good, "serialNumbers": ["SN1", "SN1"]}
    assert _rule_status(_shipment(required), package("P", [(required, twice)])) == 422
    disallowed = _line()
    extra = {**line_entry(disallowed, 2), "serialNumbers": ["SN1", "SN2"]}
    assert _rule_status(_shipment(disallowed), package("P", [(disallowed, extra)])) == 422


def test_country_of_origin_and_item_value_when_required_and_only_then():
    line = _line(countryOfOriginRequirement="REQUIRED", itemValueRequirement="REQUIRED")
    good = line_entry(line, 2)
    assert _rule_status(_shipment(line), package("P", [(line, good)])) == 200
    for missing in ("countryOfOrigin", "itemValue"):
        entry = {k: v for k, v in good.items() if k != missing}
        assert _rule_status(_shipment(line), package("P", [(line, entry)])) == 422
    assert (
        _rule_status(_shipment(line), package("P", [(line, {**good, "countryOfOrigin": "china"})]))
        == 422
    )
    plain = _line()
    assert (
        _rule_status(
            _shipment(plain),
            package("P", [(plain, {**line_entry(plain, 2), "countryOfOrigin": "CN"})]),
        )
        == 422
    )
    priced = {**line_entry(plain, 2), "itemValue": {"value": "3.00", "currencyCode": "INR"}}
    assert _rule_status(_shipment(plain), package("P", [(plain, priced)])) == 422


def test_hazmat_labels_when_required_and_only_then():
    dangerous = _line(hazmatLabelsRequirement="REQUIRED")
    with_labels = package("P", [(dangerous, line_entry(dangerous, 2))])
    assert with_labels["hazmatLabels"]
    assert _rule_status(_shipment(dangerous), with_labels) == 200
    assert _rule_status(_shipment(dangerous), {**with_labels, "hazmatLabels": []}) == 422
    safe = _line()
    assert (
        _rule_status(
            _shipment(safe),
            {**package("P", [(safe, line_entry(safe, 2))]), "hazmatLabels": ["UN1266"]},
        )
        == 422
    )


def test_unknown_line_items_and_empty_packages_are_refused():
    line = _line()
    stray = {**line_entry(line, 2), "packageLineItemId": "9"}
    assert _rule_status(_shipment(line), package("P", [(line, stray)])) == 422
    assert (
        _rule_status(
            _shipment(line), {**package("P", [(line, line_entry(line, 2))]), "packageLineItems": []}
        )
        == 422
    )


def test_units_across_packages_must_match_the_shipment_exactly():
    line = _line()
    one = package("A", [(line, line_entry(line, 1))])
    other = package("B", [(line, line_entry(line, 1))])
    rules.check_unit_totals(_shipment(line), [one, other])
    for packages in ([one], [one, other, package("C", [(line, line_entry(line, 1))])]):
        with pytest.raises(ApiError) as caught:
            rules.check_unit_totals(_shipment(line), packages)
        assert caught.value.status == 422 and "SKU-1" in caught.value.details


def test_multi_piece_items_spread_their_pieces_over_cartons():
    table = {
        **_line(),
        "numberOfUnits": 1,
        "pieceType": "MULTIPLE",
        "customAttributes": [{"key": "numberOfPieces", "type": "INTEGER", "value": "3"}],
    }
    cartons = packages_for(_shipment(table))
    assert len(cartons) == 3
    for carton in cartons:
        assert _rule_status(_shipment(table), carton) == 200
    rules.check_unit_totals(_shipment(table), cartons)
    with pytest.raises(ApiError):
        rules.check_unit_totals(_shipment(table), cartons[:2])  # a piece is missing
    no_pieces = copy.deepcopy(cartons[0])
    del no_pieces["packageLineItems"][0]["pieces"]
    assert _rule_status(_shipment(table), no_pieces) == 422


def test_serial_numbers_must_be_unique_across_the_shipment():
    line = _line(serialNumberRequirement="REQUIRED")
    a = package("A", [(line, {**line_entry(line, 1), "serialNumbers": ["IMEI-1"]})])
    b = package("B", [(line, {**line_entry(line, 1), "serialNumbers": ["IMEI-1"]})])
    with pytest.raises(ApiError) as caught:
        rules.check_unit_totals(_shipment(line), [a, b])
    assert "IMEI-1" in caught.value.message


def test_request_bodies_are_checked_against_the_model():
    with pytest.raises(ApiError) as caught:
        rules.check_body("createPackages", {"packages": [{"id": "P"}]})
    assert caught.value.status == 400 and "dimensions" in caught.value.details
    with pytest.raises(ApiError):
        rules.check_body("generateShipLabels", {"packageIds": [f"P{n}" for n in range(51)]})
    rules.check_body("generateShipLabels", {"packageIds": [f"P{n}" for n in range(50)]})


def test_duplicate_package_ids_are_400(box):
    sid = _shipment_at(box, "CONFIRMED")
    doc = box.get_shipment(sid)
    pkg = packages_for(doc)[0]
    assert _status_code(lambda: box.create_packages(sid, {"packages": [pkg, pkg]})) == 400


# --- seeded shipments -----------------------------------------------------------------------------------------


def test_every_seeded_shipment_matches_the_models_shipment_schema():
    validator = MODEL.definition_validator("Shipment")
    for seeded in seed.seed_shipments(seed=3, count=60, now=NOW):
        assert MODEL.schema_errors(validator, seeded.doc) == [], seeded.doc["id"]


def test_seed_is_deterministic_and_covers_the_shapes_the_station_must_handle():
    first = [s.doc for s in seed.seed_shipments(11, 40, NOW)]
    assert first == [s.doc for s in seed.seed_shipments(11, 40, NOW)]
    assert first != [s.doc for s in seed.seed_shipments(12, 40, NOW)]
    lines = [line for doc in first for line in doc["lineItems"]]
    infos = [doc["shipmentInfo"] for doc in first]
    assert {programme_of(doc) for doc in first} == {"easy_ship", "self_ship", "seller_flex"}
    assert {i["priority"] for i in infos} == {"HIGH", "LOW"}
    assert {i["shipmentType"] for i in infos} == {"NEW", "EXCHANGE", "REPLACEMENT"}
    assert all("originalShipmentInfo" in i for i in infos if i["shipmentType"] != "NEW")
    ship_by = [doc["shippingInfo"]["expectedShippingDateTimeInUTC"] for doc in first]
    assert min(ship_by) < seed.iso(NOW) < max(ship_by)
    assert any(i["numberOfUnits"] > 1 for i in infos) and any(
        len(doc["lineItems"]) > 1 for doc in first
    )
    assert any(line["pieceType"] == "MULTIPLE" for line in lines)
    assert any(
        line["complianceAttributes"]["serialNumberRequirement"] == "REQUIRED" for line in lines
    )
    assert any(
        line["complianceAttributes"]["hazmatLabelsRequirement"] == "REQUIRED" for line in lines
    )
    assert any(line["giftAttributes"]["giftMessagePresence"] == "PRESENT" for line in lines)
    assert sum("recommendedPackages" in doc["shippingInfo"] for doc in first) > len(first) * 0.7
    assert any(doc["shipmentRequirements"]["invoice"]["requirement"] == "REQUIRED" for doc in first)
    assert any(doc["shipmentRequirements"]["pSlip"]["requirement"] == "REQUIRED" for doc in first)


def test_seeded_recommended_packages_are_accepted_as_they_are(box):
    """A packer who takes Amazon's recommendation must not be refused by the sandbox."""
    for record in list(box.records.values()):
        doc = record.doc
        if record.status != "ACCEPTED":
            continue
        box.process_shipment(doc["id"], "CONFIRM", None)
        box.create_packages(doc["id"], {"packages": packages_for(doc)})
        assert box.get_shipment(doc["id"])["status"] == "PACKAGE_CREATED"


# --- tokens, buckets, faults ------------------------------------------------------------------------------


def test_token_bucket_refills_at_its_rate():
    bucket = TokenBucket(rate=2, burst=2)
    assert [bucket.take(0.0), bucket.take(0.0), bucket.take(0.0)] == [True, True, False]
    assert bucket.take(0.5) and not bucket.take(0.5)


def test_each_seller_has_its_own_rate_limit_buckets(sandbox):
    """Amazon limits each selling partner on its own: a second seller's call is not throttled by the first's."""
    sandbox.configure({"refresh_tokens": ["Atzr|second-seller"],
                       "rate_limits": {"default": {"rate": 1, "burst": 1}}})

    def seller_of(refresh_token):
        status, body = sandbox.grant_token({"grant_type": "refresh_token", "refresh_token": refresh_token,
                                            "client_id": auth.DEFAULT_CLIENT_ID,
                                            "client_secret": auth.DEFAULT_CLIENT_SECRET})
        assert status == 200
        return sandbox.authorize(body["access_token"])

    first, second = seller_of(auth.DEFAULT_REFRESH_TOKEN), seller_of("Atzr|second-seller")
    assert first != second and "Atzr" not in first
    assert [sandbox.take_token("getShipment", at=100.0, seller=first) for _ in range(2)] == [True, False]
    assert sandbox.take_token("getShipment", at=100.0, seller=second)
    assert not sandbox.take_token("getShipment", at=100.0, seller=second)


def test_access_tokens_expire_after_their_ttl(sandbox, clock):
    status, body = sandbox.grant_token(
        {
            "grant_type": "refresh_token",
            "refresh_token": auth.DEFAULT_REFRESH_TOKEN,
            "client_id": auth.DEFAULT_CLIENT_ID,
            "client_secret": auth.DEFAULT_CLIENT_SECRET,
        }
    )
    assert status == 200
    sandbox.authorize(body["access_token"])
    clock.now += timedelta(seconds=3600)
    with pytest.raises(ApiError) as caught:
        sandbox.authorize(body["access_token"])
    assert caught.value.details == "The access token you provided has expired."


def test_fault_count_limits_how_often_it_fires(sandbox):
    sandbox.add_fault({"operations": ["getShipment"], "error_rate": 1.0, "count": 2})
    plans = [sandbox.plan_faults("getShipment").error_status for _ in range(3)]
    assert plans == [503, 503, None]
    assert sandbox.plan_faults("getShipments").error_status is None


def test_unknown_fault_fields_are_refused(sandbox):
    with pytest.raises(ValueError):
        sandbox.add_fault({"eror_rate": 1})
