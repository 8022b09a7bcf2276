"""What a signed-in user's requests need to know of them before any view runs (their roles, their
locations, the floor's shape), kept in the cache between requests.

Every request of the floor asks (a packer's page polls every second), and each answer was a query.
With Redis configured the answers are kept there under a generation number; anything that changes
them through the ORM (a group, a membership, a station: admin pages, services, the shell) starts a
new generation, so the next request reads them afresh. Entries also expire after
ACCESS_CACHE_SECONDS, for a change made behind the signals' back (raw SQL, queryset.update(),
bulk_create()): the admin pages and the services never do. Without Redis (the embedded
default) the cache is the database itself, so nothing is kept: each request reads the rows.

What is kept is read by `roles.has_role` and `locations.locations_of`; the rules stay there. The
station a browser chose is read afresh each request (its bounds and printers must count at once).
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache

ACCESS_CACHE_SECONDS = 60
_GENERATION = "packbench:access:generation"


def enabled() -> bool:
    return bool(getattr(settings, "REDIS_URL", ""))


def _generation() -> int:
    return cache.get(_GENERATION) or 0


def new_generation(**_signal_kwargs) -> None:
    """Forget every kept answer (a signal receiver: see AccountsConfig.ready)."""
    if not enabled():
        return
    try:
        cache.incr(_GENERATION)
    except ValueError:  # no generation yet
        cache.add(_GENERATION, 1, timeout=None) or cache.incr(_GENERATION)


def remembered(user, name: str, compute):
    """`compute()`, kept under `name` for this generation (read once per request: kept on `user`)."""
    if not enabled():
        return compute()
    generation = user.__dict__.get("_packbench_generation")
    if generation is None:
        generation = user._packbench_generation = _generation()
    key = f"packbench:access:{generation}:{name}"
    found = cache.get(key)
    if found is None:
        found = compute()
        cache.set(key, found, ACCESS_CACHE_SECONDS)
    return found


def user_facts(user) -> dict:
    """{"roles": the user's group names, "memberships": their location ids}, both frozensets."""
    facts = user.__dict__.get("_packbench_facts")
    if facts is None:
        facts = user._packbench_facts = remembered(user, f"user:{user.pk}", lambda: {
            "roles": frozenset(user.groups.values_list("name", flat=True)),
            "memberships": frozenset(user.location_memberships.values_list("location_id", flat=True)),
        })
    return facts
