"""Sign-in backend: Django's ModelBackend, whose per-request user read also brings the user's roles and
location memberships (`roles.has_role` and `locations.locations_of` ask on nearly every request).

On PostgreSQL the two lists come as array subqueries of the user's row: one query where there were
three. They are read afresh on every request, as before (nothing is kept between requests). SQLite (the
embedded station) has no arrays: there `has_role` and `locations_of` query as they always did.
"""

from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import OuterRef

from .models import LocationMembership
from .roles import remember_roles


@cache
def _users_with_roles_and_locations():
    """Built once per process: resolving the two subqueries cost more CPU than the queries they save."""
    from django.contrib.postgres.expressions import ArraySubquery

    return get_user_model()._default_manager.annotate(
        _role_names=ArraySubquery(Group.objects.filter(user=OuterRef("pk")).values("name")),
        _location_ids=ArraySubquery(
            LocationMembership.objects.filter(user=OuterRef("pk")).order_by().values("location_id")),
    )


class PackbenchBackend(ModelBackend):
    def get_user(self, user_id):
        if connection.vendor != "postgresql":
            return super().get_user(user_id)
        try:
            user = _users_with_roles_and_locations().get(pk=user_id)
        except get_user_model().DoesNotExist:
            return None
        if not self.user_can_authenticate(user):
            return None
        remember_roles(user, user._role_names)
        user._packbench_location_ids = frozenset(user._location_ids)
        return user
