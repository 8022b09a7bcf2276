"""Shipments, users and activity for the supervision and claims tests, written straight to the database."""

import itertools
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from fulfillment.accounts import roles
from fulfillment.amazon.models import AmazonCall
from fulfillment.shipments.models import Programme, Shipment, ShipmentEvent, ShipmentStep, Status

_numbers = itertools.count(1)
PASSWORD = "a-long-test-password-1"


def user(username, role=roles.PACKER):
    account = get_user_model().objects.create_user(username=username, password=PASSWORD)
    account.groups.add(Group.objects.get_or_create(name=role)[0])
    return account


def shipment(*, now, status=Status.ACCEPTED, location="LOC-1", programme=Programme.EASY_SHIP, ship_by_in=None,
             status_since=None, **fields):
    """A shipment; `ship_by_in` is relative to `now`, `status_since` is when it entered its status."""
    n = next(_numbers)
    values = {
        "amazon_id": f"SHIP-{n:05d}",
        "buyer_order_id": f"403-{n:07d}-0000001",
        "location_id": location,
        "marketplace_id": "A21TJRUUN4KGV",
        "channel_name": "MFN",
        "programme": programme,
        "status": status,
        "ship_by": None if ship_by_in is None else now + ship_by_in,
        "amazon_last_updated": status_since or now - timedelta(minutes=10),
    }
    values.update(fields)
    return Shipment.objects.create(**values)


def step(target, kind, state, *, at, by=None, error_code="", error_message=""):
    return ShipmentStep.objects.create(
        shipment=target, kind=kind, status=state, requested_by=by, created_at=at - timedelta(seconds=5),
        started_at=at - timedelta(seconds=4), finished_at=at, error_code=error_code, error_message=error_message,
        attempts=1,
    )


def event(target, kind, message, *, at, by=None):
    return ShipmentEvent.objects.create(shipment=target, kind=kind, message=message, created_at=at, user=by)


def amazon_call(*, at, operation="getShipment", http_status=200, shipment_id="", error_code="", request_id=None):
    call = AmazonCall.objects.create(
        operation=operation, method="GET", path="/externalFulfillment/2024-09-11/shipments", shipment_id=shipment_id,
        http_status=http_status, request_id=request_id or f"req-{next(_numbers)}", duration_ms=120,
        error_code=error_code, error_message="Too many requests" if http_status == 429 else "",
    )
    AmazonCall.objects.filter(pk=call.pk).update(created_at=at)  # created_at is auto_now_add
    return call


def busy_floor(now, packers):
    """A plausible day on a two-location floor: the browser test's backdrop and the screenshots' content."""
    from fulfillment.claims import services as claims

    statuses = [Status.ACCEPTED, Status.CONFIRMED, Status.PACKAGE_CREATED, Status.PICKUP_SLOT_RETRIEVED,
                Status.INVOICE_GENERATED, Status.SHIPLABEL_GENERATED]
    programmes = [Programme.EASY_SHIP, Programme.SELF_SHIP, Programme.SELLER_FLEX]
    for i in range(18):
        s = shipment(now=now, status=statuses[i % len(statuses)], programme=programmes[i % 3],
                     location="SANDBOX-LOC-1" if i % 4 else "SANDBOX-LOC-2",
                     ship_by_in=timedelta(minutes=40 + 37 * i), status_since=now - timedelta(minutes=25 * i))
        if i in (2, 7):
            claims.claim(s, packers[i % len(packers)])
        if i == 4:
            step(s, ShipmentStep.Kind.LABELS, ShipmentStep.State.FAILED, at=now - timedelta(minutes=12), by=packers[0],
                 error_code="InvalidInput", error_message="Amazon refused the label: the package weight is missing.")
            amazon_call(at=now - timedelta(minutes=12), operation="generateShipLabels", http_status=400,
                        shipment_id=s.amazon_id, error_code="InvalidInput")
    for i in range(26):
        s = shipment(now=now, status=Status.SHIPPED, programme=programmes[i % 3],
                     location="SANDBOX-LOC-1" if i % 3 else "SANDBOX-LOC-2", ship_by_in=timedelta(hours=2))
        step(s, ShipmentStep.Kind.SHIP, ShipmentStep.State.SUCCEEDED, at=now - timedelta(minutes=11 + 23 * i),
             by=packers[(i * 7) % len(packers)])
    cancelled = shipment(now=now, status=Status.CANCELLED, ship_by_in=timedelta(hours=1))
    step(cancelled, ShipmentStep.Kind.CONFIRM, ShipmentStep.State.SUCCEEDED, at=now - timedelta(hours=2), by=packers[1])
    for minutes in (3, 4, 9, 31):
        amazon_call(at=now - timedelta(minutes=minutes), operation="getShipments", http_status=429, error_code="QuotaExceeded")
    amazon_call(at=now - timedelta(minutes=50), operation="createPackages", http_status=503, error_code="ServiceUnavailable")


def worked_history(target, packer, now):
    """What a packer's morning on one shipment leaves behind: events, steps, Amazon calls, a package, documents."""
    from fulfillment.documents.models import Document
    from fulfillment.shipments.models import Package

    Kind, State = ShipmentStep.Kind, ShipmentStep.State
    t = lambda minutes: now - timedelta(minutes=minutes)  # noqa: E731
    event(target, ShipmentEvent.Kind.SYNCED, "Shipment received from Amazon (ACCEPTED).", at=t(95))
    step(target, Kind.CONFIRM, State.SUCCEEDED, at=t(80), by=packer)
    event(target, ShipmentEvent.Kind.STEP_SUCCEEDED, "Shipment confirmed.", at=t(80), by=packer)
    event(target, ShipmentEvent.Kind.SCANNED, "Scanned SKU-MUG-01 (1 of 2).", at=t(78), by=packer)
    event(target, ShipmentEvent.Kind.SCAN_REFUSED, "Scanned SKU-TEA-09: not in this shipment.", at=t(77), by=packer)
    event(target, ShipmentEvent.Kind.SCANNED, "Scanned SKU-MUG-01 (2 of 2).", at=t(76), by=packer)
    package = Package.objects.create(shipment=target, package_id="PB-1-7F3A", length=30, width=20, height=10,
                                     weight=850, state=Package.State.CONFIRMED, known_to_amazon=True)
    step(target, Kind.CREATE_PACKAGES, State.SUCCEEDED, at=t(70), by=packer)
    step(target, Kind.INVOICE, State.SUCCEEDED, at=t(66), by=packer)
    Document.objects.create(shipment=target, kind=Document.Kind.INVOICE, content=b"%PDF-1.4\n%%EOF",
                            content_type="application/pdf", original_format="PDF")
    event(target, ShipmentEvent.Kind.DOCUMENT_STORED, "Invoice stored.", at=t(66))
    step(target, Kind.LABELS, State.FAILED, at=t(60), by=packer, error_code="QuotaExceeded",
         error_message="Amazon is busy (too many requests). Wait a minute, then press Generate labels again.")
    event(target, ShipmentEvent.Kind.STEP_FAILED, "Generate labels failed: Amazon is busy.", at=t(60), by=packer)
    for minutes, operation, status, code in [
        (95, "getShipment", 200, ""), (80, "processShipment", 204, ""), (70, "createPackages", 204, ""),
        (66, "generateInvoice", 200, ""), (61, "generateShipLabels", 429, "QuotaExceeded"),
        (60, "generateShipLabels", 429, "QuotaExceeded"),
    ]:
        amazon_call(at=t(minutes), operation=operation, http_status=status, shipment_id=target.amazon_id,
                    error_code=code, request_id=f"a1b2c3d4-{minutes:04d}-4e5f-9a8b-{operation[:6].lower()}")
    return package
