"""The packing workflow's rules, as plain functions (no database writes, no Amazon calls).

Amazon's statuses and the programme differences live in `programmes`, every step kind (what it
calls, where it may start, where it leads, why it is refused) in `step_kinds`; this module says
whether a step may run now, what the packer does next, and whether typed packages can be sent.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_UP, Decimal, InvalidOperation

from .models import (
    Channel,
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
    # Package's default ordering starts with its shipment's own (a join to shipments, compiled anew
    # each time): within one shipment that is position and id.
    return list(shipment.packages.order_by("position", "id"))


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
    if shipment.status in CLOSED_STATUSES and not (spec.when_shipped and shipment.status == Status.SHIPPED):
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
    PRINT_LABELS, LABEL_CHECK."""

    kind: str
    label: str
    hint: str = ""

    @property
    def is_amazon_step(self) -> bool:
        return self.kind in STEP_KINDS


VERIFY, PACK, CHOOSE_OPTION, PRINT_LABELS = "VERIFY", "PACK", "CHOOSE_OPTION", "PRINT_LABELS"
LABEL_CHECK = "MFN_LABEL_CHECK"  # an MFN label purchase whose answer was lost: a supervisor settles it


def next_action(shipment: Shipment) -> NextAction | None:
    """What the packer should do next; None when the shipment is closed (shipped, cancelled)."""
    status = shipment.status
    if status in CLOSED_STATUSES or status in {Status.CREATED, Status.UNFULFILLABLE}:
        return None
    if shipment.channel == Channel.MFN:
        return _mfn_next_action(shipment)
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


def mfn_package_to_work_on(shipment: Shipment) -> Package | None:
    """The first package of an MFN order still to be labelled, printed or confirmed."""
    return next((p for p in _packages(shipment) if not p.is_shipped), None)


def _mfn_next_action(shipment: Shipment) -> NextAction | None:
    """An MFN order: pack, then per package buy the label, print it, confirm it shipped; a store
    pickup order: ready for pickup, then picked up (or refused)."""
    if shipment.is_store_pickup:
        if shipment.status == Status.UNSHIPPED:
            return _step(Kind.MFN_READY_FOR_PICKUP, "Put the items at the pickup counter, then say so.")
        if shipment.status == Status.READY_FOR_PICKUP:
            return _step(Kind.MFN_PICKED_UP, "When the buyer collects the order (or refuses it), say so.")
        return None
    packages = _packages(shipment)
    if not packages:
        return NextAction(PACK, "Pack the order", "Enter the box size, weight and what is in each package.")
    package = mfn_package_to_work_on(shipment)
    if package is None:
        return None
    if package.label_status == Package.LabelStatus.UNKNOWN:
        return NextAction(LABEL_CHECK, "A supervisor checks the label in Seller Central",
                          f"Amazon did not say whether package {package.position}'s label was bought.")
    if not (package.label_shipment_id and package.label_voided_at is None):
        return _step(Kind.MFN_BUY_LABEL, f"Package {package.position}: the cheapest service that ships in time.")
    if package.label_status != Package.LabelStatus.READY:
        return _step(Kind.MFN_FETCH_LABEL, f"Package {package.position}: the label is bought, its file is not stored.")
    if package.label_printed_at is None:
        return NextAction(PRINT_LABELS, "Print the label", f"Package {package.position}.")
    return _step(Kind.MFN_CONFIRM, f"Package {package.position}: hand it to the carrier, then confirm it shipped.")


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
    now: str = ""  # the kind of the chain's step Amazon is working on ("" between two steps)


# A chain step that succeeded asks for the next one at once; after this long without a next step
# or an end note, its worker was lost in between and the page stops waiting for it.
CHAIN_GAP_SECONDS = 60


def chain_progress(steps: list[ShipmentStep], events, *, chain: str, now) -> ChainProgress | None:
    """The Pack & label chain of the shipment's latest packer step, or None when that step is not
    part of one. `steps` and `events` come newest first."""
    # A packer's own Refresh is not part of the chain; one the chain queued itself carries it on.
    latest = next((step for step in steps if not STEP_KINDS[step.kind].background or step.chain),
                  None)
    if latest is None or latest.chain != chain:
        return None
    if latest.is_open:
        return ChainProgress(running=True, now=latest.kind)
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


# --- Package rules ----------------------------------------------------------------------------------
# Each rule is stated here once; the station's forms, the services and the views read it from here.

MIN_PACKAGE_WEIGHT_GRAMS = Decimal(5)  # Amazon's model: "The package must weigh at least 5 grams."
GRAMS_PER = {WeightUnit.G: Decimal(1), WeightUnit.KG: Decimal(1000), WeightUnit.LB: Decimal("453.59237"),
             WeightUnit.OZ: Decimal("28.349523125")}
CM_PER = {DimensionUnit.CM: Decimal(1), DimensionUnit.M: Decimal(100), DimensionUnit.IN: Decimal("2.54")}
MAX_PACKAGES = 20  # per shipment: the packages form never builds more
SERIAL_MAX_LENGTH = 128  # as stored (SerialNumber.serial)


@dataclass(frozen=True)
class PackageBounds:
    """What a plausible box measures at a station: a typo (99,999,999 cm, 4000 kg) is refused before
    Amazon buys a label for it. Each station's admin sets them (stations.Station.package_bounds);
    Amazon's minimum weight holds whatever a station says."""

    min_side_cm: Decimal = Decimal(1)
    max_side_cm: Decimal = Decimal(270)  # the longest side parcel carriers take (UPS, FedEx: 274 cm)
    max_weight_kg: Decimal = Decimal(70)  # what parcel carriers take (UPS: 150 lb)


DEFAULT_BOUNDS = PackageBounds()


def _number(value: Decimal, rounding=ROUND_DOWN) -> str:
    """12.5, 270, 106.2: as a packer writes it (a limit in another unit to one decimal, rounded inwards)."""
    text = f"{value.quantize(Decimal('0.1'), rounding=rounding) if value >= 1 else value.normalize():f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def side_problem(name: str, value, unit: str, bounds: PackageBounds = DEFAULT_BOUNDS) -> str | None:
    """Why one side of a box (`name`: Length, Width, Height) cannot be right, or None."""
    size = _decimal(value)
    if size is None:
        return f"{name}: enter a number, e.g. 20.5."
    if size <= 0:
        return f"{name} must be more than 0."
    per_cm = CM_PER.get(unit)
    if per_cm is None:
        return None  # the unit's own check says what is wrong
    if size * per_cm < bounds.min_side_cm:
        return f"{name} must be at least {_number(bounds.min_side_cm / per_cm, ROUND_UP)} {unit.lower()}: check the number."
    if size * per_cm > bounds.max_side_cm:
        return (f"{name} must be at most {_number(bounds.max_side_cm / per_cm)} {unit.lower()} (this station's "
                f"largest box): check the number.")
    return None


def weight_problem(value, unit: str, bounds: PackageBounds = DEFAULT_BOUNDS) -> str | None:
    """Why a package's weight cannot be right (Amazon's minimum, the station's maximum), or None."""
    weight = _decimal(value)
    if weight is None:
        return "Weight: enter a number, e.g. 350."
    per_gram = GRAMS_PER.get(unit)
    if per_gram is None:
        return None  # the unit's own check says what is wrong
    if weight * per_gram < MIN_PACKAGE_WEIGHT_GRAMS:
        return f"Weight must be at least {_number(MIN_PACKAGE_WEIGHT_GRAMS)} g (Amazon's minimum)."
    if weight * per_gram > bounds.max_weight_kg * 1000:
        return (f"Weight must be at most {_number(bounds.max_weight_kg * 1000 / per_gram)} {unit.lower()} "
                f"(this station's limit): check the scale reading.")
    return None


def serial_problem(serial: str) -> str | None:
    """Why one scanned serial number cannot be a unit's serial (the words follow "Serial …"), or None."""
    if any(unicodedata.category(char).startswith("C") for char in serial):
        return "has a line break or another control character in it: scan it again."
    if len(serial) > SERIAL_MAX_LENGTH:
        return f"is {len(serial)} characters long; a serial has at most {SERIAL_MAX_LENGTH}: scan it again."
    return None


def serial_clashes(serials: list[str], used_elsewhere: dict[str, str] | None = None) -> dict[str, str]:
    """serial -> why it cannot go in these packages: typed for more than one unit here, or already in
    another shipment (`used_elsewhere`: serial -> that shipment's id, or "" when it is not named here,
    see selectors.serials_used_elsewhere)."""
    typed = Counter(serial.strip() for serial in serials if serial and serial.strip())
    clashes = {}
    for serial, count in typed.items():
        if count > 1:
            times = "twice" if count == 2 else f"{count} times"
            clashes[serial] = f"Serial number {serial} is entered {times}; each unit has its own."
        elif serial in (used_elsewhere or {}):
            # "": a shipment of another location, whose id is not shown here.
            where = f"shipment {used_elsewhere[serial]}" if used_elsewhere[serial] else "another shipment"
            clashes[serial] = f"Serial number {serial} is already used on {where}; scan this unit's own serial."
    return clashes


def pickup_after_ship_by(option, shipment: Shipment) -> bool:
    """Whether a shipping option's pickup (or time slot) starts after the shipment's ship-by time."""
    start = option.pickup_start or option.time_slot_start
    return bool(start and shipment.ship_by and start > shipment.ship_by)


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
    bounds: PackageBounds = DEFAULT_BOUNDS,
) -> list[str]:
    """Every reason the packages cannot be sent, in the packer's words (empty list = fine).

    Checks: at most MAX_PACKAGES; units per line add up to the shipment's; serial numbers one per
    unit when REQUIRED, none otherwise, each a plain code (`serial_problem`), no duplicates, none
    used on another shipment (`serial_clashes`; `serials_used_elsewhere`: serial -> other shipment
    id); country of origin, item value and hazmat labels only (and always) when Amazon requires
    them; sides and weight plausible at the station (`side_problem`, `weight_problem`, `bounds`).
    """
    problems: list[str] = []
    lines = {li.line_item_id: li for li in (line_items if line_items is not None else shipment.line_items.all())}
    if not packages:
        return ["Add at least one package."]
    if len(packages) > MAX_PACKAGES:
        return [f"At most {MAX_PACKAGES} packages per shipment."]
    units_packed: Counter[str] = Counter()
    serials_typed: list[str] = []
    for number, package in enumerate(packages, start=1):
        where = f"Package {number}:"
        if package.dimension_unit not in DimensionUnit.values:
            problems.append(f"{where} size unit must be one of {', '.join(DimensionUnit.values)}.")
        for name, value in (("Length", package.length), ("Width", package.width), ("Height", package.height)):
            problem = side_problem(name, value, package.dimension_unit, bounds)
            if problem:
                problems.append(f"{where} {problem}")
        if package.weight_unit not in WeightUnit.values:
            problems.append(f"{where} weight unit must be one of {', '.join(WeightUnit.values)}.")
        else:
            problem = weight_problem(package.weight, package.weight_unit, bounds)
            if problem:
                problems.append(f"{where} {problem}")
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
            serials_typed.extend(s.strip() for s in item.serial_numbers if s.strip())
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
    problems.extend(serial_clashes(serials_typed, serials_used_elsewhere).values())
    return problems


def _item_problems(where: str, line: LineItem, item: PackageItemInput) -> list[str]:
    problems = []
    sku = line.merchant_sku
    serials = [s.strip() for s in item.serial_numbers if s.strip()]
    for serial in serials:
        problem = serial_problem(serial)
        if problem:
            problems.append(f"{where} a serial number of {sku} {problem}")
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
