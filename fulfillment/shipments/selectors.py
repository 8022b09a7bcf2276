"""Read-only queries for the station screens, each with what it shows prefetched (no N+1)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import (
    Case,
    Count,
    IntegerField,
    Max,
    Min,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
    Window,
)
from django.utils import timezone

from fulfillment.documents.models import Document
from fulfillment.stations.selectors import seller_account_name_for_location

from . import workflow
from .models import (
    Package,
    PackageLineItem,
    SerialNumber,
    Shipment,
    ShipmentEvent,
    ShipmentStep,
    ShippingOption,
    SyncCursor,
)
from .programmes import SYNC_STATUSES

_PRIORITY_ORDER = Case(When(priority="HIGH", then=Value(0)), default=Value(1), output_field=IntegerField())


# How many shipments the queue shows, the earliest ship-by first. A backlog can be any size; a packer
# works from the top, and scans or types an id to open any other one. Drawing every row made the page
# and its 10 s poll grow with the backlog (about 0.2 ms a row).
QUEUE_SHOWN = 100

# What a queue row shows. Only these are loaded: a shipment has about 50 columns, JSON among them.
_QUEUE_COLUMNS = ("amazon_id", "buyer_order_id", "programme", "status", "ship_by", "priority", "units_count",
                  "requires_serials", "has_hazmat", "gift_wrap", "multi_piece", "shipment_type")


@dataclass(frozen=True)
class StationQueue:
    shipments: list[Shipment]  # the first QUEUE_SHOWN (or `limit`)
    total: int  # every open shipment at the location, shown or not

    @property
    def more(self) -> int:
        """Open shipments not shown: they move up as the ones shown are shipped."""
        return self.total - len(self.shipments)


def queue_for_location(location_id: str, *, statuses=workflow.OPEN_STATUSES, limit: int = QUEUE_SHOWN) -> StationQueue:
    """The station's work: accepted and in-progress shipments of a location, the earliest ship-by
    first, then HIGH priority; the first `limit` of them and how many there are in all, in one query
    (the count is a window over the same rows, taken before the limit). Rows carry only the columns
    the queue shows (`_QUEUE_COLUMNS`): reading any other field costs a query per row."""
    shipments = list(
        Shipment.objects.filter(location_id=location_id, status__in=statuses)
        .only(*_QUEUE_COLUMNS)
        .annotate(priority_rank=_PRIORITY_ORDER, open_total=Window(Count("*")))
        .order_by("ship_by", "priority_rank", "id")[:limit]
    )
    return StationQueue(shipments, shipments[0].open_total if shipments else 0)


def find_shipment(code: str, *, location_id: str | None = None) -> Shipment | None:
    """The shipment a scanned or typed code names: Amazon shipment id, buyer order id or the tracking
    number of one of its packages (how a printed label is found again). An order split into several
    shipments gives the first open one (earliest ship-by)."""
    code = (code or "").strip()
    if not code:
        return None
    shipments = Shipment.objects.all()
    if location_id:
        shipments = shipments.filter(location_id=location_id)
    exact = shipments.filter(amazon_id=code).first()
    if exact:
        return exact
    tracked = Package.objects.filter(tracking_id=code).values("shipment_id")
    return (
        shipments.filter(Q(buyer_order_id=code) | Q(pk__in=tracked))
        .annotate(closed=Case(When(status__in=workflow.CLOSED_STATUSES, then=Value(1)), default=Value(0),
                              output_field=IntegerField()))
        .order_by("closed", "ship_by", "id")
        .first()
    )


def shipments_for_order(buyer_order_id: str) -> QuerySet[Shipment]:
    """Every shipment of one buyer order (an order may be split)."""
    return Shipment.objects.filter(buyer_order_id=buyer_order_id).order_by("ship_by", "id")


RECENT_STEPS = 10


def shipment_detail(amazon_id: str) -> Shipment:
    """One shipment with everything its page shows. Raises Shipment.DoesNotExist.

    Every open page and action renders it, so its cost is counted (bench_throughput): building a
    nested or sliced Prefetch costs more CPU than its query, hence the latest steps in a query of their own."""
    shipment = (
        Shipment.objects.select_related("selected_shipping_option")
        .prefetch_related(
            "line_items",
            Prefetch("packages", queryset=Package.objects.order_by("position", "id").prefetch_related(
                Prefetch("items", queryset=PackageLineItem.objects.select_related("line_item")))),
            Prefetch("shipping_options", queryset=ShippingOption.objects.select_related("package")),
            Prefetch("documents", queryset=Document.objects.filter(superseded=False)
                     .defer("content", "printable_pdf").select_related("package"), to_attr="current_documents"),
        )
        .get(amazon_id=amazon_id)
    )
    # The page shows where the shipment stands, not its whole past: the latest steps only
    # (a step is open for seconds; the supervisor's history page lists them all).
    shipment.recent_steps = list(shipment.steps.select_related("requested_by").order_by("-created_at", "-id")
                                 [:RECENT_STEPS])
    return shipment


def shipment_for_action(amazon_id: str) -> Shipment:
    """The shipment's row and lines, for a button the packer pressed: the service re-reads what it
    needs under its lock and the answer renders the page from `shipment_detail`. Raises DoesNotExist."""
    return Shipment.objects.prefetch_related("line_items").get(amazon_id=amazon_id)


def shipment_by_pk(pk: int) -> Shipment:
    return shipment_detail(Shipment.objects.values_list("amazon_id", flat=True).get(pk=pk))


def open_steps(shipment: Shipment) -> QuerySet[ShipmentStep]:
    """Steps still PENDING or RUNNING (the progress poll shows these)."""
    return shipment.steps.filter(status__in=ShipmentStep.OPEN_STATES).order_by("created_at", "id")


def shipment_for_polling(amazon_id: str) -> Shipment:
    """What a poll reads of the shipment (the station check, its id and status; no lines, packages,
    documents or steps): the floor's most frequent read, and the ORM's cost grows with the columns.
    Raises Shipment.DoesNotExist."""
    # programme and marketplace: the checklist a chain poll redraws when the status moved on.
    return (Shipment.objects.only("id", "amazon_id", "location_id", "status", "programme", "marketplace_id")
            .get(amazon_id=amazon_id))


def chain_for_polling(shipment: Shipment, chain: str) -> workflow.ChainProgress | None:
    """Where the shipment's Pack & label chain stands, for its poll: the latest steps' rows and, only
    once the chain's last step has ended, the events that may say how it ended."""
    steps = list(shipment.steps.order_by("-created_at", "-id")[:RECENT_STEPS])
    events = shipment.events.order_by("-created_at", "-id")[:RECENT_STEPS]  # lazy: read only when needed
    return workflow.chain_progress(steps, events, chain=chain, now=timezone.now())


def step_for_polling(step_id: int) -> ShipmentStep:
    """One step's row, for an HTMX poll of its progress (its shipment is read by the view). Raises DoesNotExist."""
    return ShipmentStep.objects.get(pk=step_id)


def latest_step(shipment: Shipment, kind: str | None = None) -> ShipmentStep | None:
    steps = shipment.steps.all()
    if kind:
        steps = steps.filter(kind=kind)
    return steps.order_by("-created_at", "-id").first()


def recent_events(shipment: Shipment, limit: int = 50) -> list[ShipmentEvent]:
    return list(shipment.events.select_related("user").order_by("-created_at", "-id")[:limit])


def current_documents(shipment: Shipment, kind: str | None = None) -> QuerySet[Document]:
    """The documents in force (not superseded), without their bytes."""
    documents = shipment.documents.filter(superseded=False).select_related("package").defer("content", "printable_pdf")
    if kind:
        documents = documents.filter(kind=kind)
    return documents.order_by("kind", "package__position", "-fetched_at")


def document_for_download(document_id: int) -> Document:
    """A document with its bytes (for download, print preview or the printer). Raises DoesNotExist."""
    return Document.objects.select_related("shipment", "package").get(pk=document_id)


def serials_used_elsewhere(serials, *, exclude_shipment: Shipment | None = None,
                           named_at: str | None = None) -> dict[str, str]:
    """serial -> Amazon id of the other shipment that already holds it (cancelled ones do not count).
    With `named_at` (a location id), a shipment of any other location is not named: its id is ""
    (a packer never learns another location's shipment ids, accounts.locations)."""
    rows = SerialNumber.objects.filter(serial__in=list(serials), released=False)
    if exclude_shipment is not None:
        rows = rows.exclude(shipment=exclude_shipment)
    return {serial: amazon_id if named_at is None or location_id == named_at else ""
            for serial, amazon_id, location_id in rows.values_list("serial", "shipment__amazon_id",
                                                                   "shipment__location_id")}


def shipping_choices(shipment: Shipment) -> list[ShippingOption]:
    """The shipping options as the packer chooses among them: one per carrier (name, ship-by,
    method). Amazon offers options per package, mostly the same carriers for each; the option of
    the first package stands for its carrier (the labels name each package's own option of it,
    see services.documents.label_option_id). Recommended first, then by pickup."""
    first = {}
    for option in sorted(shipment.shipping_options.all(),
                         key=lambda o: (o.package.position if o.package_id else 0, o.pk)):
        first.setdefault((option.carrier_name, option.ship_by, option.ship_method), option)
    return sorted(first.values(), key=lambda o: (not o.is_recommended, o.pickup_start is None,
                                                 o.pickup_start or o.retrieved_at, o.pk))


@dataclass(frozen=True)
class SyncState:
    """How fresh a location's shipments are: the start of the oldest complete read among its seller
    account's statuses (None until every status was read once), and the last failure, if any."""

    last_synced_at: datetime | None
    last_error: str = ""


def sync_state(location_id: str) -> SyncState:
    cursors = SyncCursor.objects.filter(seller_account=seller_account_name_for_location(location_id),
                                        status__in=SYNC_STATUSES)
    rows = list(cursors.values_list("last_synced_at", "last_error"))
    complete = len(rows) == len(SYNC_STATUSES) and all(synced for synced, _ in rows)
    return SyncState(min(synced for synced, _ in rows) if complete else None,
                     next((error for _, error in rows if error), ""))


def amazon_view_is_fresh(shipment: Shipment, now=None) -> bool:
    """Whether Amazon's view of the shipment is recent enough that opening its page need not ask
    Amazon: stored by a sync or refresh, written by a step, or covered by a complete sync of its
    seller account, within SHIPMENT_FRESH_SECONDS."""
    now = now or timezone.now()
    since = now - timedelta(seconds=getattr(settings, "SHIPMENT_FRESH_SECONDS", 120))
    if shipment.synced_at and shipment.synced_at >= since:
        return True
    steps = getattr(shipment, "recent_steps", None)
    if steps is not None:
        written = max((s.finished_at for s in steps if s.status == ShipmentStep.State.SUCCEEDED and s.finished_at),
                      default=None)
    else:
        written = shipment.steps.filter(status=ShipmentStep.State.SUCCEEDED).aggregate(at=Max("finished_at"))["at"]
    if written and written >= since:
        return True
    # Every status read since `since`: a change of this shipment at Amazon would have been stored.
    account = shipment.seller_account or settings.AMAZON_SELLER_ACCOUNT
    cursors = SyncCursor.objects.filter(seller_account=account, status__in=SYNC_STATUSES)
    oldest = cursors.aggregate(n=Count("last_synced_at"), at=Min("last_synced_at"))
    return oldest["n"] == len(SYNC_STATUSES) and oldest["at"] is not None and oldest["at"] >= since
