"""Presentation helpers for the packing station screens: colours, badges and countdowns."""

from datetime import UTC
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import template
from django.utils import timezone

register = template.Library()

# One colour family per phase so a packer reads the queue at a glance.
_PILL = {
    "CREATED": "new",
    "ACCEPTED": "new",
    "CONFIRMED": "working",
    "PACKAGE_CREATED": "working",
    "PICKUP_SLOT_RETRIEVED": "working",
    "INVOICE_GENERATED": "working",
    "SHIPLABEL_GENERATED": "ready",
    "SHIPPED": "done",
    "DELIVERED": "done",
    "CANCELLED": "stopped",
    "UNFULFILLABLE": "stopped",
}
_STATUS_WORDS = {
    "ACCEPTED": "To confirm",
    "CONFIRMED": "Confirmed",
    "PACKAGE_CREATED": "Packed",
    "PICKUP_SLOT_RETRIEVED": "Pickup chosen",
    "INVOICE_GENERATED": "Invoiced",
    "SHIPLABEL_GENERATED": "Labelled",
}
_PROGRAMME_BADGE = {"EASY_SHIP": "easy-ship", "SELF_SHIP": "self-ship", "SELLER_FLEX": "seller-flex"}


@register.inclusion_tag("partials/status_pill.html")
def status_pill(status):
    return {
        "status": status,
        "css": _PILL.get(status, "idle"),
        "words": _STATUS_WORDS.get(status, str(status).replace("_", " ").capitalize()),
    }


@register.inclusion_tag("partials/programme_badge.html")
def programme_badge(shipment):
    return {"css": _PROGRAMME_BADGE.get(shipment.programme, "other"), "label": shipment.get_programme_display()}


def _left(delta_seconds):
    overdue, s = delta_seconds < 0, int(abs(delta_seconds))
    d, h, m = s // 86400, s % 86400 // 3600, s % 3600 // 60
    text = f"{d}d {h}h" if d else f"{h}h {m}m" if h else f"{m}m {s % 60}s"
    return f"overdue {text}" if overdue else f"{text} left"


@register.inclusion_tag("partials/countdown.html")
def countdown(deadline):
    """Server-rendered first value; station.js keeps it ticking (same wording)."""
    if deadline is None:
        return {"deadline": None}
    left = (deadline - timezone.now()).total_seconds()
    css = "overdue" if left < 0 else "soon" if left < 3600 else ""
    return {"deadline": deadline.astimezone(UTC).isoformat(), "text": _left(left), "css": css}


@register.filter
def in_zone(value, zone_name):
    """A time in the station's timezone (pickup windows, ship-by)."""
    if value is None:
        return None
    try:
        return value.astimezone(ZoneInfo(zone_name or "UTC"))
    except ZoneInfoNotFoundError:
        return value.astimezone(UTC)


@register.filter
def get_item(mapping, key):
    """`results|get_item:document.pk` (per-document print results)."""
    return (mapping or {}).get(key)
