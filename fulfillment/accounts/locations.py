"""Where a user may look and work: the one place that states the location rule; every view reads it.

A location is Amazon's location id, as a station names it (`Station.location_id`). Several sellers
may share one floor, each at their own location: a user belongs to the locations of their
`LocationMembership` rows and sees only those: their stations, shipments, claims, documents, scans,
searches and, for a supervisor, the people who work there. Admins (superusers too) see everywhere.

A floor whose stations name at most one location has no boundary to keep: there, a user without any
membership belongs to it (and to any shipment Amazon lists without a station), as on a single-seller
floor before memberships existed. Once stations name a second location, a user without a membership
sees nothing until an admin gives them one (admin pages, Users).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from .roles import ADMIN, has_role


@dataclass(frozen=True)
class Locations:
    """The locations one user may see: `everywhere`, or the ids in `ids`."""

    everywhere: bool = False
    ids: frozenset[str] = frozenset()

    def __contains__(self, location_id) -> bool:
        return self.everywhere or location_id in self.ids

    def filter(self, queryset: QuerySet, field: str = "location_id") -> QuerySet:
        """`queryset` narrowed to these locations (`field` names the location id, e.g. "shipment__location_id")."""
        return queryset if self.everywhere else queryset.filter(**{f"{field}__in": self.ids})

    def __bool__(self) -> bool:
        return self.everywhere or bool(self.ids)


NOWHERE = Locations()
EVERYWHERE = Locations(everywhere=True)


def floor_has_one_location() -> bool:
    """Whether the stations name at most one location (then nobody needs a membership)."""
    from fulfillment.stations.models import Station

    return Station.objects.values("location_id").distinct().order_by()[:2].count() < 2


def locations_of(user) -> Locations:
    """The locations `user` may see (cached on the user: a request asks several times)."""
    if not getattr(user, "is_authenticated", False):
        return NOWHERE
    cached = getattr(user, "_packbench_locations", None)
    if cached is not None:
        return cached
    if has_role(user, ADMIN):
        found = EVERYWHERE
    else:
        ids = getattr(user, "_packbench_location_ids", None)  # read with the user (accounts.backends)
        if ids is None:
            ids = frozenset(user.location_memberships.values_list("location_id", flat=True))
        found = Locations(ids=ids) if ids else (EVERYWHERE if floor_has_one_location() else NOWHERE)
    user._packbench_locations = found
    return found


def can_see_location(user, location_id) -> bool:
    return location_id in locations_of(user)


def can_see_shipment(user, shipment) -> bool:
    return can_see_location(user, shipment.location_id)


def members_of(locations: Locations) -> Q:
    """Which users belong to any of `locations` (a filter on the user model; admins are not added)."""
    if locations.everywhere:
        return Q()
    members = Q(location_memberships__location_id__in=locations.ids)
    if floor_has_one_location():
        members |= Q(location_memberships__isnull=True)  # they belong to the floor's one location
    return members
