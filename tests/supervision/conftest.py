from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from fulfillment.accounts import roles
from fulfillment.shipments.models import Programme, ShipmentEvent, ShipmentStep, Status
from tests.browser.conftest import label_printer  # noqa: F401  the station's Zebra: a listening socket

from . import factories as f

Kind, State = ShipmentStep.Kind, ShipmentStep.State
# A fixed moment on the hour's half, so hourly buckets never depend on when the suite runs.
NOW = datetime(2026, 3, 10, 12, 30, tzinfo=UTC)
H = timedelta(hours=1)
M = timedelta(minutes=1)


@dataclass
class Floor:
    now: datetime
    packer_a: object
    packer_b: object
    supervisor: object
    overdue: object
    at_risk_soon: object
    at_risk_edge: object
    stuck: object
    on_time: object
    shipped_a1: object
    shipped_a2: object
    shipped_b: object
    cancelled_confirmed: object
    cancelled_unconfirmed: object


@pytest.fixture
def floor(db):
    """A known floor at NOW (at-risk window 2 h, stuck after 4 h)."""
    packer_a, packer_b = f.user("anna"), f.user("ben")
    supervisor = f.user("sofia", roles.SUPERVISOR)
    s = dict(now=NOW)
    floor = Floor(
        now=NOW, packer_a=packer_a, packer_b=packer_b, supervisor=supervisor,
        overdue=f.shipment(**s, status=Status.ACCEPTED, ship_by_in=-1 * H),
        at_risk_soon=f.shipment(**s, status=Status.CONFIRMED, ship_by_in=30 * M),
        at_risk_edge=f.shipment(**s, status=Status.PACKAGE_CREATED, location="LOC-2", programme=Programme.SELF_SHIP,
                                ship_by_in=119 * M),
        stuck=f.shipment(**s, status=Status.ACCEPTED, programme=Programme.SELLER_FLEX, ship_by_in=5 * H,
                         status_since=NOW - 10 * H),
        on_time=f.shipment(**s, status=Status.INVOICE_GENERATED, ship_by_in=3 * H),
        shipped_a1=f.shipment(**s, status=Status.SHIPPED, ship_by_in=-2 * H),
        shipped_a2=f.shipment(**s, status=Status.SHIPPED, ship_by_in=-2 * H),
        shipped_b=f.shipment(**s, status=Status.SHIPPED, location="LOC-2", programme=Programme.SELF_SHIP, ship_by_in=1 * H),
        cancelled_confirmed=f.shipment(**s, status=Status.CANCELLED, location="LOC-2", programme=Programme.SELF_SHIP,
                                       ship_by_in=-3 * H),
        cancelled_unconfirmed=f.shipment(**s, status=Status.CANCELLED, ship_by_in=-3 * H),
    )
    # "stuck" has sat in ACCEPTED for 5 h according to our own record (wins over Amazon's timestamp).
    f.event(floor.stuck, ShipmentEvent.Kind.STATUS_CHANGED, "Now ACCEPTED", at=NOW - 5 * H)
    # "on_time" changed status 1 h ago although Amazon's last update is 10 h old: not stuck.
    floor.on_time.amazon_last_updated = NOW - 10 * H
    floor.on_time.save(update_fields=["amazon_last_updated"])
    f.event(floor.on_time, ShipmentEvent.Kind.STATUS_CHANGED, "Now INVOICE_GENERATED", at=NOW - 1 * H)

    # Throughput: anna ships two in the 09:00 hour, ben one in the 11:00 hour; one shipped yesterday is outside.
    f.step(floor.shipped_a1, Kind.SHIP, State.SUCCEEDED, at=NOW - 3 * H, by=packer_a)           # 09:30
    f.step(floor.shipped_a2, Kind.SHIP, State.SUCCEEDED, at=NOW - 3 * H + 10 * M, by=packer_a)  # 09:40
    f.step(floor.shipped_b, Kind.SHIP, State.SUCCEEDED, at=NOW - 1 * H, by=packer_b)            # 11:30
    f.step(floor.shipped_b, Kind.SHIP, State.FAILED, at=NOW - 70 * M, by=packer_b)  # failed first, then done
    old = f.shipment(**s, status=Status.SHIPPED, ship_by_in=-30 * H)
    f.step(old, Kind.SHIP, State.SUCCEEDED, at=NOW - 26 * H, by=packer_b)

    # Failed steps: one open failure; one failure done again since; one on a cancelled shipment (nobody can fix it).
    f.step(floor.at_risk_soon, Kind.LABELS, State.FAILED, at=NOW - 20 * M, by=packer_a,
           error_code="InvalidInput", error_message="Amazon refused the label: weight missing.")
    f.step(floor.on_time, Kind.INVOICE, State.FAILED, at=NOW - 2 * H, by=packer_b)
    f.step(floor.on_time, Kind.INVOICE, State.SUCCEEDED, at=NOW - 1 * H, by=packer_b)
    f.step(floor.cancelled_confirmed, Kind.CONFIRM, State.SUCCEEDED, at=NOW - 6 * H, by=packer_a)
    f.step(floor.cancelled_confirmed, Kind.CREATE_PACKAGES, State.FAILED, at=NOW - 5 * H, by=packer_a)

    # Amazon calls in the last 12 h: two throttled, one 500, one timeout, one success; one error from yesterday.
    f.amazon_call(at=NOW - 2 * H, operation="getShipments", http_status=429, error_code="QuotaExceeded")
    f.amazon_call(at=NOW - 1 * H, operation="getShipments", http_status=429, error_code="QuotaExceeded")
    f.amazon_call(at=NOW - 30 * M, operation="createPackages", http_status=500, shipment_id=floor.at_risk_edge.amazon_id,
                  error_code="InternalFailure")
    f.amazon_call(at=NOW - 20 * M, operation="generateShipLabels", http_status=None,
                  shipment_id=floor.at_risk_soon.amazon_id)
    f.amazon_call(at=NOW - 10 * M, operation="getShipment", http_status=200, shipment_id=floor.overdue.amazon_id)
    f.amazon_call(at=NOW - 20 * H, operation="getShipments", http_status=429, error_code="QuotaExceeded")
    return floor
