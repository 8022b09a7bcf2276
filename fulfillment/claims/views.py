from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from fulfillment.accounts.locations import locations_of
from fulfillment.accounts.roles import ADMIN, PACKER, ROLES, SUPERVISOR, has_role
from fulfillment.shipments.models import Shipment

from . import services
from .errors import ClaimError
from .selectors import claim_state


def _shipment_or_404(request, pk):
    """A shipment of the user's locations; another location's is not found (accounts.locations)."""
    return get_object_or_404(locations_of(request.user).filter(Shipment.objects.all()), pk=pk)


@require_http_methods(["GET", "POST"])
def heartbeat(request, pk):
    """The shipment page's claim panel. GET shows who holds the shipment; POST with
    mode=open|take claims it, mode=renew keeps the user's lease alive (every 30 s)."""
    if not has_role(request.user, *ROLES):
        raise PermissionDenied
    if request.method == "POST" and not has_role(request.user, PACKER, ADMIN):
        raise PermissionDenied  # supervisors watch and release; they do not take shipments
    shipment = _shipment_or_404(request, pk)
    problem = None
    if request.method == "POST":
        mode = request.POST.get("mode", "renew")
        try:
            if mode in ("open", "take"):
                services.claim(shipment, request.user)
            else:
                services.renew(shipment, request.user)
        except ClaimError as exc:
            problem = exc.packer_message
    context = claim_state(shipment, request.user)
    context["problem"] = problem
    return render(request, "claims/claim_status.html", context)


@require_POST
def release(request, pk):
    """A supervisor frees a shipment someone holds (a packer may also let go of their own)."""
    shipment = _shipment_or_404(request, pk)
    state = claim_state(shipment, request.user)
    if not (has_role(request.user, SUPERVISOR, ADMIN) or state["state"] == "mine"):
        raise PermissionDenied
    released = services.release(shipment, request.user)
    if request.htmx:
        return render(request, "claims/claim_status.html", claim_state(shipment, request.user))
    if released is None:
        messages.info(request, f"Nobody held shipment {shipment.amazon_id}.")
    else:
        messages.success(request, f"Shipment {shipment.amazon_id} released from {released.user.get_username()}.")
    target = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    if not safe:
        target = "home"
    return redirect(target)
