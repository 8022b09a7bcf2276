"""Scan to pack: a station with a scanner and a scale packs a shipment without mouse or keyboard.

Every scan on the shipment page comes here (`handle_scan`). An item's barcode counts the unit
(scan to verify) and puts it into the open carton; when its line needs serial numbers, the next scan
is that unit's serial. A box preset's barcode names the open carton's box. Command barcodes (the
printable command sheet) do the rest: Pack & label, New carton, Mark shipped, Reprint, Skip, Cancel.
Each carton's weight is the network scale's stable reading when it is closed (New carton, Pack & label);
a station without one types it into the open carton's weight box (`set_weight`; a USB scale in keyboard
mode types there too), and a command scanned before it waits for it.

The cartons being filled live in the cache (keyed by shipment); Pack & label sends them through the
chain, which stores them as packages; nothing goes to Amazon before that.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal

from django.core.cache import cache

from fulfillment.stations.models import BoxPreset, SkuBarcode

from .. import selectors, weighing, workflow
from ..models import ShipmentStep, Status
from ..workflow import ShipmentError
from .chain import start_scanned_pack_and_label
from .scanning import reset_verification, skip_verification, verify_scan
from .steps import request_step

# The command sheet's barcodes (Code 128): what each does, in the order the sheet shows them.
PACK, NEW_CARTON, SHIP, REPRINT, SKIP, CANCEL = (
    "PB:PACK", "PB:NEW-CARTON", "PB:SHIP", "PB:REPRINT", "PB:SKIP", "PB:CANCEL")
COMMANDS = {
    PACK: ("Pack & label", "Closes the last carton (weight from the scale) and sends every carton to Amazon; "
                           "labels and invoice print at this station."),
    NEW_CARTON: ("New carton", "Closes this carton (weight from the scale) and opens the next one."),
    SHIP: ("Mark shipped", "Once the labels are printed: tells Amazon the packages left."),
    REPRINT: ("Reprint", "Prints every label of the shipment again on this station's printer."),
    SKIP: ("Skip", "Puts the units not scanned into the open carton (unlabelled stock). Noted in the history."),
    CANCEL: ("Cancel", "Empties the cartons on screen: scan the items again."),
}
BOX_PREFIX = "PB:BOX:"  # a box preset without a barcode of its own: PB:BOX:<id>
STATE_SECONDS = 12 * 3600
STABLE_WAIT_SECONDS = 4.0


@dataclass(frozen=True)
class PackScan:
    """What a scan did, for the page: `level` ok / warn / error (shown loudly)."""

    level: str
    message: str
    open_shipment: str = ""  # the scan named another shipment: open it
    progress: bool = False  # says a chain started: shown only while it runs (its end has its own message)

    @property
    def flash(self) -> dict:
        return {"level": self.level, "text": self.message, "progress": self.progress}


def _key(shipment) -> str:
    return f"scanpack:{shipment.pk}"


def _new_carton() -> dict:
    return {"box": None, "units": {}, "serials": {}, "weight": None, "weight_unit": None}


def cartons(shipment) -> dict:
    """The cartons being packed: {"cartons": [{box, units {line: n}, serials {line: [..]}, weight}],
    "awaiting": line id whose serial the next scan is, "confirm": a weight warning already shown,
    "pending": the command waiting for the open carton's typed weight}."""
    return cache.get(_key(shipment)) or {"cartons": [_new_carton()], "awaiting": None, "confirm": "", "pending": None}


def _save(shipment, state: dict) -> None:
    cache.set(_key(shipment), state, STATE_SECONDS)


def forget(shipment) -> None:
    cache.delete(_key(shipment))


def box_for_code(code: str) -> BoxPreset | None:
    if code.upper().startswith(BOX_PREFIX):
        pk = code[len(BOX_PREFIX):]
        return BoxPreset.objects.filter(pk=pk).first() if pk.isdigit() else None
    return BoxPreset.objects.filter(barcode=code).first() if code else None


def box_code(preset: BoxPreset) -> str:
    return preset.barcode or f"{BOX_PREFIX}{preset.pk}"


def box_words(preset: BoxPreset) -> str:
    """"Small box · 20×15×10 cm", as the packer reads it."""
    sides = "×".join(f"{side.normalize():f}" for side in (preset.length, preset.width, preset.height))
    return f"{preset.name} · {sides} {preset.dimension_unit.lower()}"


def handle_scan(shipment, code: str, *, station, user) -> PackScan:
    """Do what one scan says. Never raises for a packer's mistake: the answer says what to do."""
    code = (code or "").strip()
    if not code:
        return PackScan("error", "Nothing was scanned. Scan an item, a box or a command.")
    state = cartons(shipment)
    command = code.upper()
    try:
        if command in COMMANDS:
            return _command(shipment, command, state, station=station, user=user)
        box = box_for_code(code)
        if box is not None:
            return _box(shipment, box, state)
        if state["awaiting"]:
            return _serial(shipment, code, state)
        if not _is_item(shipment, code):
            other = selectors.find_shipment(code, location_id=station.location_id)
            if other is not None and other.pk != shipment.pk:  # the next shipment, scanned from here
                return PackScan("ok", f"Opening {other.amazon_id}.", open_shipment=other.amazon_id)
        return _item(shipment, code, state, user, station=station)
    except ShipmentError as exc:
        return PackScan("error", exc.packer_message)


# --- Items, serials, boxes ------------------------------------------------------------------------


def _lines(shipment) -> dict:
    return {line.line_item_id: line for line in shipment.line_items.all()}


def _is_item(shipment, code: str) -> bool:
    skus = {code.casefold(), *(s.casefold() for s in SkuBarcode.objects.filter(barcode=code)
                               .values_list("merchant_sku", flat=True))}
    return any(line.merchant_sku.casefold() in skus for line in shipment.line_items.all())


def _item(shipment, code, state, user, *, station) -> PackScan:
    if shipment.status not in (Status.ACCEPTED, Status.CONFIRMED) or shipment.packages.exists():
        return PackScan("error", f"{code} was not packed: this shipment's packages are already made. "
                                 "Scan a command (Reprint, Mark shipped).")
    result = verify_scan(shipment, code, user)
    if not result.ok:
        return PackScan("error", result.message)
    line = result.line_item
    carton = state["cartons"][-1]
    carton["units"][line.line_item_id] = carton["units"].get(line.line_item_id, 0) + 1
    carton["weight"] = carton["weight_unit"] = None  # a weight typed before this item is no longer the carton's
    number = len(state["cartons"])
    state["confirm"] = ""
    message = f"Carton {number}: {line.merchant_sku} ({result.message.split(': ', 1)[1]})"
    if line.serial_number_requirement == "REQUIRED":
        state["awaiting"] = line.line_item_id
        message += f" Now scan the serial number of this {line.merchant_sku}."
    elif result.complete and not station.scale_host:
        message += " Type the carton's weight (or put it on the USB scale) and press Enter."
    elif result.complete:
        message += " Scan Pack & label" + (" or New carton." if number == 1 else ".")
    _save(shipment, state)
    return PackScan("ok", message)


def _serial(shipment, code, state) -> PackScan:
    line_id = state["awaiting"]
    sku = _lines(shipment)[line_id].merchant_sku
    if _is_item(shipment, code):
        return PackScan("error", f"That is an item, not a serial number: scan the serial number of the {sku} "
                                 "you just scanned.")
    problem = workflow.serial_problem(code)
    if problem:
        return PackScan("error", f"Serial {problem}. Scan the serial number of the {sku} again.")
    taken = [s for carton in state["cartons"] for serials in carton["serials"].values() for s in serials]
    if code in taken:
        return PackScan("error", f"Serial {code} is already in this shipment: scan this {sku}'s own serial number.")
    elsewhere = selectors.serials_used_elsewhere([code], exclude_shipment=shipment)
    if code in elsewhere:
        return PackScan("error", f"Serial {code} is already used on shipment {elsewhere[code]}: check the unit.")
    state["cartons"][-1]["serials"].setdefault(line_id, []).append(code)
    state["awaiting"] = None
    _save(shipment, state)
    return PackScan("ok", f"Serial {code} noted for {sku} in carton {len(state['cartons'])}.")


def _box(shipment, box, state) -> PackScan:
    state["cartons"][-1]["box"] = box.pk
    _save(shipment, state)
    return PackScan("ok", f"Carton {len(state['cartons'])}: {box_words(box)}.")


# --- Commands -------------------------------------------------------------------------------------


def _command(shipment, command, state, *, station, user) -> PackScan:
    if command == CANCEL:
        forget(shipment)
        if shipment.status in (Status.ACCEPTED, Status.CONFIRMED) and not shipment.packages.exists():
            reset_verification(shipment, user)
        return PackScan("ok", "Cartons emptied: scan the items again.")
    if command == SHIP:
        action = workflow.next_action(shipment)
        if action is None or action.kind != ShipmentStep.Kind.SHIP:
            return PackScan("error", f"Not yet: {action.label if action else 'nothing is left to do'}.")
        request_step(shipment, ShipmentStep.Kind.SHIP, user)
        return PackScan("ok", "Marking shipped…")
    if command == REPRINT:
        return _reprint(shipment, station=station, user=user)
    if state["awaiting"]:
        sku = _lines(shipment)[state["awaiting"]].merchant_sku
        return PackScan("error", f"Scan the serial number of the {sku} first.")
    if command == SKIP:
        return _skip(shipment, state, user)
    if command == NEW_CARTON:
        return _close_carton(shipment, state, station=station, opening=True)
    return _pack(shipment, state, station=station, user=user)


def _remaining(shipment, state) -> dict:
    placed: dict[str, int] = {}
    for carton in state["cartons"]:
        for line_id, n in carton["units"].items():
            placed[line_id] = placed.get(line_id, 0) + n
    return {line_id: line.number_of_units - line.cancelled_quantity - placed.get(line_id, 0)
            for line_id, line in _lines(shipment).items()
            if line.number_of_units - line.cancelled_quantity - placed.get(line_id, 0) > 0}


def _skip(shipment, state, user) -> PackScan:
    remaining = _remaining(shipment, state)
    lines = _lines(shipment)
    if any(lines[line_id].serial_number_requirement == "REQUIRED" for line_id in remaining):
        return PackScan("error", "Items with serial numbers cannot be skipped: scan each unit, then its serial.")
    if not remaining:
        return PackScan("ok", "Every unit is already packed. Scan Pack & label.")
    carton = state["cartons"][-1]
    for line_id, n in remaining.items():
        carton["units"][line_id] = carton["units"].get(line_id, 0) + n
    skip_verification(shipment, user)
    _save(shipment, state)
    return PackScan("ok", f"Skipped scanning: the other units went into carton {len(state['cartons'])}. "
                          "Scan Pack & label.")


def _stable_reading(station):
    """The scale's stable weight, waiting a moment for a rocking parcel to settle."""
    from fulfillment.printers.scale import ScaleError, read_weight

    deadline = time.monotonic() + STABLE_WAIT_SECONDS
    while True:
        try:
            reading = read_weight(station.scale_host, station.scale_port)
        except ScaleError as exc:
            raise ShipmentError(f"Scale: {exc.packer_message}") from exc
        if reading.stable or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    if not reading.stable:
        raise ShipmentError("The scale is still moving: hold the carton still, then scan again.")
    if reading.value <= 0:
        raise ShipmentError("Nothing is on the scale: put the carton on it, then scan again.")
    return reading


def _close_carton(shipment, state, *, station, opening: bool) -> PackScan | None:
    """Weigh the open carton; with `opening`, open the next one. None = closed (for Pack & label).
    The weight is the network scale's stable reading, else the one typed into the open carton's weight
    box (by hand or by a USB scale in keyboard mode); without one yet, the command waits for it."""
    carton, number = state["cartons"][-1], len(state["cartons"])
    if not carton["units"]:
        return PackScan("error", f"Carton {number} is empty: scan its items first.")
    if carton["box"] is None and (opening or number > 1 or shipment.recommended_length is None):
        return PackScan("error", f"Scan the barcode of carton {number}'s box first (box barcodes are on the "
                                 "command sheet).")
    if station.scale_host:
        reading = _stable_reading(station)
        value, unit, grams = reading.value, reading.unit, reading.grams
    elif carton["weight"] is None:
        state["pending"] = NEW_CARTON if opening else PACK  # Enter in the weight box carries it on
        _save(shipment, state)
        return PackScan("warn", f"Weigh carton {number}: type its weight (or put it on the USB scale) and press Enter.")
    else:
        value, unit = Decimal(carton["weight"]), carton["weight_unit"]
        grams = value * workflow.GRAMS_PER[unit]
    state["pending"] = None
    lines = _lines(shipment)
    units = weighing.units_by_sku([lines[line_id] for line_id in carton["units"]],
                                  {line_id: n for line_id, n in carton["units"].items()})
    whole = len(state["cartons"]) == 1 and not _remaining(shipment, state)
    warning = weighing.weight_warning(grams, weighing.expected_weight(shipment, units, whole_shipment=whole))
    signature = f"{number}:{value}{unit}"
    if warning and state.get("confirm") != signature:
        state["confirm"] = signature
        _save(shipment, state)
        return PackScan("warn", f"{warning} Scan the same command again to go on with {value} {unit.lower()}.")
    carton["weight"], carton["weight_unit"] = str(value), unit
    state["confirm"] = ""
    if opening:
        state["cartons"].append(_new_carton())
        _save(shipment, state)
        return PackScan("ok", f"Carton {number} closed at {value} {unit.lower()}. "
                              f"Carton {number + 1} is open: scan its box and items.")
    _save(shipment, state)
    return None


def set_weight(shipment, weight, unit: str, *, station, user) -> PackScan:
    """The open carton's weight, typed (a station without a network scale): noted, and a Pack & label or
    New carton that waited for it goes on."""
    state = cartons(shipment)
    if not summary(shipment)["packing"]:
        return PackScan("error", "This shipment's packages are already with Amazon: follow the next step on screen.")
    carton, number = state["cartons"][-1], len(state["cartons"])
    if not carton["units"]:
        return PackScan("error", f"Carton {number} is empty: scan its items first, then weigh it.")
    carton["weight"], carton["weight_unit"] = f"{Decimal(weight).normalize():f}", unit
    pending = state.get("pending")
    _save(shipment, state)
    if pending:
        try:
            return _command(shipment, pending, state, station=station, user=user)
        except ShipmentError as exc:
            return PackScan("error", exc.packer_message)
    return PackScan("ok", f"Carton {number} weighs {carton['weight']} {unit.lower()}. "
                          "Scan Pack & label, or New carton for one more carton.")


def _pack(shipment, state, *, station, user) -> PackScan:
    if shipment.status not in (Status.ACCEPTED, Status.CONFIRMED) or shipment.packages.exists():
        return PackScan("error", "This shipment's packages are already with Amazon: follow the next step on screen.")
    if shipment.steps.filter(status__in=ShipmentStep.OPEN_STATES).exclude(kind=ShipmentStep.Kind.REFRESH).exists():
        return PackScan("warn", "Pack & label is already on its way: wait for it on screen.")
    remaining = _remaining(shipment, state)
    if remaining:
        lines = _lines(shipment)
        missing = ", ".join(f"{lines[line_id].merchant_sku} × {n}" for line_id, n in remaining.items())
        return PackScan("error", f"Still to scan: {missing}. (Scan Skip to pack them unscanned.)")
    stopped = _close_carton(shipment, state, station=station, opening=False)
    if stopped is not None:
        return stopped
    packages = [_package(shipment, carton) for carton in state["cartons"]]
    try:
        start_scanned_pack_and_label(shipment, packages, user, station=station)
    except workflow.PackageValidationError as exc:
        return PackScan("error", "Amazon would not take these cartons: " + " ".join(exc.problems))
    # The cartons stay until Amazon has the packages: if the chain stops before that (a failed confirm),
    # Pack & label scanned again sends the same cartons, the items need no second scan.
    count = len(packages)
    return PackScan("ok", f"Pack & label started for {count} carton{'s' if count != 1 else ''}: labels and "
                          "documents print at this station.", progress=True)


def _package(shipment, carton) -> dict:
    """A carton as the chain's payload carries it (strings: JSON-ready)."""
    if carton["box"] is not None:
        box = BoxPreset.objects.get(pk=carton["box"])
        sides = {"length": box.length, "width": box.width, "height": box.height, "dimension_unit": box.dimension_unit}
    else:  # one carton, no box scanned: Amazon's recommended box
        sides = {"length": shipment.recommended_length, "width": shipment.recommended_width,
                 "height": shipment.recommended_height,
                 "dimension_unit": shipment.recommended_dimension_unit or "CM"}
    package = {key: f"{Decimal(value).normalize():f}" if key != "dimension_unit" else value
               for key, value in sides.items()}
    package.update(weight=carton["weight"], weight_unit=carton["weight_unit"], items=[
        {"line_item_id": line_id, "quantity": n, "serial_numbers": carton["serials"].get(line_id, [])}
        for line_id, n in carton["units"].items()])
    return package


def _reprint(shipment, *, station, user) -> PackScan:
    from fulfillment.documents.models import Document
    from fulfillment.printers.zebra import PrinterError

    from .printing import print_label

    labels = list(selectors.current_documents(shipment, Document.Kind.LABEL))
    if not labels:
        return PackScan("error", "There is no label to reprint yet.")
    if not station.printer_host:
        return PackScan("error", "This station has no label printer: reprint from the Labels panel.")
    for label in labels:
        try:
            print_label(selectors.document_for_download(label.pk), station=station, user=user)
        except PrinterError as exc:
            return PackScan("error", f"Not reprinted: {exc.packer_message}")
    return PackScan("ok", f"{len(labels)} label{'s' if len(labels) != 1 else ''} reprinted on {station.name}'s printer.")


def summary(shipment) -> dict:
    """The cartons for the page: each with its box, weight and items (SKU × n, serials)."""
    state = cartons(shipment)
    lines = _lines(shipment)
    box_ids = [c["box"] for c in state["cartons"] if c["box"]]
    boxes = {b.pk: b for b in BoxPreset.objects.filter(pk__in=box_ids)} if box_ids else {}
    shown = []
    for number, carton in enumerate(state["cartons"], start=1):
        shown.append({
            "number": number, "box": boxes.get(carton["box"]), "weight": carton["weight"],
            "weight_unit": (carton["weight_unit"] or "").lower(), "open": number == len(state["cartons"]),
            "items": [{"sku": lines[line_id].merchant_sku, "count": n, "serials": carton["serials"].get(line_id, [])}
                      for line_id, n in carton["units"].items() if line_id in lines],
        })
    awaiting = lines.get(state["awaiting"]) if state["awaiting"] else None
    packing = shipment.status in (Status.ACCEPTED, Status.CONFIRMED) and not shipment.packages.exists()
    remaining = sum(_remaining(shipment, state).values()) if packing else 0
    open_carton = state["cartons"][-1]
    # No network scale: the open carton's weight box has the cursor when its weight is what is missing.
    weigh_now = packing and not awaiting and bool(open_carton["units"]) and open_carton["weight"] is None and (
        bool(state.get("pending")) or not remaining)
    return {"cartons": shown if packing else [], "awaiting": awaiting, "packing": packing,
            "remaining": remaining, "weigh_now": weigh_now,
            "started": packing and (bool(awaiting) or any(c["units"] for c in state["cartons"]))}
