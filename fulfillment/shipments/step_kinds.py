"""Every Amazon step, declared once: `STEP_KINDS[kind]`.

For each kind: the Amazon operation(s) it calls, the statuses it may start from, where Amazon moves
the shipment when the step succeeds (guide 003 §3.4, corrected by the model as the sandbox enforces
it: options are asked per package, so from PACKAGE_CREATED; a Seller Flex invoice straight from
PACKAGE_CREATED; labels move the shipment once every package has one), its handler, how a re-read
of the shipment tells that Amazon already did it, its label and why it is refused.

The runner and the reconciler (services/runner), the status a success leads to (services/progress),
workflow's refusals and next action, the station's buttons (views) and templates (the `step_label`
filter) read from here. `ShipmentStep.Kind` only holds the values stored in the database.

Handlers are named, not imported: they are services (services/handlers) and sit above this module,
which workflow reads. The runner looks them up by name, as `services.steps` queues its task by name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from . import programmes
from .models import Channel, Package, Shipment, ShipmentStep, Status
from .programmes import PACKAGE_EDIT_STATUSES, REJECTION_REASONS, status_rank

Kind = ShipmentStep.Kind
ANY = "*"  # in `moves`: from whatever status the step started in

Refusal = Callable[[Shipment, dict, list[Package]], "str | None"]


@dataclass(frozen=True)
class StepKind:
    kind: str
    label: str  # the packer's words: buttons, progress, history
    operations: tuple[str, ...]  # Amazon operations the handler calls
    handler: str  # function of services.handlers (or "module.function" of services) that runs it: (step, client) -> result dict
    refusal: Refusal  # why it cannot run now (None: it may); closed shipments are refused before
    starts_from: frozenset[str] = frozenset()  # statuses Amazon accepts it in (the refusal narrows by programme)
    # Status before -> status after a success (ANY: from any status); absent: Amazon leaves it as it is.
    # A target may be a function of the shipment and the result (an MFN order: partly or wholly shipped).
    moves: Mapping[str, str | Callable[[Shipment, dict], str]] = field(default_factory=dict)
    # A move that needs more than the call's success (every package labelled, every package shipped).
    moves_when: Callable[[Shipment, dict], bool] | None = None
    # After an unclear answer (timeout after sending, 5xx, 409), the re-read shipment shows Amazon did it.
    # None: safe to send again (reads, updatePackage).
    done_when: Callable[[Shipment, ShipmentStep], bool] | None = None
    # Handler that fetches what the step brings back once a re-read proved it done (invoice, labels).
    recover: str = ""
    button: bool = True  # a plain button on the station may ask for it
    background: bool = False  # never blocks the packer's steps and runs on a closed shipment too
    in_pack_and_label: bool = False  # the fast path may ask for it by itself
    when_shipped: bool = False  # may also run once the shipment is shipped (an MFN correction)

    def status_after(self, shipment: Shipment, result: dict) -> str:
        """The status Amazon moves `shipment` (as it was before the step) to when the step succeeded."""
        target = self.moves.get(shipment.status) or self.moves.get(ANY)
        if callable(target):
            target = target(shipment, result)
        if target is None or (self.moves_when is not None and not self.moves_when(shipment, result)):
            return shipment.status
        return target


# --- Refusals: why a step cannot run now, in the packer's words ---------------------------------------


def _confirm_refusal(shipment, payload, packages):
    return None if shipment.status == Status.ACCEPTED else "Only a new (accepted) shipment can be confirmed."


def _reject_refusal(shipment, payload, packages):
    if shipment.status not in programmes.rejectable_statuses(shipment):
        return f"Amazon does not allow rejecting a shipment in status {shipment.status}."
    reasons = [payload.get("reason", "OUT_OF_STOCK"), *(payload.get("reasons") or {}).values()]
    if any(reason not in REJECTION_REASONS for reason in reasons):
        return "Choose why the shipment is rejected (out of stock or customer request)."
    return None


def _create_packages_refusal(shipment, payload, packages):
    if shipment.status != Status.CONFIRMED:
        return "Packages are sent once, right after the shipment is confirmed; use Update packages instead."
    if not packages:
        return "Pack the shipment first: add at least one package."
    if all(p.state == Package.State.CONFIRMED for p in packages):
        return "Amazon already has these packages."
    return None


def _update_package_refusal(shipment, payload, packages):
    if shipment.status not in PACKAGE_EDIT_STATUSES:
        return "Packages can be changed only after they were sent and before the label is generated."
    if not any(p.known_to_amazon and p.state != Package.State.CONFIRMED for p in packages):
        return "No package was changed since Amazon received it."
    return None


def _packed_refusal(shipment, packages) -> str | None:
    """What every step after the packages needs: a confirmed shipment whose packages Amazon has."""
    if shipment.status in {Status.ACCEPTED, Status.CREATED, Status.UNFULFILLABLE}:
        return "Confirm the shipment first."
    if any(p.state != Package.State.CONFIRMED for p in packages) or not packages:
        return "Send the packages to Amazon first."
    return None


def _option_missing(shipment) -> bool:
    return (programmes.uses_shipping_options(shipment) and shipment.selected_shipping_option_id is None
            and shipment.shipping_options.exists())


def _shipping_options_refusal(shipment, payload, packages):
    if refusal := _packed_refusal(shipment, packages):
        return refusal
    if not programmes.uses_shipping_options(shipment):
        return "Seller Flex pickups use a fixed slot; there are no shipping options to get."
    if shipment.status not in {Status.PACKAGE_CREATED, Status.PICKUP_SLOT_RETRIEVED}:
        return "Shipping options are fetched after the packages are sent and before the invoice."
    return None


def _invoice_refusal(shipment, payload, packages):
    if refusal := _packed_refusal(shipment, packages):
        return refusal
    if not programmes.invoice_needed(shipment):
        return "Amazon makes no invoice for Easy Ship outside India; go on to the labels."
    ready = {Status.PICKUP_SLOT_RETRIEVED, Status.INVOICE_GENERATED}
    if not programmes.uses_shipping_options(shipment):
        ready.add(Status.PACKAGE_CREATED)
    if shipment.status not in ready:
        return "Get the shipping options before the invoice."
    return None


def _labels_refusal(shipment, payload, packages):
    if refusal := _packed_refusal(shipment, packages):
        return refusal
    status = shipment.status
    if payload.get("operation", "GENERATE") == "REGENERATE":
        if status != Status.SHIPLABEL_GENERATED:
            return "A label can be regenerated only after it was generated."
        if not (payload.get("reason") or "").strip():
            return "Say why the label is regenerated (the old one becomes invalid)."
        return None
    if status == Status.SHIPLABEL_GENERATED:
        if all(p.label_status == Package.LabelStatus.READY for p in packages):
            return "The labels are already stored; print them, or regenerate with a reason."
        return None
    if programmes.invoice_needed(shipment):
        if status != Status.INVOICE_GENERATED:
            return "Generate the invoice before the labels."
    elif programmes.uses_shipping_options(shipment):
        if status not in {Status.PICKUP_SLOT_RETRIEVED, Status.INVOICE_GENERATED}:
            return "Get the shipping options before the labels."
    elif status not in PACKAGE_EDIT_STATUSES:
        return "Send the packages before generating the labels."
    if _option_missing(shipment):
        return "Choose a shipping option before generating the labels."
    if programmes.needs_courier_details(shipment) and not (
        (payload.get("carrier_name") or "").strip() and (payload.get("tracking_id") or "").strip()
    ):
        return "Self-Ship: enter your carrier's name and the tracking number before generating the label."
    return None


def _fetch_labels_refusal(shipment, payload, packages):
    if refusal := _packed_refusal(shipment, packages):
        return refusal
    return None if shipment.status == Status.SHIPLABEL_GENERATED else "Generate the labels first."


def _ship_refusal(shipment, payload, packages):
    if refusal := _packed_refusal(shipment, packages):
        return refusal
    if shipment.status != Status.SHIPLABEL_GENERATED:
        return "Generate the labels before marking the shipment shipped."
    if all(p.is_shipped for p in packages):
        return "Every package is already marked shipped."
    return None


def _never_refused(shipment, payload, packages):
    return None


# --- Seller-fulfilled (MFN) orders: labels bought per package, each package confirmed shipped ----------

_MFN_SHIPPABLE = frozenset({Status.UNSHIPPED, Status.PARTIALLY_SHIPPED})


def _mfn_package(payload, packages) -> Package | None:
    wanted = str(payload.get("package") or "")
    return next((p for p in packages if str(p.pk) == wanted or p.package_id == wanted), None)


def has_live_label(package: Package) -> bool:
    return bool(package.label_shipment_id) and package.label_voided_at is None


def _mfn_shipping_refusal(shipment, payload, packages, *, pickup_ok=False) -> str | None:
    if shipment.channel != Channel.MFN:
        return "This step is for seller-fulfilled Amazon orders only."
    if shipment.is_store_pickup and not pickup_ok:
        return "The buyer collects this order at the store: no label, mark it ready for pickup instead."
    if shipment.status not in _MFN_SHIPPABLE:
        return f"Amazon's order is {shipment.get_status_display().lower()}: it cannot ship now."
    return None


def _mfn_services_refusal(shipment, payload, packages):
    if refusal := _mfn_shipping_refusal(shipment, payload, packages):
        return refusal
    package = _mfn_package(payload, packages)
    if not packages:
        return "Pack the order first: add at least one package."
    if package is None and payload.get("package"):
        return "Choose one of the order's packages."
    if package is not None and (has_live_label(package) or package.is_shipped):
        return f"Package {package.position} already has its label."
    return None


def _mfn_buy_label_refusal(shipment, payload, packages):
    if refusal := _mfn_shipping_refusal(shipment, payload, packages):
        return refusal
    package = _mfn_package(payload, packages)
    if package is None:
        return "Pack the order first, then buy a label for one of its packages."
    if has_live_label(package):
        return f"Package {package.position} already has a label; void it first to buy another."
    if package.label_status == Package.LabelStatus.UNKNOWN:
        return (f"Amazon did not say whether package {package.position}'s label was bought: do not buy again "
                "before a supervisor has checked the order's labels in Seller Central.")
    if package.is_shipped:
        return f"Package {package.position} is already confirmed shipped."
    return None


def _mfn_adopt_label_refusal(shipment, payload, packages):
    if refusal := _mfn_shipping_refusal(shipment, payload, packages):
        return refusal
    package = _mfn_package(payload, packages)
    if package is None:
        return "Choose one of the order's packages."
    if package.label_status != Package.LabelStatus.UNKNOWN:
        return f"Package {package.position}'s label purchase is not in doubt: nothing to check."
    return None


def _mfn_fetch_label_refusal(shipment, payload, packages):
    if shipment.channel != Channel.MFN:
        return "This step is for seller-fulfilled Amazon orders only."
    package = _mfn_package(payload, packages)
    if package is None or not has_live_label(package):
        return "There is no bought label to get again."
    if package.label_status == Package.LabelStatus.READY:
        return f"Package {package.position}'s label is stored; print it."
    return None


def _mfn_confirm_refusal(shipment, payload, packages):
    if refusal := _mfn_shipping_refusal(shipment, payload, packages):
        return refusal
    package = _mfn_package(payload, packages)
    if package is None:
        return "Choose the package to confirm."
    if package.is_shipped:
        return f"Package {package.position} is already confirmed; correct it instead."
    if not has_live_label(package):
        return f"Buy package {package.position}'s label first."
    return None


def _mfn_correct_refusal(shipment, payload, packages):
    if shipment.channel != Channel.MFN:
        return "This step is for seller-fulfilled Amazon orders only."
    package = _mfn_package(payload, packages)
    if package is None or not package.is_shipped or not package.reference_id:
        return "Only a package Amazon has as shipped can be corrected."
    if not (payload.get("carrier_code") or "").strip() or not (payload.get("tracking_number") or "").strip():
        return "Enter the carrier and the tracking number the package really went with."
    return None


def _mfn_void_refusal(shipment, payload, packages):
    if shipment.channel != Channel.MFN:
        return "This step is for seller-fulfilled Amazon orders only."
    package = _mfn_package(payload, packages)
    if package is None or not has_live_label(package):
        return "There is no label to void."
    if package.is_shipped:
        return "The package is confirmed shipped: its label can no longer be voided here."
    return None


def _pickup_refusal(from_statuses: frozenset, words: str):
    def refusal(shipment, payload, packages):
        if shipment.channel != Channel.MFN or not shipment.is_store_pickup:
            return "Only an order the buyer collects at the store has pickup steps."
        if shipment.status not in from_statuses:
            return words
        return None
    return refusal


def _mfn_after_confirm(shipment, result) -> str:
    return Status.SHIPPED if result.get("order_shipped") else Status.PARTIALLY_SHIPPED


# --- Conditions ---------------------------------------------------------------------------------------


def _reached(status: str) -> Callable[[Shipment, ShipmentStep], bool]:
    return lambda shipment, step: status_rank(shipment.status) >= status_rank(status)


def _packages_at_amazon(shipment, step) -> bool:
    return (status_rank(shipment.status) >= status_rank(Status.PACKAGE_CREATED)
            and not shipment.packages.exclude(state=Package.State.CONFIRMED).exists())


def _labels_generated(shipment, step) -> bool:
    return shipment.status == Status.SHIPLABEL_GENERATED and step.payload.get("operation") != "REGENERATE"


def _every_package_labelled(shipment, result) -> bool:
    return bool(result.get("every_package_labelled"))


def _every_package_shipped(shipment, result) -> bool:
    return not shipment.packages.filter(shipped_at__isnull=True).exists()


def _some_package_sent(shipment, result) -> bool:
    return bool(result.get("packages"))


_PACKED = frozenset({Status.PACKAGE_CREATED, Status.PICKUP_SLOT_RETRIEVED, Status.INVOICE_GENERATED,
                     Status.SHIPLABEL_GENERATED})

STEP_KINDS: dict[str, StepKind] = {spec.kind: spec for spec in (
    StepKind(
        Kind.CONFIRM, "Confirm shipment", ("processShipment",), "confirm", _confirm_refusal,
        starts_from=frozenset({Status.ACCEPTED}), moves={Status.ACCEPTED: Status.CONFIRMED},
        done_when=_reached(Status.CONFIRMED),
    ),
    StepKind(
        # Amazon's shipmentInfo.orderStatesEligibleForRejection says where (programmes.rejectable_statuses).
        Kind.REJECT, "Reject shipment", ("processShipment",), "reject", _reject_refusal,
        starts_from=frozenset({Status.ACCEPTED, Status.CONFIRMED}), moves={ANY: Status.CANCELLED},
        done_when=lambda shipment, step: shipment.status == Status.CANCELLED, button=False,
    ),
    StepKind(
        Kind.CREATE_PACKAGES, "Send packages to Amazon", ("createPackages",), "create_packages",
        _create_packages_refusal, starts_from=frozenset({Status.CONFIRMED}),
        moves={Status.CONFIRMED: Status.PACKAGE_CREATED}, done_when=_packages_at_amazon, in_pack_and_label=True,
    ),
    StepKind(
        # New contents void the invoice and labels: Amazon walks the shipment back (guide 003 §3.2 step 6).
        Kind.UPDATE_PACKAGE, "Send package changes to Amazon", ("updatePackage",), "update_package",
        _update_package_refusal, starts_from=_PACKED, moves={status: Status.PACKAGE_CREATED for status in _PACKED},
        moves_when=_some_package_sent,
    ),
    StepKind(
        Kind.SHIPPING_OPTIONS, "Get shipping options", ("retrieveShippingOptions",), "shipping_options",
        _shipping_options_refusal, starts_from=_PACKED,
        moves={Status.PACKAGE_CREATED: Status.PICKUP_SLOT_RETRIEVED}, in_pack_and_label=True,
    ),
    StepKind(
        # Seller Flex has no options to get: its invoice comes straight after the packages.
        Kind.INVOICE, "Generate invoice", ("generateInvoice", "retrieveInvoice"), "invoice", _invoice_refusal,
        starts_from=_PACKED,
        moves={Status.PACKAGE_CREATED: Status.INVOICE_GENERATED, Status.PICKUP_SLOT_RETRIEVED: Status.INVOICE_GENERATED},
        done_when=lambda shipment, step: shipment.status == Status.INVOICE_GENERATED, recover="recover_invoice",
        in_pack_and_label=True,
    ),
    StepKind(
        # Easy Ship outside India has no invoice: its labels come after the options.
        Kind.LABELS, "Generate labels", ("generateShipLabels",), "labels", _labels_refusal,
        starts_from=frozenset({Status.PICKUP_SLOT_RETRIEVED, Status.INVOICE_GENERATED, Status.SHIPLABEL_GENERATED}),
        moves={Status.INVOICE_GENERATED: Status.SHIPLABEL_GENERATED,
               Status.PICKUP_SLOT_RETRIEVED: Status.SHIPLABEL_GENERATED},
        moves_when=_every_package_labelled, done_when=_labels_generated, recover="recover_labels",
        in_pack_and_label=True,
    ),
    StepKind(
        # GENERATE again hands back the labels Amazon already made, with fresh links.
        Kind.FETCH_LABELS, "Get the labels again", ("generateShipLabels",), "fetch_labels", _fetch_labels_refusal,
        starts_from=frozenset({Status.SHIPLABEL_GENERATED}), in_pack_and_label=True,
    ),
    StepKind(
        Kind.SHIP, "Mark shipped", ("updatePackageStatus",), "ship", _ship_refusal,
        starts_from=frozenset({Status.SHIPLABEL_GENERATED}), moves={Status.SHIPLABEL_GENERATED: Status.SHIPPED},
        moves_when=_every_package_shipped, done_when=_reached(Status.SHIPPED),
    ),
    StepKind(
        Kind.REFRESH, "Refresh from Amazon", ("getShipment",), "refresh", _never_refused, background=True,
    ),
    # MFN orders (handlers in services.mfn). A label bought is not confirmed: each package is, once.
    StepKind(
        Kind.MFN_SERVICES, "Show label prices", ("getEligibleShipmentServices",), "mfn.mfn_services",
        _mfn_services_refusal, starts_from=_MFN_SHIPPABLE, button=False,
    ),
    StepKind(
        # Buying twice costs twice: never resent after an unclear answer (the handler says so instead).
        Kind.MFN_BUY_LABEL, "Buy label", ("getEligibleShipmentServices", "createShipment"), "mfn.mfn_buy_label",
        _mfn_buy_label_refusal, starts_from=_MFN_SHIPPABLE, button=False,
    ),
    StepKind(
        # A label bought whose file could not be stored: Amazon hands it out again (getShipment).
        Kind.MFN_FETCH_LABEL, "Get the label again", ("merchantFulfillmentV0.getShipment",), "mfn.mfn_fetch_label",
        _mfn_fetch_label_refusal, starts_from=_MFN_SHIPPABLE, button=False,
    ),
    StepKind(
        # A purchase whose answer was lost: the label a supervisor found in Seller Central, read by its
        # id (getShipment, nothing is bought) and kept as if bought here.
        Kind.MFN_ADOPT_LABEL, "Use the label Seller Central shows", ("merchantFulfillmentV0.getShipment",),
        "mfn.mfn_adopt_label", _mfn_adopt_label_refusal, starts_from=_MFN_SHIPPABLE, button=False,
    ),
    StepKind(
        # The packageReferenceId is stored before the call; after an unclear answer or a lost worker the
        # re-read of an MFN order (services.mfn.already_done: getOrder with its PACKAGES) tells if it went.
        Kind.MFN_CONFIRM, "Confirm shipment", ("confirmShipment",), "mfn.mfn_confirm", _mfn_confirm_refusal,
        starts_from=_MFN_SHIPPABLE,
        moves={Status.UNSHIPPED: _mfn_after_confirm, Status.PARTIALLY_SHIPPED: _mfn_after_confirm},
        button=False,
    ),
    StepKind(
        Kind.MFN_CORRECT, "Correct confirmation", ("confirmShipment",), "mfn.mfn_correct", _mfn_correct_refusal,
        starts_from=frozenset({*_MFN_SHIPPABLE, Status.SHIPPED}), button=False, when_shipped=True,
    ),
    StepKind(
        Kind.MFN_VOID_LABEL, "Void label", ("cancelShipment",), "mfn.mfn_void_label", _mfn_void_refusal,
        starts_from=_MFN_SHIPPABLE, button=False,
    ),
    StepKind(
        Kind.MFN_READY_FOR_PICKUP, "Ready for pickup", ("updateShipmentStatus",), "mfn.mfn_ready_for_pickup",
        _pickup_refusal(frozenset({Status.UNSHIPPED}), "Only an order not yet ready can be made ready for pickup."),
        starts_from=frozenset({Status.UNSHIPPED}), moves={Status.UNSHIPPED: Status.READY_FOR_PICKUP},
    ),
    StepKind(
        Kind.MFN_PICKED_UP, "Picked up", ("updateShipmentStatus",), "mfn.mfn_picked_up",
        _pickup_refusal(frozenset({Status.READY_FOR_PICKUP}), "Mark the order ready for pickup first."),
        starts_from=frozenset({Status.READY_FOR_PICKUP}), moves={Status.READY_FOR_PICKUP: Status.SHIPPED},
    ),
    StepKind(
        Kind.MFN_REFUSED, "Refused at pickup", ("updateShipmentStatus",), "mfn.mfn_refused",
        _pickup_refusal(frozenset({Status.READY_FOR_PICKUP}), "Mark the order ready for pickup first."),
        starts_from=frozenset({Status.READY_FOR_PICKUP}), moves={Status.READY_FOR_PICKUP: Status.CANCELLED},
    ),
)}

assert set(STEP_KINDS) == set(Kind.values), "every ShipmentStep.Kind is declared here, and nothing else"


def step_kind(kind: str) -> StepKind | None:
    return STEP_KINDS.get(kind)


def label(kind: str) -> str:
    spec = STEP_KINDS.get(kind)
    return spec.label if spec else kind


BUTTON_KINDS = frozenset(kind for kind, spec in STEP_KINDS.items() if spec.button)
PACK_AND_LABEL_KINDS = frozenset(kind for kind, spec in STEP_KINDS.items() if spec.in_pack_and_label)
