"""Where a step's success moves the shipment, as the step registry says: no re-read of Amazon.

Amazon answered 2xx, so it did what the step asked and moved the shipment as its model says
(`StepKind.status_after`). The status is written here at once and marked as ours (`local_status_at`)
until the sync's batch read of Amazon agrees, or disagrees and wins (services/sync)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from ..models import Shipment, ShipmentEvent, ShipmentStep, Status
from ..step_kinds import STEP_KINDS
from .events import record_event
from .sync import on_cancelled


def advance(step: ShipmentStep, result: dict) -> str:
    """Move the step's shipment to the status its success leads to (recording the change) and
    return the status it is in now. `result` is what the handler brought back."""
    spec = STEP_KINDS[step.kind]
    user = step.requested_by
    with transaction.atomic():
        shipment = Shipment.objects.select_for_update().get(pk=step.shipment_id)
        before = shipment.status
        after = spec.status_after(shipment, result)
        if after != before:
            shipment.status, shipment.local_status_at = after, timezone.now()
            shipment.disagreed_at, shipment.disagreed_status = None, ""  # the packer carried on from Amazon's
            shipment.save(update_fields=["status", "local_status_at", "disagreed_at", "disagreed_status",
                                         "updated_at"])
            record_event(shipment, ShipmentEvent.Kind.STATUS_CHANGED, f"Status {before} → {after} ({spec.label} done).",
                         user=user, data={"from": before, "to": after, "source": "step", "step": step.pk})
            if after == Status.CANCELLED:
                on_cancelled(shipment, user)
    step.shipment = shipment
    return after
