"""The packing workflow's rules, as plain functions (no database writes, no Amazon calls).

Amazon's statuses and the programme differences live in `programmes`, every step kind (what it
calls, where it may start, where it leads, why it is refused) in `step_kinds`; this module says
whether a step may run now, what the packer does next, and whether typed packages can be sent.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from .models import (
    DimensionUnit,
    LineItem,
    Package,
    Requirement,
    Shipment,
    ShipmentStep,
    Status,
    WeightUnit,
)
from .programmes import (
    CLOSED_STATUSES,
    OPEN_STATUSES,  # noqa: F401 - the programme rules are read as workflow.<name> across the app
    PACKAGE_EDIT_STATUSES,
    REJECTION_REASONS,  # noqa: F401
    invoice_needed,
    needs_courier_details,
    packing_slip_needed,  # noqa: F401
    programme_for,  # noqa: F401
    rejectable_statuses,  # noqa: F401
    tax_invoice_required,  # noqa: F401
    uses_shipping_options,
)
from .step_kinds import STEP_KINDS, label

Kind = ShipmentStep.Kind
MIN_PACKAGE_WEIGHT_GRAMS = Decimal(5)  # Amazon's model: "The package must weigh at least 5 grams."
GRAMS_PER = {WeightUnit.G: Decimal(1), WeightUnit.KG: Decimal(1000), WeightUnit.LB: Decimal("453.59237"),
             WeightUnit.OZ: Decimal("28.349523125")}


class ShipmentError(Exception):
    """A step or input the packer has to change; `.packer_message` says what and how."""

    def __init__(self, packer_message: str):
        self.packer_message = packer_message
        super().__init__(packer_message)


class StepNotAllowed(ShipmentError):
    """The asked-for Amazon step does not fit the shipment's status or local state."""


class PackageValidationError(ShipmentError):
    """The packages as typed cannot be sent to Amazon; `.problems` lists every reason."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__(" ".join(self.problems))


# --- Which step is allowed now ----------------------------------------------------------------


def _packages(shipment: Shipment) -> list[Package]:
    return list(shipment.packages.all())


def _option_chosen(shipment: Shipment) -> bool:
    return shipment.selected_shipping_option_id is not None


_INVOICE_KINDS = ("INVOICE", "PACKING_SLIP")  # what generateInvoice brings back (Document.Kind)


def _invoice_stored(shipment: Shipment) -> bool:
    """Whether the invoice (or Amazon's packing slip) generateInvoice made is stored here: a document
    it sent may have been refused (too large, not an invoice) although Amazon moved the shipment on."""
    documents = getattr(shipment, "current_documents", None)  # prefetched by the shipment page
    if documents is not None:
        return any(d.kind in _INVOICE_KINDS for d in documents)
    return shipment.documents.filter(kind__in=_INVOICE_KINDS, superseded=False).exists()


def step_refusal(shipment: Shipment, kind: str, payload: dict | None = None) -> str | None:
    """Why `kind` cannot run now, in the packer's words; None when it may (the registry's refusal)."""
    spec = STEP_KINDS.get(kind)
    if spec is None:
        return f"Unknown step {kind}."
    if spec.background:
        return None
    if shipment.status in CLOSED_STATUSES:
        return f"This shipment is {shipment.status.lower()}; nothing more can be done with it."
    return spec.refusal(shipment, payload or {}, _packages(shipment))


def check_step_allowed(shipment: Shipment, kind: str, payload: dict | None = None) -> None:
    """Raise StepNotAllowed (with the packer message) unless `kind` may run now."""
    refusal = step_refusal(shipment, kind, payload)
    if refusal:
        raise StepNotAllowed(refusal)


def allowed_steps(shipment: Shipment) -> set[str]:
    """Step kinds the UI may offer now (payload-dependent checks assume a complete payload)."""
    sample = {"reason": "x", "carrier_name": "x", "tracking_id": "x"}
    return {kind for kind in STEP_KINDS if step_refusal(shipment, kind, sample) is None}


# --- What to do next ----------------------------------------------------------------------------


@dataclass(frozen=True)
class NextAction:
    """The one thing the station should prompt for. `kind` is a ShipmentStep.Kind (an Amazon step)
    or a station action: VERIFY (scan the items), PACK (fill in packages), CHOOSE_OPTION,
    PRINT_LABELS."""

    kind: str
    label: str
    hint: str = ""

    @property
    def is_amazon_step(self) -> bool:
        return self.kind in STEP_KINDS


VERIFY, PACK, CHOOSE_OPTION, PRINT_LABELS = "VERIFY", "PACK", "CHOOSE_OPTION", "PRINT_LABELS"


def next_action(shipment: Shipment) -> NextAction | None:
    """What the packer should do next; None when the shipment is closed (shipped, cancelled)."""
    status = shipment.status
    if status in CLOSED_STATUSES or status in {Status.CREATED, Status.UNFULFILLABLE}:
        return None
    if status == Status.ACCEPTED:
        return _step(Kind.CONFIRM, "Confirm that you will fulfil this shipment.")
    packages = _packages(shipment)
    if status == Status.CONFIRMED:
        if shipment.verified_at is None and shipment.scan_skipped_at is None and not packages:
            return NextAction(VERIFY, "Scan the items", "Scan every unit to check you picked the right items.")
        if not packages:
            return NextAction(PACK, "Pack the shipment", "Enter the box size, weight and what is in each package.")
        if all(p.state == Package.State.CONFIRMED for p in packages):
            return _refresh_action("Amazon has the packages")
        return _step(Kind.CREATE_PACKAGES)
    if any(p.known_to_amazon and p.state != Package.State.CONFIRMED for p in packages) and status in PACKAGE_EDIT_STATUSES:
        return _step(Kind.UPDATE_PACKAGE)
    if status == Status.PACKAGE_CREATED:
        if uses_shipping_options(shipment):
            return _step(Kind.SHIPPING_OPTIONS)
        if invoice_needed(shipment):
            return _step(Kind.INVOICE)
        return _labels_action(shipment)
    if status == Status.PICKUP_SLOT_RETRIEVED:
        if uses_shipping_options(shipment) and not _option_chosen(shipment) and shipment.shipping_options.exists():
            return NextAction(CHOOSE_OPTION, "Choose a shipping option")
        if invoice_needed(shipment):
            return _step(Kind.INVOICE)
        return _labels_action(shipment)
    if status == Status.INVOICE_GENERATED:
        if invoice_needed(shipment) and not _invoice_stored(shipment):
            return _step(Kind.INVOICE, "Amazon made the invoice, but Packbench could not store it yet.")
        if uses_shipping_options(shipment) and not _option_chosen(shipment) and shipment.shipping_options.exists():
            return NextAction(CHOOSE_OPTION, "Choose a shipping option")
        return _labels_action(shipment)
    if status == Status.SHIPLABEL_GENERATED:
        if any(p.label_status != Package.LabelStatus.READY for p in packages):
            return _step(Kind.FETCH_LABELS, "Some labels are not stored yet.")
        if any(p.label_printed_at is None for p in packages):
            return NextAction(PRINT_LABELS, "Print the labels")
        if all(p.is_shipped for p in packages):
            return _refresh_action("Every package is marked shipped")
        return _step(Kind.SHIP, "Hand the packages to the carrier, then mark them shipped.")
    return None


def _step(kind: str, hint: str = "") -> NextAction:
    return NextAction(kind, label(kind), hint)


def _refresh_action(done: str) -> NextAction:
    # Our packages say Amazon moved on, our status does not yet: only Amazon's status is behind.
    return _step(Kind.REFRESH, f"{done}; read the shipment's new status from Amazon.")


@dataclass(frozen=True)
class ChainProgress:
    """Where a Pack & label chain stands, for the page that shows it (`message`: how it ended)."""

    running: bool
    message: str = ""
    done: bool = False
    browser_labels: tuple[int, ...] = ()


# A chain step that succeeded asks for the next one at once; after this long without a next step
# or an end note, its worker was lost in between and the page stops waiting for it.
CHAIN_GAP_SECONDS = 60


def chain_progress(steps: list[ShipmentStep], events, *, chain: str, now) -> ChainProgress | None:
    """The Pack & label chain of the shipment's latest packer step, or None when that step is not
    part of one. `steps` and `events` come newest first."""
    # A packer's own Refresh is not part of the chain; one the chain queued itself carries it on.
    latest = next((step for step in steps if not STEP_KINDS[step.kind].background or (step.payload or {}).get("chain")),
                  None)
    if latest is None or (latest.payload or {}).get("chain") != chain:
        return None
    if latest.is_open:
        return ChainProgress(running=True)
    if latest.status == ShipmentStep.State.FAILED:
        return ChainProgress(running=False, message=f"Pack & label stopped: {label(latest.kind)} failed.")
    end = next((e for e in events if (e.data or {}).get("chain_ended") and e.created_at >= latest.created_at), None)
    if end is not None:
        return ChainProgress(running=False, message=end.message, done=bool(end.data.get("done")),
                             browser_labels=tuple(end.data.get("browser_labels") or ()))
    if latest.finished_at and (now - latest.finished_at).total_seconds() > CHAIN_GAP_SECONDS:
        return ChainProgress(running=False, message="Pack & label stopped. Carry on step by step.")
    return ChainProgress(running=True)


def _labels_action(shipment: Shipment) -> NextAction:
    hint = "Enter your carrier and tracking number." if needs_courier_details(shipment) else ""
    return _step(Kind.LABELS, hint)


# --- Package validation -----------------------------------------------------------------------------


@dataclass
class PackageItemInput:
    """One line item in a package, as the packer typed it."""

    line_item_id: str  # Amazon's shipmentLineItemId
    quantity: int
    serial_numbers: list[str] = field(default_factory=list)
    country_of_origin: str = ""
    item_value: Decimal | None = None
    item_value_currency: str = ""
    pieces: int | None = None


@dataclass
class PackageInput:
    """One package as the packer typed it. `package_id` set = edit of that existing package."""

    length: Decimal
    width: Decimal
    height: Decimal
    weight: Decimal
    items: list[PackageItemInput]
    dimension_unit: str = DimensionUnit.CM
    weight_unit: str = WeightUnit.G
    hazmat_labels: list[str] = field(default_factory=list)
    handling: str = Package.Handling.NORMAL
    package_id: str | None = None


def weight_in_grams(value: Decimal, unit: str) -> Decimal:
    return Decimal(value) * GRAMS_PER[WeightUnit(unit)]


def _decimal(value) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None and str(value).strip() != "" else None
    except (InvalidOperation, ValueError):
        return None


def validate_packages(
    shipment: Shipment,
    packages: list[PackageInput],
    *,
    line_items: list[LineItem] | None = None,
    serials_used_elsewhere: dict[str, str] | None = None,
) -> list[str]:
    """Every reason the packages cannot be sent, in the packer's words (empty list = fine).

    Checks: units per line add up to the shipment's; serial numbers one per unit when REQUIRED,
    none otherwise, no duplicates, none used on another shipment (`serials_used_elsewhere`:
    serial -> other shipment id); country of origin, item value and hazmat labels only (and
    always) when Amazon requires them; sizes positive; weight at least 5 g.
    """
    problems: list[str] = []
    lines = {li.line_item_id: li for li in (line_items if line_items is not None else shipment.line_items.all())}
    if not packages:
        return ["Add at least one package."]
    units_packed: Counter[str] = Counter()
    serials_seen: Counter[str] = Counter()
    for number, package in enumerate(packages, start=1):
        where = f"Package {number}:"
        sizes = [_decimal(package.length), _decimal(package.width), _decimal(package.height)]
        if any(size is None or size <= 0 for size in sizes):
            problems.append(f"{where} enter length, width and height greater than 0.")
        if package.dimension_unit not in DimensionUnit.values:
            problems.append(f"{where} size unit must be one of {', '.join(DimensionUnit.values)}.")
        weight = _decimal(package.weight)
        if package.weight_unit not in WeightUnit.values:
            problems.append(f"{where} weight unit must be one of {', '.join(WeightUnit.values)}.")
        elif weight is None or weight_in_grams(weight, package.weight_unit) < MIN_PACKAGE_WEIGHT_GRAMS:
            problems.append(f"{where} the weight must be at least 5 g (Amazon's minimum).")
        if package.handling not in Package.Handling.values:
            problems.append(f"{where} handling must be NORMAL or FRAGILE.")
        if not package.items:
            problems.append(f"{where} put at least one item in it.")
        hazmat_required: set[str] = set()
        hazmat_allowed = False
        seen_lines: set[str] = set()
        for item in package.items:
            line = lines.get(item.line_item_id)
            if line is None:
                problems.append(f"{where} line item {item.line_item_id} is not part of this shipment.")
                continue
            sku = line.merchant_sku
            if item.line_item_id in seen_lines:
                problems.append(f"{where} {sku} is listed twice; enter it once with its total quantity.")
            seen_lines.add(item.line_item_id)
            # A multi-piece unit is counted in one of its boxes; its other boxes hold 0 units and pieces.
            least = 0 if line.piece_type == "MULTIPLE" else 1
            if not isinstance(item.quantity, int) or item.quantity < least:
                problems.append(f"{where} the quantity of {sku} must be at least {least}.")
                continue
            units_packed[item.line_item_id] += item.quantity
            problems.extend(_item_problems(where, line, item))
            serials_seen.update(s.strip() for s in item.serial_numbers if s.strip())
            if line.hazmat_labels_requirement == Requirement.REQUIRED:
                hazmat_allowed = True
                hazmat_required.update(line.hazmat_labels or [])
        labels = {label.strip() for label in package.hazmat_labels if label.strip()}
        if labels and not hazmat_allowed:
            problems.append(f"{where} no item in it needs hazmat labels; remove them (Amazon does not allow them here).")
        elif hazmat_allowed and not labels:
            problems.append(f"{where} it holds hazardous goods: enter the hazmat labels applied to it.")
        elif hazmat_required - labels:
            problems.append(f"{where} apply and enter the hazmat labels {', '.join(sorted(hazmat_required - labels))}.")
    for line_id, line in lines.items():
        expected = line.number_of_units - line.cancelled_quantity
        if units_packed[line_id] != expected:
            problems.append(
                f"{line.merchant_sku}: {units_packed[line_id]} of {expected} units are in packages; "
                f"every unit must be packed exactly once."
            )
    for serial, count in serials_seen.items():
        if count > 1:
            problems.append(f"Serial number {serial} is entered {count} times; each unit has its own.")
    for serial, other in sorted((serials_used_elsewhere or {}).items()):
        if serial in serials_seen:
            problems.append(f"Serial number {serial} was already shipped in shipment {other}; scan the unit again.")
    return problems


def _item_problems(where: str, line: LineItem, item: PackageItemInput) -> list[str]:
    problems = []
    sku = line.merchant_sku
    serials = [s.strip() for s in item.serial_numbers if s.strip()]
    if line.serial_number_requirement == Requirement.REQUIRED:
        if len(serials) != item.quantity:
            problems.append(f"{where} {sku} needs one serial number per unit: {len(serials)} entered for {item.quantity}.")
    elif serials:
        problems.append(f"{where} {sku} must not have serial numbers (Amazon does not allow them); remove them.")
    country = (item.country_of_origin or "").strip()
    if line.country_of_origin_requirement == Requirement.REQUIRED:
        if len(country) != 2 or not country.isalpha():
            problems.append(f"{where} enter the country of origin of {sku} as two letters, e.g. CN.")
    elif country:
        problems.append(f"{where} Amazon does not allow a country of origin for {sku}; leave it empty.")
    value = _decimal(item.item_value)
    if line.item_value_requirement == Requirement.REQUIRED:
        currency = (item.item_value_currency or "").strip()
        if value is None or value <= 0:
            problems.append(f"{where} enter the value of {sku} (greater than 0).")
        if len(currency) != 3 or not currency.isalpha():
            problems.append(f"{where} enter the currency of {sku}'s value as three letters, e.g. INR.")
    elif value is not None or (item.item_value_currency or "").strip():
        problems.append(f"{where} Amazon does not allow an item value for {sku}; leave it empty.")
    if line.piece_type == "MULTIPLE":
        if item.pieces is None or item.pieces < 1:
            problems.append(f"{where} {sku} ships in several pieces: enter how many pieces are in this package.")
        if item.quantity > line.number_of_units:
            problems.append(f"{where} more units of {sku} than ordered.")
    elif item.pieces:
        problems.append(f"{where} {sku} is a single-piece item; leave pieces empty.")
    return problems
