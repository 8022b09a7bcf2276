"""Claims: one packer at a time per shipment, a lease that lapses, supervisors release."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from fulfillment.accounts import roles
from fulfillment.claims import services
from fulfillment.claims.errors import ClaimedByOther, NotClaimed
from fulfillment.claims.models import Claim
from fulfillment.claims.selectors import live_claim
from fulfillment.shipments.models import ShipmentEvent
from tests.supervision import factories as f


@pytest.fixture
def people(db):
    return f.user("anna"), f.user("ben"), f.user("sofia", roles.SUPERVISOR)


@pytest.fixture
def shipment(db):
    return f.shipment(now=timezone.now(), ship_by_in=timedelta(hours=3))


def _lapse(shipment):
    Claim.objects.filter(shipment=shipment).update(lease_expires_at=timezone.now() - timedelta(seconds=1))


def test_opening_claims_and_another_packer_is_told_who_has_it(people, shipment):
    anna, ben, _ = people
    claim = services.claim(shipment, anna)
    assert claim.user == anna
    assert timedelta(seconds=85) < claim.lease_expires_at - timezone.now() <= timedelta(seconds=90)
    with pytest.raises(ClaimedByOther) as refused:
        services.assert_can_act(shipment, ben)
    assert "anna is working on this shipment" in refused.value.packer_message
    assert "supervisor" in refused.value.packer_message
    services.assert_can_act(shipment, anna)  # the holder carries on
    assert live_claim(shipment).user == anna
    assert list(shipment.events.values_list("kind", "user__username")) == [("CLAIM", "anna")]


def test_renewing_keeps_the_lease_alive_without_new_history(people, shipment, settings):
    anna, _, _ = people
    settings.CLAIM_LEASE_SECONDS = 600
    first = services.claim(shipment, anna)
    Claim.objects.filter(pk=first.pk).update(lease_expires_at=timezone.now() + timedelta(seconds=5))
    renewed = services.renew(shipment, anna)
    assert renewed.lease_expires_at - timezone.now() > timedelta(seconds=590)
    assert renewed.claimed_at == first.claimed_at
    assert shipment.events.count() == 1


def test_a_lapsed_lease_frees_the_shipment(people, shipment):
    anna, ben, _ = people
    services.claim(shipment, anna)
    _lapse(shipment)
    assert live_claim(shipment) is None
    taken = services.claim(shipment, ben)
    assert taken.user == ben
    assert shipment.events.order_by("id").last().message == "Claimed by ben after anna's lease ran out"
    with pytest.raises(NotClaimed):
        services.renew(shipment, anna)  # anna's page comes back: she is told, not given it back


def test_a_supervisor_releases_and_the_packers_page_does_not_take_it_back(people, shipment):
    anna, ben, sofia = people
    services.claim(shipment, anna)
    released = services.release(shipment, sofia)
    assert released.user == anna
    assert not Claim.objects.filter(shipment=shipment).exists()
    event = shipment.events.get(kind="RELEASE")
    assert event.user == sofia and event.message == "sofia released anna's claim"
    with pytest.raises(NotClaimed):
        services.renew(shipment, anna)
    assert services.claim(shipment, ben).user == ben
    assert services.release(f.shipment(now=timezone.now()), sofia) is None  # nothing to release


def _race(shipment_id, users):
    """Every user calls claim() at the same instant from their own thread (own DB connection)."""
    from fulfillment.shipments.models import Shipment

    barrier = threading.Barrier(len(users))
    winners, refused, crashed = [], [], []

    def attempt(user):
        try:
            target = Shipment.objects.get(pk=shipment_id)
            barrier.wait(timeout=10)
            services.claim(target, user)
            winners.append(user.username)
        except ClaimedByOther as exc:
            refused.append(exc.holder.username)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            crashed.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return winners, refused, crashed


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_packers_racing_for_a_shipment_exactly_one_wins():
    assert connection.vendor == "postgresql"
    packers = [f.user(f"racer{i}") for i in range(8)]
    for round_ in range(5):
        target = f.shipment(now=timezone.now())
        if round_ % 2:
            # Odd rounds race to take over a lapsed lease (the locked-row path, not the INSERT).
            services.claim(target, packers[0])
            _lapse(target)
        contenders = packers[1:]
        winners, refused, crashed = _race(target.pk, contenders)
        assert crashed == []
        assert len(winners) == 1, winners
        assert len(refused) == len(contenders) - 1 and set(refused) == set(winners)
        assert Claim.objects.get(shipment=target).user.username == winners[0]
        claim_events = ShipmentEvent.objects.filter(shipment=target, kind="CLAIM")
        assert claim_events.filter(user__username=winners[0]).count() == 1
        assert claim_events.count() == (2 if round_ % 2 else 1)


def test_a_shipped_shipment_ends_its_claim_and_nobody_takes_it_again(people, shipment):
    """Issue 9, defect 8: a packer's claim stayed on a shipped shipment until its lease ran out."""
    anna, _, _ = people
    services.claim(shipment, anna)
    shipment.status = "SHIPPED"
    shipment.save(update_fields=["status"])
    assert services.release_finished(shipment).user == anna
    assert live_claim(shipment) is None
    assert ShipmentEvent.objects.filter(shipment=shipment, kind="RELEASE", message__contains="done").exists()
    assert services.renew(shipment, anna) is None  # the open page's heartbeat keeps nothing alive, raises nothing
    assert services.assert_can_act(shipment, anna) is None and not Claim.objects.exists()
    assert services.release_finished(shipment) is None
