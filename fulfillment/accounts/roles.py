"""The three roles of a packing floor, as Django groups.

A packer works the station screens; a supervisor sees everything and may release or
re-queue work; an admin sets the floor up. Superusers count as admins.
"""

from functools import wraps

from django.core.exceptions import PermissionDenied

PACKER = "Packers"
SUPERVISOR = "Supervisors"
ADMIN = "Admins"
ROLES = (PACKER, SUPERVISOR, ADMIN)


def has_role(user, *roles):
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    # Cached on the user object: templates and views ask several times per request.
    if not hasattr(user, "_packbench_roles"):
        remember_roles(user, user.groups.values_list("name", flat=True))
    return bool(user._packbench_roles.intersection(roles))


def remember_roles(user, group_names) -> None:
    """The user's groups for the rest of this request (the sign-in backend reads them with the user)."""
    user._packbench_roles = set(group_names)


def role_required(*roles):
    """View decorator: 403 unless the signed-in user holds one of `roles`."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not has_role(request.user, *roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
