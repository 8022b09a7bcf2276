"""Filters for the supervision pages. The board draws about a hundred rows every 30 seconds, so what
it shows on every row is a plain filter: Django's `date` filter and `{% url %}` tag cost four times as
much a call."""

from datetime import timedelta
from functools import lru_cache
from urllib.parse import quote

from django import template
from django.core.exceptions import ObjectDoesNotExist
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.http import RFC3986_SUBDELIMS

from fulfillment.accounts.roles import ADMIN, SUPERVISOR, has_role

register = template.Library()

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@register.filter
def duration_words(delta):
    """A configured window in floor words: 2 h, 90 min, 1 h 30 min."""
    minutes = int(delta.total_seconds() // 60)
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest} min" if rest else f"{hours} h"


@register.filter
def duration_ms(value):
    """Amazon call time: 850 ms, 2.4 s."""
    if value is None:
        return "—"
    return f"{value} ms" if value < 1000 else f"{value / 1000:.1f} s"


@register.filter
def since_words(start, now):
    """How long something has been so, compactly: 7 h 5 min, 2 d 3 h."""
    if start is None:
        return "—"
    minutes = max(int((now - start).total_seconds() // 60), 0)
    days, rest = divmod(minutes, 1440)
    if days:
        return f"{days} d {rest // 60} h"
    return duration_words(timedelta(minutes=minutes))


@register.filter
def is_supervisor(user):
    """For the navigation: `{% if user|is_supervisor %}` shows the board link."""
    return has_role(user, SUPERVISOR, ADMIN)


@register.filter
def day_time(value):
    """A moment on the board, in the floor's time zone: 10 Mar 14:05 (as `date:"d M H:i"`)."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    return f"{local.day:02d} {_MONTHS[local.month - 1]} {local.hour:02d}:{local.minute:02d}"


@register.filter
def clock(value):
    """The time of day, to the second: 14:05:09 (as `time:"H:i:s"`)."""
    if value is None:
        return ""
    return timezone.localtime(value).strftime("%H:%M:%S")


@register.filter
def held_by(shipment, now):
    """Who holds the shipment at `now` (a claim whose lease has not run out), or "" for nobody.
    The board loads the claim with the shipment (select_related)."""
    try:
        claim = shipment.claim
    except ObjectDoesNotExist:
        return ""
    if claim is None or claim.lease_expires_at <= now:
        return ""
    return claim.user.get_username()


_SHIPMENT_ID = "SHIPMENT-ID"


@lru_cache(maxsize=8)
def _history_path(script_prefix):  # reverse() starts the path with the script prefix: one entry each
    return reverse("supervision:history", args=[_SHIPMENT_ID])


@register.filter
def history_url(amazon_id):
    """The shipment's history page, as `{% url 'supervision:history' amazon_id %}` gives it, at a fifth
    of the cost (the board links a hundred shipments on every refresh): the path is reversed once per
    script prefix and the id, quoted the way `reverse` quotes it, put in."""
    quoted = quote(str(amazon_id), safe=RFC3986_SUBDELIMS + "~:@")
    return _history_path(get_script_prefix()).replace(_SHIPMENT_ID, quoted)
