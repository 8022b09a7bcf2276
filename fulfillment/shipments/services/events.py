"""The shipment's history: every service writes what it did, with the acting user."""

from __future__ import annotations

from ..models import Shipment, ShipmentEvent


def record_event(shipment: Shipment, kind: str, message: str, *, user=None, data: dict | None = None) -> ShipmentEvent:
    """Append one line to the shipment's history."""
    return ShipmentEvent.objects.create(
        shipment=shipment, user=user if getattr(user, "is_authenticated", False) else None,
        kind=kind, message=message, data=data or {},
    )
