"""schemas.py mirrors every definition of Amazon's model and reads what Amazon sends."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import BaseModel

from fulfillment.amazon import contract_schema, schemas

MODEL = contract_schema.contract()
RESPONSE_MODELS = {
    "getShipments": schemas.ShipmentsResponse,
    "getShipment": schemas.Shipment,
    "retrieveShippingOptions": schemas.ShippingOptionsResponse,
    "generateInvoice": schemas.InvoiceResponse,
    "retrieveInvoice": schemas.InvoiceResponse,
    "generateShipLabels": schemas.ShipLabelsResponse,
}
BODY_MODELS = {
    "processShipment": schemas.ShipmentAcknowledgementRequest,
    "createPackages": schemas.Packages,
    "updatePackage": schemas.Package,
    "updatePackageStatus": schemas.PackageDeliveryStatus,
    "generateShipLabels": schemas.ShipLabelsInput,
}


def _sandbox_cases():
    for operation_id, spec in contract_schema.operations().items():
        for status, response in spec["responses"].items():
            for case in response.get("x-amzn-api-sandbox", {}).get("static", []):
                yield pytest.param(operation_id, int(status), case, id=f"{operation_id}-{status}")


def test_every_definition_has_a_python_mirror():
    assert set(schemas.DEFINITIONS) == set(MODEL["definitions"])


@pytest.mark.parametrize("name", sorted(MODEL["definitions"]))
def test_fields_aliases_and_required_match_the_definition(name):
    definition = MODEL["definitions"][name]
    mirror = schemas.DEFINITIONS[name]
    if isinstance(mirror, type) and issubclass(mirror, BaseModel):
        by_alias = {(field.alias or attr): field.is_required() for attr, field in mirror.model_fields.items()}
        assert set(by_alias) == set(definition.get("properties", {}))
        assert {alias for alias, required in by_alias.items() if required} == set(definition.get("required", []))
    elif "enum" in definition:
        assert {member.value for member in mirror} == set(definition["enum"])


@pytest.mark.parametrize(("operation_id", "status", "case"), list(_sandbox_cases()))
def test_every_sandbox_example_parses(operation_id, status, case):
    body = json.loads(json.dumps(case["response"]), parse_float=Decimal)
    if status >= 400:
        parsed = schemas.ErrorList.model_validate(body)
        assert parsed.errors and parsed.errors[0].code
        return
    if operation_id in RESPONSE_MODELS:
        parsed = RESPONSE_MODELS[operation_id].model_validate(body)
        # Nothing Amazon sent is lost: dumping gives the example back (numbers as Amazon wrote them).
        assert _normalise(parsed.model_dump(mode="json", by_alias=True, exclude_none=True)) == _normalise(case["response"])
    request_body = case["request"]["parameters"].get("body", {}).get("value")
    if request_body and operation_id in BODY_MODELS:
        model = BODY_MODELS[operation_id].model_validate(request_body)
        assert contract_schema.body_problems(operation_id, model.to_amazon()) == []


def _normalise(value):
    """Compare numbers and times by value whatever their JSON spelling ("160" == 160,
    "2020-06-09 14:00:00Z" == "2020-06-09T14:00:00Z")."""
    if isinstance(value, dict):
        return {key: _normalise(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_normalise(item) for item in value]
    if isinstance(value, str):
        try:
            return Decimal(value)
        except ArithmeticError:
            parsed = schemas.base._iso_to_utc(value)
            return parsed if isinstance(parsed, datetime) else value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(str(value))
    return value


def test_decimals_stay_exact_whether_sent_as_string_or_number():
    raw = '{"value": 0.99999999898, "currencyCode": "INR"}'
    amount = schemas.Amount.model_validate(json.loads(raw, parse_float=Decimal))
    assert amount.value == Decimal("0.99999999898")
    assert schemas.Amount.model_validate({"value": "1234567890.123456789", "currencyCode": "INR"}).value == Decimal(
        "1234567890.123456789"
    )
    # Sent back as the model's Decimal: a string with every digit.
    assert amount.to_amazon() == {"value": "0.99999999898", "currencyCode": "INR"}


def test_unknown_enum_values_and_fields_are_kept():
    shipment_status = schemas.PackageDeliveryStatus.model_validate(
        {"status": "TELEPORTED", "subStatus": "IN_ORBIT", "newField": {"x": 1}}
    )
    assert shipment_status.status == "TELEPORTED"
    assert shipment_status.sub_status == "IN_ORBIT"
    assert shipment_status.model_extra == {"newField": {"x": 1}}
    assert shipment_status.to_amazon()["newField"] == {"x": 1}
    assert schemas.ShipmentStatus.SHIPPED == "SHIPPED"


def test_time_window_reads_epoch_seconds_as_aware_utc_and_sends_them_back():
    window = schemas.TimeWindow.model_validate({"startTime": 1736793268, "endTime": "1736796868", "handoverMethod": "PICKUP"})
    assert window.start_time == datetime(2025, 1, 13, 18, 34, 28, tzinfo=UTC)
    assert window.end_time.tzinfo is not None and (window.end_time - window.start_time).total_seconds() == 3600
    assert window.to_amazon() == {"startTime": 1736793268, "endTime": 1736796868, "handoverMethod": "PICKUP"}


def test_datetime_strings_become_aware_datetimes():
    info = schemas.InvoiceInfo.model_validate({"invoiceId": "I1", "creationDateTime": "2025-01-13T11:05:00Z"})
    assert info.creation_date_time == datetime(2025, 1, 13, 11, 5, tzinfo=UTC)
    assert info.to_amazon()["creationDateTime"] == "2025-01-13T11:05:00Z"


def test_python_names_build_requests_that_match_the_model():
    package = schemas.Package(
        id="P1",
        dimensions=schemas.PackageDimensions(
            length=schemas.Dimension(value=Decimal("10.5"), dimension_unit="CM"),
            width=schemas.Dimension(value=Decimal("10"), dimension_unit="CM"),
            height=schemas.Dimension(value=Decimal("2.25"), dimension_unit="CM"),
        ),
        weight=schemas.Weight(value=Decimal("300"), weight_unit="G"),
        package_line_items=[schemas.PackageLineItem(package_line_item_id="1", quantity=1)],
    )
    body = schemas.Packages(packages=[package]).to_amazon()
    assert body["packages"][0]["packageLineItems"] == [{"packageLineItemId": "1", "quantity": 1}]
    assert body["packages"][0]["dimensions"]["length"] == {"value": "10.5", "dimensionUnit": "CM"}
    assert "status" not in body["packages"][0]
    assert contract_schema.body_problems("createPackages", body) == []


def test_contract_rejects_what_amazon_would_reject():
    too_many = schemas.ShipLabelsInput(package_ids=[f"P{i}" for i in range(51)]).to_amazon()
    assert contract_schema.body_problems("generateShipLabels", too_many)
    bad_reason = {"referenceId": "r", "lineItems": [{"lineItem": {"id": "1"}, "reason": "BORED"}]}
    assert contract_schema.body_problems("processShipment", bad_reason)
    assert contract_schema.parameter_problems("getShipments", "query", {"status": "SHIPPED", "maxResults": "101"})
    assert contract_schema.parameter_problems("getShipments", "query", {"maxResults": "5"})  # status missing
    assert not contract_schema.parameter_problems("getShipments", "query", {"status": "SHIPPED", "maxResults": "100"})


def test_programme_is_read_from_channel_and_shipping_type():
    def shipment(channel, shipping_type):
        return schemas.Shipment.model_construct(
            marketplace_attributes=schemas.MarketplaceAttributes(marketplace_id="A21TJRUUN4KGV", channel_name=channel),
            shipping_info=schemas.ShippingInfo.model_construct(shipping_type=shipping_type),
        )

    assert shipment("MFN", "MARKETPLACE").programme == "Easy Ship"
    assert shipment("MFN", "SELF").programme == "Self-Ship"
    assert shipment("FBA", "MARKETPLACE").programme == "Seller Flex"
