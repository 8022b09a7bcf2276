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
def _user_with_roles_and_locations_sql() -> str:
    """The user's row with two arrays (their group names, their location ids), as the ORM compiles it, once
    per process: compiling the two subqueries cost more CPU on every request than the queries it saves."""
    from django.contrib.postgres.expressions import ArraySubquery

    users = get_user_model()._default_manager.annotate(
        _role_names=ArraySubquery(Group.objects.filter(user=OuterRef("pk")).values("name")),
        _location_ids=ArraySubquery(
            LocationMembership.objects.filter(user=OuterRef("pk")).order_by().values("location_id")),
    )
    sql, params = users.filter(pk=0).query.sql_with_params()
    assert params == (0,), params  # the user's key is the query's only parameter
    return sql


class PackbenchBackend(ModelBackend):
    def get_user(self, user_id):
        if connection.vendor != "postgresql":
            return super().get_user(user_id)
        user = next(iter(get_user_model()._default_manager.raw(_user_with_roles_and_locations_sql(), [user_id])),
                    None)
        if user is None or not self.user_can_authenticate(user):
            return None
        remember_roles(user, user._role_names)
        user._packbench_location_ids = frozenset(user._location_ids)
        return user
