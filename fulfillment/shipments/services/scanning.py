"""Scan to verify: every unit of the shipment scanned before it is packed."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from fulfillment.stations.models import SkuBarcode

from ..models import LineItem, Shipment, ShipmentEvent
from .events import record_event

# --- Scan to verify -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScanResult:
    """What a scan did. `ok` False = refused (wrong item, one too many): show it loudly."""

    ok: bool
    message: str
    line_item: LineItem | None = None
    complete: bool = False  # every unit of the shipment is now scanned

    @property
    def level(self) -> str:
        return "success" if self.ok else "error"


def verify_scan(shipment: Shipment, code: str, user) -> ScanResult:
    """Count one scanned unit: `code` is the merchant SKU or a barcode from stations.SkuBarcode."""
    code = (code or "").strip()
    if not code:
        return ScanResult(False, "Nothing was scanned. Scan the item's barcode.")
    skus = {code.casefold()}
    skus.update(s.casefold() for s in SkuBarcode.objects.filter(barcode=code).values_list("merchant_sku", flat=True))
    with transaction.atomic():
        lines = [li for li in LineItem.objects.select_for_update().filter(shipment=shipment).order_by("id")
                 if li.merchant_sku.casefold() in skus]
        if not lines:
            record_event(shipment, ShipmentEvent.Kind.SCAN_REFUSED, f"Wrong item scanned: {code}.", user=user,
                         data={"code": code})
            return ScanResult(False, f"WRONG ITEM: {code} is not in this shipment. Put it back.")
        line = next((li for li in lines if li.scanned_units < li.number_of_units - li.cancelled_quantity), None)
        if line is None:
            record_event(shipment, ShipmentEvent.Kind.SCAN_REFUSED, f"One too many: {code}.", user=user,
                         data={"code": code})
            return ScanResult(False, f"TOO MANY: every unit of {lines[0].merchant_sku} is already scanned. "
                              "Put this one back.", lines[0])
        line.scanned_units += 1
        line.save(update_fields=["scanned_units"])
        remaining = sum(
            max(li.number_of_units - li.cancelled_quantity - li.scanned_units, 0)
            for li in LineItem.objects.filter(shipment=shipment)
        )
        complete = remaining == 0
        if complete:
            Shipment.objects.filter(pk=shipment.pk).update(verified_at=timezone.now())
            shipment.verified_at = timezone.now()
        record_event(shipment, ShipmentEvent.Kind.SCANNED,
                     f"Scanned {line.merchant_sku} ({line.scanned_units}/{line.number_of_units}).", user=user,
                     data={"code": code, "line_item": line.line_item_id})
    message = f"{line.merchant_sku}: {line.scanned_units} of {line.number_of_units}."
    if complete:
        message += " All items scanned."
    return ScanResult(True, message, line, complete)


def reset_verification(shipment: Shipment, user) -> None:
    """Start the scan over (e.g. after the packer mixed up items)."""
    shipment.line_items.update(scanned_units=0)
    Shipment.objects.filter(pk=shipment.pk).update(verified_at=None, scan_skipped_at=None)
    shipment.verified_at = shipment.scan_skipped_at = None
    record_event(shipment, ShipmentEvent.Kind.NOTE, "Scan verification started over.", user=user)


def skip_verification(shipment: Shipment, user) -> None:
    """The packer packs without scanning every unit: kept in the history (who, and how far they got)."""
    lines = list(shipment.line_items.all())
    units = sum(max(li.number_of_units - li.cancelled_quantity, 0) for li in lines)
    scanned = sum(min(li.scanned_units, li.number_of_units) for li in lines)
    shipment.scan_skipped_at = timezone.now()  # kept, so the page does not ask for the scan again
    Shipment.objects.filter(pk=shipment.pk).update(scan_skipped_at=shipment.scan_skipped_at)
    record_event(shipment, ShipmentEvent.Kind.NOTE,
                 f"Scanning skipped: packed with {scanned} of {units} unit{'s' if units != 1 else ''} scanned.",
                 user=user, data={"verification": "skipped", "scanned": scanned, "units": units})
