"""A step Amazon answered with 2xx moves the shipment on as the step registry says, with no
getShipment: after every step of every programme (with and without invoice, options, courier
details; one and two packages; package changes after the invoice; a regenerated label; a
rejection), the status derived here is the one the sandbox holds, and the sandbox's call log shows
no getShipment at all from the steps."""

import pytest

from fulfillment.documents.models import Document
from fulfillment.shipments import selectors, services, workflow
from fulfillment.shipments.models import Package, ShipmentEvent, ShipmentStep
from fulfillment.shipments.services import runner
from fulfillment.shipments.step_kinds import STEP_KINDS
from fulfillment.shipments.workflow import PackageInput, PackageItemInput

from .factories import INDIA, US
from .sandbox_helpers import create_shipment
from .test_flows_sandbox import COURIER, one_box

pytestmark = pytest.mark.django_db
Kind, State = ShipmentStep.Kind, ShipmentStep.State
DE = "A1PA6795UKMFR9"


class Checked:
    """Runs steps as the worker does and, after each, compares our status with the sandbox's."""

    def __init__(self, amazon, shipment, user, capture):
        self.amazon, self.shipment, self.user, self.capture = amazon, shipment, user, capture
        self.reads_before = len(amazon.calls("getShipment", shipment.amazon_id))
        self.kinds = []

    def step(self, kind, payload=None, *, expect=State.SUCCEEDED):
        before = self.shipment.status
        with self.capture(execute=False):
            step = services.request_step(self.shipment, kind, self.user, payload)
        step = services.run_step(step.pk)
        assert step.status == expect, (kind, step.error_message)
        self.shipment.refresh_from_db()
        at_amazon = self.amazon.state(self.shipment.amazon_id)["shipment"]["status"]
        assert self.shipment.status == at_amazon, f"{kind} from {before}: ours {self.shipment.status}, Amazon {at_amazon}"
        if self.shipment.status != before:  # written by the step, as ours until the sync agrees
            change = self.shipment.events.filter(kind=ShipmentEvent.Kind.STATUS_CHANGED).first()
            assert change.data == {"from": before, "to": self.shipment.status, "source": "step", "step": step.pk}
            assert self.shipment.local_status_at is not None
        assert len(self.amazon.calls("getShipment", self.shipment.amazon_id)) == self.reads_before, \
            f"{kind} asked Amazon for the shipment again"
        self.kinds.append(kind)
        return step

    def through(self, *, packages=None, courier=COURIER):
        """Follow next_action to SHIPPED, checking the status after every Amazon step."""
        shipment = self.shipment
        for _ in range(20):
            action = workflow.next_action(shipment)
            if action is None:
                return self.kinds
            if action.kind in (workflow.VERIFY, workflow.PACK):
                services.save_packages(shipment, packages or one_box(shipment), self.user)
            elif action.kind == workflow.CHOOSE_OPTION:
                services.choose_shipping_option(shipment, shipment.shipping_options.first(), self.user)
            elif action.kind == workflow.PRINT_LABELS:
                for document in selectors.current_documents(shipment, Document.Kind.LABEL):
                    services.record_label_printed(document, self.user)
            else:
                payload = courier if action.kind == Kind.LABELS and workflow.needs_courier_details(shipment) else None
                self.step(action.kind, payload)
            shipment.refresh_from_db()
        raise AssertionError(f"no end after {self.kinds}")


def two_boxes(shipment):
    line = shipment.line_items.get()
    coo = (line.recommended_country_of_origin or "CN") if line.country_of_origin_requirement == "REQUIRED" else ""
    value = 10 if line.item_value_requirement == "REQUIRED" else None
    currency = (line.recommended_currency_code or "USD") if value else ""
    return [PackageInput(length=20, width=15, height=10, weight=300,
                         items=[PackageItemInput(line.line_item_id, 1, [], coo, value, currency)])
            for _ in range(line.number_of_units)]


PROGRAMMES = [
    # programme, marketplace, the Amazon steps it takes
    ("EASY_SHIP", INDIA, [Kind.CONFIRM, Kind.CREATE_PACKAGES, Kind.SHIPPING_OPTIONS, Kind.INVOICE, Kind.LABELS, Kind.SHIP]),
    ("EASY_SHIP", US, [Kind.CONFIRM, Kind.CREATE_PACKAGES, Kind.SHIPPING_OPTIONS, Kind.LABELS, Kind.SHIP]),
    ("SELF_SHIP", INDIA, [Kind.CONFIRM, Kind.CREATE_PACKAGES, Kind.SHIPPING_OPTIONS, Kind.INVOICE, Kind.LABELS, Kind.SHIP]),
    ("SELF_SHIP", US, [Kind.CONFIRM, Kind.CREATE_PACKAGES, Kind.SHIPPING_OPTIONS, Kind.INVOICE, Kind.LABELS, Kind.SHIP]),
    ("SELLER_FLEX", INDIA, [Kind.CONFIRM, Kind.CREATE_PACKAGES, Kind.INVOICE, Kind.LABELS, Kind.SHIP]),
    ("SELLER_FLEX", DE, [Kind.CONFIRM, Kind.CREATE_PACKAGES, Kind.INVOICE, Kind.LABELS, Kind.SHIP]),
]


@pytest.mark.parametrize("units", [1, 2], ids=["one-package", "two-packages"])
@pytest.mark.parametrize(("programme", "marketplace", "expected"), PROGRAMMES,
                         ids=[f"{p}-{m}" for p, m, _ in PROGRAMMES])
def test_every_step_of_every_programme_derives_amazons_status(amazon, packer, django_capture_on_commit_callbacks,
                                                              programme, marketplace, expected, units):
    shipment = create_shipment(amazon, programme=programme, marketplace_id=marketplace, units=units)
    run = Checked(amazon, shipment, packer, django_capture_on_commit_callbacks)
    kinds = run.through(packages=two_boxes(shipment) if units == 2 else None)
    assert kinds == expected and shipment.status == "SHIPPED"
    assert shipment.packages.count() == units
    # A tax invoice where one is required (India), the packing slip where Amazon makes it, none at all
    # for Easy Ship outside India: stored as before.
    if Kind.INVOICE in kinds:
        kind = Document.Kind.INVOICE if workflow.tax_invoice_required(shipment) else Document.Kind.PACKING_SLIP
        assert Document.objects.filter(shipment=shipment, kind=kind, superseded=False).exists()
    assert set(shipment.packages.values_list("label_status", flat=True)) == {Package.LabelStatus.READY}


def test_package_change_after_the_invoice_walks_back_and_a_regenerated_label_stays(
        amazon, packer, django_capture_on_commit_callbacks):
    shipment = create_shipment(amazon, programme="EASY_SHIP", marketplace_id=INDIA)
    run = Checked(amazon, shipment, packer, django_capture_on_commit_callbacks)
    run.step(Kind.CONFIRM)
    services.save_packages(shipment, one_box(shipment), packer)
    run.step(Kind.CREATE_PACKAGES)
    run.step(Kind.SHIPPING_OPTIONS)
    run.step(Kind.SHIPPING_OPTIONS)  # asked again: Amazon keeps PICKUP_SLOT_RETRIEVED
    run.step(Kind.INVOICE)
    run.step(Kind.INVOICE)  # fetched again, not regenerated: status unchanged
    changed = one_box(shipment)
    changed[0].weight, changed[0].package_id = 650, shipment.packages.get().package_id
    services.save_packages(shipment, changed, packer)
    run.step(Kind.UPDATE_PACKAGE)
    assert shipment.status == "PACKAGE_CREATED"
    run.through()
    assert shipment.status == "SHIPPED"


def test_regenerate_and_fetch_again_leave_the_status(amazon, packer, django_capture_on_commit_callbacks):
    shipment = create_shipment(amazon, programme="SELF_SHIP", marketplace_id=INDIA)
    run = Checked(amazon, shipment, packer, django_capture_on_commit_callbacks)
    for _ in range(10):
        if shipment.status == "SHIPLABEL_GENERATED":
            break
        action = workflow.next_action(shipment)
        if action.kind in (workflow.VERIFY, workflow.PACK):
            services.save_packages(shipment, one_box(shipment), packer)
        elif action.kind == workflow.CHOOSE_OPTION:
            services.choose_shipping_option(shipment, shipment.shipping_options.first(), packer)
        else:
            run.step(action.kind, COURIER if action.kind == Kind.LABELS else None)
    run.step(Kind.LABELS, {"operation": "REGENERATE", "reason": "label torn"})
    Package.objects.filter(shipment=shipment).update(label_status=Package.LabelStatus.FAILED)
    run.step(Kind.FETCH_LABELS)
    assert shipment.status == "SHIPLABEL_GENERATED"


@pytest.mark.parametrize("confirmed_first", [False, True], ids=["accepted", "confirmed"])
def test_a_rejection_cancels_here_as_at_amazon(amazon, packer, django_capture_on_commit_callbacks, confirmed_first):
    shipment = create_shipment(amazon, programme="EASY_SHIP", marketplace_id=INDIA, serials=True)
    run = Checked(amazon, shipment, packer, django_capture_on_commit_callbacks)
    if confirmed_first:
        run.step(Kind.CONFIRM)
        services.save_packages(shipment, one_box(shipment, serial_prefix="REJ"), packer)
    run.step(Kind.REJECT, {"reason": "OUT_OF_STOCK"})
    assert shipment.status == "CANCELLED" and shipment.cancellation_type == "SELLER_REJECTED"
    assert shipment.events.filter(kind=ShipmentEvent.Kind.CANCELLED).exists()
    assert not shipment.serial_rows.filter(released=False).exists()  # serials given back
    assert workflow.next_action(shipment) is None


def test_a_label_amazon_did_not_make_keeps_the_status_and_one_it_made_moves_it(
        amazon, packer, django_capture_on_commit_callbacks):
    """Amazon moves the shipment once every package has a label there, whether we could download it
    or not: a package Amazon failed keeps INVOICE_GENERATED; a link that expired twice does not."""
    shipment = create_shipment(amazon, programme="EASY_SHIP", marketplace_id=INDIA, units=2)
    run = Checked(amazon, shipment, packer, django_capture_on_commit_callbacks)
    run.step(Kind.CONFIRM)
    services.save_packages(shipment, two_boxes(shipment), packer)
    for kind in (Kind.CREATE_PACKAGES, Kind.SHIPPING_OPTIONS, Kind.INVOICE):
        run.step(kind)
    amazon.configure(fail_next_labels=1)  # the carrier makes no label for the first package
    run.step(Kind.LABELS, expect=State.FAILED)
    assert shipment.status == "INVOICE_GENERATED"
    amazon.configure(expire_next_label_urls=2)  # Amazon makes it, our download of it fails twice
    run.step(Kind.LABELS, expect=State.FAILED)
    assert shipment.status == "SHIPLABEL_GENERATED"
    assert workflow.next_action(shipment).kind == Kind.FETCH_LABELS
    run.step(Kind.FETCH_LABELS)
    assert set(shipment.packages.values_list("label_status", flat=True)) == {Package.LabelStatus.READY}


def test_every_kind_says_where_it_leads():
    """The registry is the one list of step kinds: each has an operation, a label and a refusal, and
    every write that moves a shipment says from where."""
    assert set(STEP_KINDS) == set(Kind.values)
    for kind, spec in STEP_KINDS.items():
        assert spec.operations and spec.label and callable(spec.refusal), kind
        assert callable(runner._handler(kind)), kind  # the registry's handler name leads to a function
        assert set(spec.moves) - {"*"} <= set(spec.starts_from), kind


def test_an_invoice_amazon_made_but_we_refused_moves_the_status_and_is_asked_for_again(
        amazon, packer, django_capture_on_commit_callbacks, settings):
    """generateInvoice went through (Amazon is at INVOICE_GENERATED) but its document is refused (a web
    page, not an invoice): the step fails with nothing stored, our status is Amazon's, and the station
    asks for the invoice again (retrieveInvoice), not for the labels."""
    from tests.hostile.sources import HostileAmazon

    proxy = HostileAmazon(amazon.url)
    settings.AMAZON_ENDPOINT = proxy.url
    try:
        shipment = create_shipment(amazon, programme="EASY_SHIP", marketplace_id=INDIA, invoice_shape="pdf")
        run = Checked(amazon, shipment, packer, django_capture_on_commit_callbacks)
        run.step(Kind.CONFIRM)
        services.save_packages(shipment, one_box(shipment), packer)
        run.step(Kind.CREATE_PACKAGES)
        run.step(Kind.SHIPPING_OPTIONS)
        proxy.invoice_is("PGh0bWw+PGJvZHk+bm90IGFuIGludm9pY2U8L2JvZHk+PC9odG1sPg==")  # base64 of a web page
        failed = run.step(Kind.INVOICE, expect=State.FAILED)
        assert "web page" in failed.error_message and shipment.status == "INVOICE_GENERATED"
        assert not Document.objects.filter(shipment=shipment, kind=Document.Kind.INVOICE).exists()
        assert workflow.next_action(shipment).kind == Kind.INVOICE
        proxy.rewrite.clear()
        run.step(Kind.INVOICE)
        assert [c["operation"] for c in amazon.calls(shipment_id=shipment.amazon_id)
                if "Invoice" in c["operation"]] == ["generateInvoice", "retrieveInvoice"]
        assert Document.objects.filter(shipment=shipment, kind=Document.Kind.INVOICE, superseded=False).exists()
        assert workflow.next_action(shipment).kind in {workflow.CHOOSE_OPTION, Kind.LABELS}
    finally:
        proxy.close()
