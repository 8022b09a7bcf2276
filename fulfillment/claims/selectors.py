from django.conf import settings
from django.utils import timezone

from fulfillment.accounts.roles import ADMIN, PACKER, SUPERVISOR, has_role

from .models import Claim


def live_claim(shipment, now=None):
    """The claim currently in force on the shipment, or None (no claim or a lapsed lease)."""
    found = Claim.objects.select_related("user").filter(shipment=shipment).first()
    return found if found is not None and found.is_live(now or timezone.now()) else None


def claim_state(shipment, user, now=None):
    """What the claim panel shows `user`: state is mine, other or free."""
    current = live_claim(shipment, now)
    if current is None:
        state = "free"
    elif current.user_id == user.pk:
        state = "mine"
    else:
        state = "other"
    return {
        "shipment": shipment,
        "claim": current,
        "state": state,
        # Claiming is packing work: supervisors watch and release, they do not take shipments.
        "can_claim": has_role(user, PACKER, ADMIN) and not shipment.is_closed,
        "can_release": current is not None and (state == "mine" or has_role(user, SUPERVISOR, ADMIN)),
        "heartbeat_seconds": getattr(settings, "CLAIM_HEARTBEAT_SECONDS", 30),
    }
