"""What supervisors and admins do for the people on their floor: see who is locked out, unlock
them, give them a new password. A supervisor looks after the packers of their own locations only;
an admin after everyone else too (their own password they change like anyone)."""

from __future__ import annotations

import logging
from datetime import datetime

from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone

from .locations import locations_of, members_of
from .roles import ADMIN, PACKER, SUPERVISOR, has_role

logger = logging.getLogger(__name__)


def manageable_users(actor) -> QuerySet:
    """The users `actor` may unlock and give a new password."""
    users = get_user_model().objects.filter(is_active=True).exclude(pk=actor.pk).order_by("username")
    if has_role(actor, ADMIN):
        return users
    if has_role(actor, SUPERVISOR):
        # Only the packers of the supervisor's own locations (accounts.locations).
        return (users.filter(groups__name=PACKER).filter(members_of(locations_of(actor)))
                .exclude(groups__name__in=[SUPERVISOR, ADMIN]).exclude(is_superuser=True).exclude(is_staff=True)
                .distinct())
    return users.none()


def locked_until() -> dict[str, datetime]:
    """User name -> when its lockout ends, for every user name locked out now (on any address)."""
    cool_off = get_cool_off()
    now = timezone.now()
    attempts = AccessAttempt.objects.filter(failures_since_start__gte=settings.AXES_FAILURE_LIMIT,
                                            attempt_time__gt=now - cool_off)
    until: dict[str, datetime] = {}
    for username, attempt_time in attempts.values_list("username", "attempt_time"):
        until[username] = max(until.get(username, attempt_time + cool_off), attempt_time + cool_off)
    return until


def unlock(user, *, by) -> None:
    """Forget the failed sign-ins of `user` on every address: they can sign in at once."""
    axes_reset(username=user.get_username())
    logger.info("%s unlocked sign-in for %s", by.get_username(), user.get_username())


def set_password(form, *, by):
    """Save a SetPasswordForm for its user (their other sessions end with the old password) and
    unlock them."""
    user = form.save()
    unlock(user, by=by)
    logger.info("%s set a new password for %s", by.get_username(), user.get_username())
    return user
