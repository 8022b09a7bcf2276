"""Claiming, renewing and releasing shipments.

Every change happens inside a transaction that holds the claim row's lock
(SELECT ... FOR UPDATE), and a new claim relies on the one-claim-per-shipment unique
key: when two packers open the same free shipment at once, exactly one INSERT wins and
the other sees the winner's live claim.
"""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from fulfillment.shipments.models import ShipmentEvent
from fulfillment.shipments.services import record_event

from .errors import ClaimedByOther, NotClaimed
from .models import Claim


def lease_duration():
    return timedelta(seconds=getattr(settings, "CLAIM_LEASE_SECONDS", 90))


def _locked_claim(shipment):
    return Claim.objects.select_for_update().select_related("user").filter(shipment=shipment).first()


def claim(shipment, user):
    """Give `user` the shipment, or renew the lease they already hold.

    Raises ClaimedByOther while someone else's lease is live. A lapsed lease is taken over.
    """
    now = timezone.now()
    with transaction.atomic():
        current = _locked_claim(shipment)
        if current is None:
            try:
                with transaction.atomic():  # savepoint: a lost INSERT race must not spoil the outer transaction
                    created = Claim.objects.create(
                        shipment=shipment, user=user, claimed_at=now, lease_expires_at=now + lease_duration()
                    )
            except IntegrityError:
                # Someone inserted first; their row is committed by now (we waited on the unique key).
                current = _locked_claim(shipment)
            else:
                record_event(shipment, ShipmentEvent.Kind.CLAIM, f"Claimed by {user.get_username()}", user=user)
                return created
        if current.user_id != user.pk and current.is_live(now):
            raise ClaimedByOther(current)
        if current.user_id != user.pk:
            previous = current.user.get_username()
            current.user, current.claimed_at = user, now
            message = f"Claimed by {user.get_username()} after {previous}'s lease ran out"
            record_event(shipment, ShipmentEvent.Kind.CLAIM, message, user=user)
        current.lease_expires_at = now + lease_duration()
        current.save(update_fields=["user", "claimed_at", "lease_expires_at"])
        return current


def renew(shipment, user):
    """Keep the lease `user` holds alive (the shipment page's heartbeat).

    Raises NotClaimed when the claim was released or another user has taken it over, so a
    page left open never silently reclaims a shipment a supervisor released. A lapsed lease
    nobody took is renewed: the packer simply lost connection for a moment.
    """
    now = timezone.now()
    with transaction.atomic():
        current = _locked_claim(shipment)
        if current is None and shipment.is_closed:
            return None  # ended when the shipment was shipped: the open page has nothing to keep alive
        if current is None or current.user_id != user.pk:
            raise NotClaimed()
        current.lease_expires_at = now + lease_duration()
        current.save(update_fields=["lease_expires_at"])
        return current


def release(shipment, by_user):
    """Free the shipment (a supervisor's release, or a packer letting go of their own).

    Returns the released claim, or None when nobody held it.
    """
    with transaction.atomic():
        current = _locked_claim(shipment)
        if current is None:
            return None
        holder = current.user.get_username()
        current.delete()
        if by_user.pk == current.user_id:
            message = f"Released by {holder}"
        else:
            message = f"{by_user.get_username()} released {holder}'s claim"
        record_event(shipment, ShipmentEvent.Kind.RELEASE, message, user=by_user)
        return current


def release_finished(shipment):
    """A shipment marked shipped (or cancelled) needs nobody any more: its claim ends now, not when
    the lease runs out, so the board shows nobody holding it. Returns the ended claim, or None."""
    with transaction.atomic():
        current = _locked_claim(shipment)
        if current is None:
            return None
        current.delete()
        record_event(shipment, ShipmentEvent.Kind.RELEASE,
                     f"Released from {current.user.get_username()}: the shipment is done", user=None)
        return current


def assert_can_act(shipment, user):
    """Call before any change a user makes to a shipment: holds (or renews) their claim. A shipped
    or cancelled shipment is nobody's to hold (a label reprinted after shipping claims nothing).

    Raises ClaimedByOther (with `.packer_message`) while another user's lease is live.
    """
    if shipment.is_closed:
        return None
    return claim(shipment, user)
