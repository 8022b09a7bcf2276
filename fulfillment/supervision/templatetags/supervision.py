from datetime import timedelta

from django import template

from fulfillment.accounts.roles import ADMIN, SUPERVISOR, has_role

register = template.Library()


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
