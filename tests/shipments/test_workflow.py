"""The workflow rules, table-driven: which step each programme may take in each Amazon status,
what the station prompts next, and what a package must (and must not) carry."""

from decimal import Decimal

import pytest
from django.utils import timezone

from fulfillment.shipments import workflow
from fulfillment.shipments.models import Package, Programme
from fulfillment.shipments.workflow import PackageInput, PackageItemInput

from . import factories as f

pytestmark = pytest.mark.django_db

ES, SS, SF = Programme.EASY_SHIP, Programme.SELF_SHIP, Programme.SELLER_FLEX
COURIER = {"carrier_name": "BlueDart", "tracking_id": "BD123"}


@pytest.mark.parametrize(
    ("channel", "shipping_type", "programme"),
    [
        ("MFN", "MARKETPLACE", ES), ("MFN", "Marketplace", ES), ("MFN", "SELF", SS), ("MFN", "Self", SS),
        ("FBA", "MARKETPLACE", SF), ("FBA", "SELF", Programme.OTHER), ("PHARMACY", "MARKETPLACE", Programme.OTHER),
        (None, None, Programme.OTHER),
    ],
)
def test_programme_from_channel_and_shipping_type(channel, shipping_type, programme):
    assert workflow.programme_for(channel, shipping_type) == programme


# (programme, marketplace, invoice requirement, status, packages, kind, payload, allowed)
STEP_TABLE = [
    (ES, f.INDIA, "REQUIRED", "ACCEPTED", None, "CONFIRM", {}, True),
    (ES, f.INDIA, "REQUIRED", "CONFIRMED", None, "CONFIRM", {}, False),
    (SF, f.INDIA, "REQUIRED", "ACCEPTED", None, "REJECT", {"reason": "OUT_OF_STOCK"}, True),
    (SF, f.INDIA, "REQUIRED", "ACCEPTED", None, "REJECT", {"reason": "BORED"}, False),
    (ES, f.INDIA, "REQUIRED", "SHIPLABEL_GENERATED", "ready", "REJECT", {}, False),
    (ES, f.INDIA, "REQUIRED", "CONFIRMED", None, "CREATE_PACKAGES", {}, False),
    (ES, f.INDIA, "REQUIRED", "CONFIRMED", "draft", "CREATE_PACKAGES", {}, True),
    (ES, f.INDIA, "REQUIRED", "CONFIRMED", "sent", "CREATE_PACKAGES", {}, True),  # retry after a failure
    (ES, f.INDIA, "REQUIRED", "PACKAGE_CREATED", "confirmed", "CREATE_PACKAGES", {}, False),
    (ES, f.INDIA, "REQUIRED", "PACKAGE_CREATED", "confirmed", "SHIPPING_OPTIONS", {}, True),
    (SS, f.US, "NOT_REQUIRED", "PACKAGE_CREATED", "confirmed", "SHIPPING_OPTIONS", {}, True),
    (SF, f.INDIA, "REQUIRED", "PACKAGE_CREATED", "confirmed", "SHIPPING_OPTIONS", {}, False),
    (ES, f.INDIA, "REQUIRED", "CONFIRMED", "draft", "SHIPPING_OPTIONS", {}, False),
    (ES, f.INDIA, "REQUIRED", "PICKUP_SLOT_RETRIEVED", "confirmed", "INVOICE", {}, True),
    (ES, f.INDIA, "REQUIRED", "PACKAGE_CREATED", "confirmed", "INVOICE", {}, False),  # options first
    (ES, f.US, "REQUIRED", "PICKUP_SLOT_RETRIEVED", "confirmed", "INVOICE", {}, False),  # Easy Ship outside IN
    (ES, f.INDIA, "NOT_REQUIRED", "PICKUP_SLOT_RETRIEVED", "confirmed", "INVOICE", {}, True),  # packing slip
    (SF, f.INDIA, "REQUIRED", "PACKAGE_CREATED", "confirmed", "INVOICE", {}, True),  # no options for Seller Flex
    (ES, f.INDIA, "REQUIRED", "INVOICE_GENERATED", "confirmed", "INVOICE", {}, True),  # retrieve again
    (ES, f.INDIA, "REQUIRED", "PICKUP_SLOT_RETRIEVED", "confirmed", "LABELS", {}, False),  # invoice first
    (ES, f.INDIA, "REQUIRED", "INVOICE_GENERATED", "confirmed", "LABELS", {}, True),
    (ES, f.US, "REQUIRED", "PICKUP_SLOT_RETRIEVED", "confirmed", "LABELS", {}, True),
    (ES, f.US, "REQUIRED", "PACKAGE_CREATED", "confirmed", "LABELS", {}, False),
    (SF, f.US, "NOT_REQUIRED", "PACKAGE_CREATED", "confirmed", "LABELS", {}, False),  # invoice/slip first
    (SF, f.US, "NOT_REQUIRED", "INVOICE_GENERATED", "confirmed", "LABELS", {}, True),
    (SS, f.US, "NOT_REQUIRED", "PICKUP_SLOT_RETRIEVED", "confirmed", "LABELS", COURIER, False),  # slip first
    (SS, f.US, "NOT_REQUIRED", "INVOICE_GENERATED", "confirmed", "LABELS", {}, False),  # courier missing
    (SS, f.US, "NOT_REQUIRED", "INVOICE_GENERATED", "confirmed", "LABELS", COURIER, True),
    (ES, f.INDIA, "REQUIRED", "SHIPLABEL_GENERATED", "ready", "LABELS", {}, False),
    (ES, f.INDIA, "REQUIRED", "SHIPLABEL_GENERATED", "failed", "LABELS", {}, True),
    (ES, f.INDIA, "REQUIRED", "SHIPLABEL_GENERATED", "ready", "LABELS", {"operation": "REGENERATE"}, False),
    (ES, f.INDIA, "REQUIRED", "SHIPLABEL_GENERATED", "ready", "LABELS",
     {"operation": "REGENERATE", "reason": "printer jam"}, True),
    (ES, f.INDIA, "REQUIRED", "INVOICE_GENERATED", "confirmed", "LABELS", {"operation": "REGENERATE", "reason": "x"},
     False),
    (ES, f.INDIA, "REQUIRED", "SHIPLABEL_GENERATED", "ready", "FETCH_LABELS", {}, True),
    (ES, f.INDIA, "REQUIRED", "INVOICE_GENERATED", "confirmed", "FETCH_LABELS", {}, False),
    (ES, f.INDIA, "REQUIRED", "SHIPLABEL_GENERATED", "ready", "SHIP", {}, True),
    (ES, f.INDIA, "REQUIRED", "INVOICE_GENERATED", "confirmed", "SHIP", {}, False),
    (ES, f.INDIA, "REQUIRED", "INVOICE_GENERATED", "changed", "UPDATE_PACKAGE", {}, True),
    (ES, f.INDIA, "REQUIRED", "INVOICE_GENERATED", "confirmed", "UPDATE_PACKAGE", {}, False),
    (ES, f.INDIA, "REQUIRED", "SHIPLABEL_GENERATED", "changed", "UPDATE_PACKAGE", {}, False),
    (ES, f.INDIA, "REQUIRED", "CANCELLED", None, "CONFIRM", {}, False),
    (ES, f.INDIA, "REQUIRED", "CANCELLED", None, "REFRESH", {}, True),
    (ES, f.INDIA, "REQUIRED", "SHIPPED", "ready", "SHIP", {}, False),
]

PACKAGE_SETUPS = {
    "draft": {"state": Package.State.DRAFT, "known": False},
    "sent": {"state": Package.State.SENT, "known": False},
    "confirmed": {},
    "changed": {"state": Package.State.DRAFT, "known": True},
    "ready": {"label_status": Package.LabelStatus.READY},
    "failed": {"label_status": Package.LabelStatus.FAILED},
}


@pytest.mark.parametrize(("programme", "marketplace", "invoice", "status", "packages", "kind", "payload", "allowed"),
                         STEP_TABLE)
def test_which_step_is_allowed(programme, marketplace, invoice, status, packages, kind, payload, allowed):
    shipment = f.shipment(programme, status, marketplace=marketplace, invoice=invoice)
    if packages:
        f.package(shipment, **PACKAGE_SETUPS[packages])
    refusal = workflow.step_refusal(shipment, kind, payload)
    assert (refusal is None) is allowed, refusal
    if not allowed:
        with pytest.raises(workflow.StepNotAllowed) as raised:
            workflow.check_step_allowed(shipment, kind, payload)
        assert raised.value.packer_message == refusal


def test_labels_wait_for_a_chosen_option_when_options_were_offered():
    shipment = f.shipment(ES, "PICKUP_SLOT_RETRIEVED", marketplace=f.US)
    package = f.package(shipment)
    option = shipment.shipping_options.create(package=package, option_id="OPT-1", ship_by="MARKETPLACE")
    assert "Choose a shipping option" in workflow.step_refusal(shipment, "LABELS")
    assert workflow.next_action(shipment).kind == workflow.CHOOSE_OPTION
    shipment.selected_shipping_option = option
    shipment.save()
    assert workflow.step_refusal(shipment, "LABELS") is None
    assert workflow.next_action(shipment).kind == "LABELS"


# (programme, marketplace, invoice, status, packages, verified, printed, expected next action)
NEXT_TABLE = [
    (ES, f.INDIA, "REQUIRED", "ACCEPTED", None, False, False, "CONFIRM"),
    (ES, f.INDIA, "REQUIRED", "CONFIRMED", None, False, False, workflow.VERIFY),
    (ES, f.INDIA, "REQUIRED", "CONFIRMED", None, True, False, workflow.PACK),
    (ES, f.INDIA, "REQUIRED", "CONFIRMED", "draft", True, False, "CREATE_PACKAGES"),
    (ES, f.INDIA, "REQUIRED", "PACKAGE_CREATED", "confirmed", True, False, "SHIPPING_OPTIONS"),
    (SF, f.INDIA, "REQUIRED", "PACKAGE_CREATED", "confirmed", True, False, "INVOICE"),
    (SF, f.US, "NOT_REQUIRED", "PACKAGE_CREATED", "confirmed", True, False, "INVOICE"),
    (SF, f.US, "NOT_REQUIRED", "INVOICE_GENERATED", "confirmed", True, False, "LABELS"),
    (ES, f.INDIA, "REQUIRED", "PICKUP_SLOT_RETRIEVED", "confirmed", True, False, "INVOICE"),
    (ES, f.US, "REQUIRED", "PICKUP_SLOT_RETRIEVED", "confirmed", True, False, "LABELS"),
    (ES, f.INDIA, "REQUIRED", "INVOICE_GENERATED", "confirmed", True, False, "LABELS"),
    (ES, f.INDIA, "REQUIRED", "INVOICE_GENERATED", "changed", True, False, "UPDATE_PACKAGE"),
    (ES, f.INDIA, "REQUIRED", "SHIPLABEL_GENERATED", "failed", True, False, "FETCH_LABELS"),
    (ES, f.INDIA, "REQUIRED", "SHIPLABEL_GENERATED", "ready", True, False, workflow.PRINT_LABELS),
    (ES, f.INDIA, "REQUIRED", "SHIPLABEL_GENERATED", "ready", True, True, "SHIP"),
    (ES, f.INDIA, "REQUIRED", "SHIPPED", "ready", True, True, None),
    (ES, f.INDIA, "REQUIRED", "CANCELLED", None, False, False, None),
]


@pytest.mark.parametrize(("programme", "marketplace", "invoice", "status", "packages", "verified", "printed", "expected"),
                         NEXT_TABLE)
def test_next_action(programme, marketplace, invoice, status, packages, verified, printed, expected):
    shipment = f.shipment(programme, status, marketplace=marketplace, invoice=invoice,
                          verified_at=timezone.now() if verified else None)
    if packages:
        setup = dict(PACKAGE_SETUPS[packages])
        if printed:
            setup["label_printed_at"] = timezone.now()
        f.package(shipment, **setup)
    if status in {"INVOICE_GENERATED", "SHIPLABEL_GENERATED", "SHIPPED"} and workflow.invoice_needed(shipment):
        _invoice_stored(shipment)  # what generateInvoice's step brought back
    action = workflow.next_action(shipment)
    assert (action.kind if action else None) == expected
    if action and action.kind in {"CONFIRM", "LABELS", "SHIP"}:
        assert action.is_amazon_step


def _invoice_stored(shipment):
    from fulfillment.documents.models import Document

    kind = Document.Kind.INVOICE if workflow.tax_invoice_required(shipment) else Document.Kind.PACKING_SLIP
    return Document.objects.create(shipment=shipment, kind=kind, content=b"%PDF-1.4", original_format="PDF")


def test_an_invoice_amazon_made_but_not_stored_here_is_asked_for_again():
    shipment = f.shipment(ES, "INVOICE_GENERATED", marketplace=f.INDIA, invoice="REQUIRED")
    f.package(shipment, **PACKAGE_SETUPS["confirmed"])
    action = workflow.next_action(shipment)
    assert action.kind == "INVOICE" and "could not store" in action.hint
    _invoice_stored(shipment)
    assert workflow.next_action(shipment).kind == "LABELS"


# --- Package validation --------------------------------------------------------------------------------


def box(items, **extra):
    values = {"length": Decimal("20"), "width": Decimal("15"), "height": Decimal("10"), "weight": Decimal("250")}
    values.update(extra)
    return PackageInput(items=items, **values)


def test_a_correct_package_has_no_problems():
    shipment = f.shipment(lines=(("SKU-1", 2), ("SKU-2", 1)))
    packages = [box([PackageItemInput("1", 2)]), box([PackageItemInput("2", 1)])]
    assert workflow.validate_packages(shipment, packages) == []


@pytest.mark.parametrize(
    ("packages", "expected"),
    [
        ([], "Add at least one package"),
        ([box([PackageItemInput("1", 1)])], "1 of 2 units are in packages"),
        ([box([PackageItemInput("1", 3)])], "3 of 2 units are in packages"),
        ([box([PackageItemInput("1", 1)]), box([PackageItemInput("1", 2)])], "3 of 2 units"),
        ([box([PackageItemInput("9", 2)])], "line item 9 is not part of this shipment"),
        ([box([PackageItemInput("1", 0)])], "quantity of SKU-1 must be at least 1"),
        ([box([PackageItemInput("1", 1), PackageItemInput("1", 1)])], "SKU-1 is listed twice"),
        ([box([PackageItemInput("1", 2)], weight=Decimal("4.9"))], "at least 5 g"),
        ([box([PackageItemInput("1", 2)], weight=Decimal("0.004"), weight_unit="KG")], "at least 5 g"),
        ([box([PackageItemInput("1", 2)], length=Decimal("0"))], "Package 1: Length must be more than 0"),
        ([box([PackageItemInput("1", 2)], length=Decimal("99999999"))], "Length must be at most 270 cm"),
        ([box([PackageItemInput("1", 2)], height=Decimal("0.2"))], "Height must be at least 1 cm"),
        ([box([PackageItemInput("1", 2)], width=Decimal("120"), dimension_unit="IN")], "Width must be at most 106.2 in"),
        ([box([PackageItemInput("1", 2)], weight=Decimal("71"), weight_unit="KG")], "Weight must be at most 70 kg"),
        ([box([PackageItemInput("1", 2)]) for _ in range(21)], "At most 20 packages"),
        ([box([PackageItemInput("1", 2)], dimension_unit="FT")], "size unit"),
        ([box([])], "put at least one item"),
        ([box([PackageItemInput("1", 2, serial_numbers=["SN1", "SN2"])])], "must not have serial numbers"),
        ([box([PackageItemInput("1", 2, country_of_origin="CN")])], "does not allow a country of origin"),
        ([box([PackageItemInput("1", 2, item_value=Decimal("10"), item_value_currency="INR")])],
         "does not allow an item value"),
        ([box([PackageItemInput("1", 2)], hazmat_labels=["UN3481"])], "remove them"),
    ],
)
def test_package_problems(packages, expected):
    shipment = f.shipment(lines=(("SKU-1", 2),))
    problems = workflow.validate_packages(shipment, packages)
    assert any(expected in problem for problem in problems), problems


def test_weight_of_exactly_5_grams_in_other_units_is_accepted():
    shipment = f.shipment(lines=(("SKU-1", 1),))
    assert workflow.validate_packages(shipment, [box([PackageItemInput("1", 1)], weight=Decimal("5"))]) == []
    assert workflow.validate_packages(
        shipment, [box([PackageItemInput("1", 1)], weight=Decimal("0.2"), weight_unit="OZ")]) == []


REQUIRED_ALL = {
    "serial_number_requirement": "REQUIRED", "country_of_origin_requirement": "REQUIRED",
    "item_value_requirement": "REQUIRED",
}


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (PackageItemInput("1", 2, ["SN1"], "CN", Decimal("10"), "INR"), "one serial number per unit: 1 entered for 2"),
        (PackageItemInput("1", 2, ["SN1", "SN1"], "CN", Decimal("10"), "INR"), "SN1 is entered twice"),
        (PackageItemInput("1", 2, ["SN1", "SN2"], "", Decimal("10"), "INR"), "country of origin"),
        (PackageItemInput("1", 2, ["SN1", "SN2"], "CHN", Decimal("10"), "INR"), "two letters"),
        (PackageItemInput("1", 2, ["SN1", "SN2"], "CN", None, "INR"), "enter the value"),
        (PackageItemInput("1", 2, ["SN1", "SN2"], "CN", Decimal("10"), ""), "currency"),
        (PackageItemInput("1", 2, ["SN1\nSN2", "SN3"], "CN", Decimal("10"), "INR"), "line break"),
        (PackageItemInput("1", 2, ["S" * 129, "SN3"], "CN", Decimal("10"), "INR"), "129 characters long"),
        (PackageItemInput("1", 2, ["SN1", "SN2"], "CN", Decimal("10"), "INR"), None),
    ],
)
def test_required_compliance_fields(item, expected):
    shipment = f.shipment(lines=(("PHONE", 2),), compliance=REQUIRED_ALL)
    problems = workflow.validate_packages(shipment, [box([item])])
    if expected is None:
        assert problems == []
    else:
        assert any(expected in problem for problem in problems), problems


def test_serial_used_on_another_shipment_is_refused():
    shipment = f.shipment(lines=(("PHONE", 1),), compliance={"serial_number_requirement": "REQUIRED"})
    problems = workflow.validate_packages(
        shipment, [box([PackageItemInput("1", 1, ["SN-9"])])], serials_used_elsewhere={"SN-9": "OTHER-1"}
    )
    assert problems == ["Serial number SN-9 is already used on shipment OTHER-1; scan this unit's own serial."]


def test_a_stations_bounds_replace_the_defaults_but_never_amazons_minimum_weight():
    from fulfillment.shipments.workflow import PackageBounds

    shipment = f.shipment(lines=(("SKU-1", 1),))
    bounds = PackageBounds(min_side_cm=Decimal(5), max_side_cm=Decimal(60), max_weight_kg=Decimal(2))
    big = box([PackageItemInput("1", 1)], length=Decimal(61), weight=Decimal("2.5"), weight_unit="KG")
    assert workflow.validate_packages(shipment, [big]) == []
    assert workflow.validate_packages(shipment, [big], bounds=bounds) == [
        "Package 1: Length must be at most 60 cm (this station's largest box): check the number.",
        "Package 1: Weight must be at most 2 kg (this station's limit): check the scale reading.",
    ]
    feather = box([PackageItemInput("1", 1)], weight=Decimal(4))
    assert workflow.validate_packages(shipment, [feather], bounds=PackageBounds(max_weight_kg=Decimal(0))) == [
        "Package 1: Weight must be at least 5 g (Amazon's minimum)."]


def test_hazmat_labels_required_and_listed_by_amazon():
    shipment = f.shipment(lines=(("BATTERY", 1),),
                          compliance={"hazmat_labels_requirement": "REQUIRED", "hazmat_labels": ["UN3481"]})
    missing = workflow.validate_packages(shipment, [box([PackageItemInput("1", 1)])])
    assert any("enter the hazmat labels" in p for p in missing), missing
    wrong = workflow.validate_packages(shipment, [box([PackageItemInput("1", 1)], hazmat_labels=["UN1234"])])
    assert any("UN3481" in p for p in wrong), wrong
    assert workflow.validate_packages(shipment, [box([PackageItemInput("1", 1)], hazmat_labels=["UN3481"])]) == []


def test_multi_piece_item_spans_packages_with_pieces():
    shipment = f.shipment(lines=(("TABLE", 1),))
    shipment.line_items.update(piece_type="MULTIPLE")
    no_pieces = workflow.validate_packages(shipment, [box([PackageItemInput("1", 1)]), box([PackageItemInput("1", 1)])])
    assert any("how many pieces" in p for p in no_pieces)
    # Amazon counts units and pieces apart: the unit is in one box, its other box holds pieces only.
    ok = [box([PackageItemInput("1", 1, pieces=2)]), box([PackageItemInput("1", 0, pieces=1)])]
    assert workflow.validate_packages(shipment, ok) == []
    twice = [box([PackageItemInput("1", 1, pieces=2)]), box([PackageItemInput("1", 1, pieces=1)])]
    assert any("2 of 1 units" in p for p in workflow.validate_packages(shipment, twice))
