"""Presentation helpers for the packing station screens: colours, badges and countdowns.

The pill, badge, countdown and flags are simple tags that build their few elements in Python, not
inclusion tags or includes: the queue draws all four on every row, every 10 seconds, and as templates
they cost twice as much (≈ 60 µs a row against 30)."""

from datetime import UTC

from django import template
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def step_label(step_or_kind) -> str:
    """A step's (or step kind's) name in the packer's words, from the step registry."""
    from ..step_kinds import label

    return label(getattr(step_or_kind, "kind", step_or_kind))

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
    "UNSHIPPED": "new",
    "READY_FOR_PICKUP": "ready",
    "PARTIALLY_SHIPPED": "working",
}
_STATUS_WORDS = {
    "ACCEPTED": "To confirm",
    "CONFIRMED": "Confirmed",
    "PACKAGE_CREATED": "Packed",
    "PICKUP_SLOT_RETRIEVED": "Pickup chosen",
    "INVOICE_GENERATED": "Invoiced",
    "SHIPLABEL_GENERATED": "Labelled",
    "UNSHIPPED": "To ship",
    "READY_FOR_PICKUP": "Ready for pickup",
    "PARTIALLY_SHIPPED": "Partly shipped",
}
_PROGRAMME_BADGE = {"EASY_SHIP": "easy-ship", "SELF_SHIP": "self-ship", "SELLER_FLEX": "seller-flex", "MFN": "mfn"}


@register.simple_tag
def status_pill(status):
    css = _PILL.get(status, "idle")
    words = _STATUS_WORDS.get(status, str(status).replace("_", " ").capitalize())
    return format_html('<span class="pill pill-{}" title="Amazon status {}" data-status="{}">{}</span>',
                       css, status, status, words)


@register.simple_tag
def programme_badge(shipment):
    return format_html('<span class="badge badge-{}">{}</span>',
                       _PROGRAMME_BADGE.get(shipment.programme, "other"), shipment.get_programme_display())


def _left(delta_seconds):
    overdue, s = delta_seconds < 0, int(abs(delta_seconds))
    d, h, m = s // 86400, s % 86400 // 3600, s % 3600 // 60
    text = f"{d}d {h}h" if d else f"{h}h {m}m" if h else f"{m}m {s % 60}s"
    return f"overdue {text}" if overdue else f"{text} left"


@register.simple_tag
def countdown(deadline):
    """Server-rendered first value; station.js keeps it ticking (same wording)."""
    if deadline is None:
        return mark_safe('<span class="muted">no ship-by</span>')
    left = (deadline - timezone.now()).total_seconds()
    css = "overdue" if left < 0 else "soon" if left < 3600 else ""
    return format_html('<span class="countdown {}" data-deadline="{}">{}</span>',
                       css, deadline.astimezone(UTC).isoformat(), _left(left))


# What needs care when packing, in the order a packer reads them: (field, css, words).
_FLAGS = (
    ("requires_serials", "flag-serials", "Serials"),
    ("has_hazmat", "flag-hazmat", "Hazmat"),
    ("gift_wrap", "flag-gift", "Gift wrap"),
    ("multi_piece", "flag-multi", "Multi-piece"),
)
_TYPE_FLAGS = {"EXCHANGE": "Exchange", "REPLACEMENT": "Replacement"}


@register.simple_tag
def flags(shipment):
    """The shipment's flags (serials, hazmat, gift wrap, multi-piece, exchange or replacement)."""
    shown = [(css, words) for field, css, words in _FLAGS if getattr(shipment, field)]
    if shipment.shipment_type in _TYPE_FLAGS:
        shown.append(("flag-exchange", _TYPE_FLAGS[shipment.shipment_type]))
    return format_html('<div class="flags">{}</div>',
                       format_html_join("", '<span class="flag {}">{}</span>', shown))


@register.filter
def get_item(mapping, key):
    """`results|get_item:document.pk` (per-document print results)."""
    return (mapping or {}).get(key)
