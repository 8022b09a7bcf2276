"""What the supervisor's board and history pages show, as plain functions over the database.

Every figure is aggregated in SQL (one query per panel), so a busy floor costs the same number
of queries as an empty one. Only the status table and the total read the whole history (from
`shipment_board_idx` alone); the alert figures read the open shipments (`shipment_open_idx`), so
months of shipped orders do not slow the board down (bench/bench_pages.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, TruncHour
from django.utils import timezone

from fulfillment.amazon.models import AmazonCall
from fulfillment.claims.models import Claim
from fulfillment.documents.models import Document
from fulfillment.shipments.models import Package, Shipment, ShipmentEvent, ShipmentStep, Status
from fulfillment.shipments.workflow import CLOSED_STATUSES

# Shipments nobody can pack any more: they are not at risk, overdue or stuck.
FINISHED_STATUSES = (*CLOSED_STATUSES, Status.UNFULFILLABLE)
THROTTLED = 429
LIST_LIMIT = 25


def at_risk_window():
    return timedelta(minutes=getattr(settings, "SUPERVISION_AT_RISK_MINUTES", 120))


def stuck_after():
    return timedelta(minutes=getattr(settings, "SUPERVISION_STUCK_MINUTES", 240))


@dataclass(frozen=True)
class BoardFilters:
    location: str = ""
    programme: str = ""
    status: str = ""
    packer: int | None = None
    day: date | None = None  # ship-by day; also the day the throughput charts show
    q: str = ""  # shipment id, buyer order id or tracking id

    def window(self, now):
        """The time span the activity panels (throughput, errors) cover."""
        if self.day is None:
            return now - timedelta(hours=12), now
        start = timezone.make_aware(datetime.combine(self.day, time.min))
        return start, start + timedelta(days=1)


# --- Shipments --------------------------------------------------------------------------------


def _status_since():
    """When the shipment entered its current status: the last recorded status change, else Amazon's
    last update, else when we first saw it."""
    last_change = (
        ShipmentEvent.objects.filter(shipment=OuterRef("pk"), kind=ShipmentEvent.Kind.STATUS_CHANGED)
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    return Coalesce(Subquery(last_change), F("amazon_last_updated"), F("created_at"))


def filtered_shipments(filters: BoardFilters) -> QuerySet[Shipment]:
    qs = Shipment.objects.all()
    if filters.location:
        qs = qs.filter(location_id=filters.location)
    if filters.programme:
        qs = qs.filter(programme=filters.programme)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.packer:
        worked = ShipmentStep.objects.filter(shipment=OuterRef("pk"), requested_by=filters.packer)
        qs = qs.filter(Q(Exists(worked)) | Q(claim__user=filters.packer))
    if filters.day:
        start, end = filters.window(timezone.now())
        qs = qs.filter(ship_by__gte=start, ship_by__lt=end)
    if filters.q:
        term = filters.q.strip()
        tracked = Package.objects.filter(shipment=OuterRef("pk"), tracking_id__iexact=term)
        qs = qs.filter(
            Q(amazon_id__icontains=term) | Q(buyer_order_id__icontains=term) | Q(Exists(tracked))
        )
    return qs


def _open(qs):
    return qs.exclude(status__in=FINISHED_STATUSES)


def _confirmed_step():
    return ShipmentStep.objects.filter(
        shipment=OuterRef("pk"), kind=ShipmentStep.Kind.CONFIRM, status=ShipmentStep.State.SUCCEEDED
    )


def _alert_conditions(now):
    open_q = ~Q(status__in=FINISHED_STATUSES)
    return {
        "overdue": open_q & Q(ship_by__lt=now),
        "at_risk": open_q & Q(ship_by__gte=now, ship_by__lt=now + at_risk_window()),
        "stuck": open_q & Q(status_since__lt=now - stuck_after()),
        "cancelled_after_confirmation": Q(status=Status.CANCELLED) & Q(was_confirmed=True),
    }


def headline_counts(filters: BoardFilters, now=None, *, status_table: dict | None = None) -> dict[str, int]:
    """Total, open, overdue, at risk, stuck and cancelled-after-confirmation shipments.

    The total and the cancelled-after-confirmation figure come with the status table (pass it when
    you have it); the rest is one query over the open shipments only."""
    now = now or timezone.now()
    table = status_table if status_table is not None else status_counts(filters)
    alerts = _alert_conditions(now)
    counts = (
        _open(filtered_shipments(filters))
        .annotate(status_since=_status_since())
        .aggregate(
            open=Count("pk"),
            **{name: Count("pk", filter=alerts[name]) for name in ("overdue", "at_risk", "stuck")},
        )
    )
    return {
        "total": table["grand_total"],
        **counts,
        "cancelled_after_confirmation": table["cancelled_after_confirmation"],
    }


def alert_list(filters: BoardFilters, which: str, now=None, limit=LIST_LIMIT) -> list[Shipment]:
    """The shipments behind one headline figure, most urgent first, with whoever holds them."""
    now = now or timezone.now()
    qs = (
        filtered_shipments(filters)
        .annotate(status_since=_status_since(), was_confirmed=Exists(_confirmed_step()))
        .filter(_alert_conditions(now)[which])
        .select_related("claim__user")
    )
    order = {"stuck": ["status_since"], "cancelled_after_confirmation": ["-amazon_last_updated"]}
    return list(qs.order_by(*order.get(which, ["ship_by"]), "pk")[:limit])


def status_counts(filters: BoardFilters) -> dict:
    """Shipments by status for every location and programme: {"statuses": [...], "rows": [...]}, with
    the cancelled shipments that had been confirmed (the board's headline needs them; counted in the
    same pass, the confirmation looked up for cancelled shipments only)."""
    grouped = (
        filtered_shipments(filters)
        .values("location_id", "programme", "status")
        .annotate(
            n=Count("pk"),
            confirmed=Count("pk", filter=Q(status=Status.CANCELLED) & Q(Exists(_confirmed_step()))),
        )
        .order_by("location_id", "programme", "status")
    )
    order = {value: i for i, value in enumerate(Status.values)}
    present = set()
    rows: dict[tuple[str, str], dict] = {}
    cancelled_after_confirmation = 0
    for entry in grouped:
        cancelled_after_confirmation += entry["confirmed"]
        present.add(entry["status"])
        key = (entry["location_id"], entry["programme"])
        row = rows.setdefault(key, {"location_id": key[0], "programme": key[1], "by_status": {}, "total": 0})
        row["by_status"][entry["status"]] = entry["n"]
        row["total"] += entry["n"]
    statuses = sorted(present, key=lambda s: order.get(s, len(order)))
    programme_labels = dict(Shipment._meta.get_field("programme").choices)
    table = []
    for row in rows.values():
        row["programme_label"] = programme_labels.get(row["programme"], row["programme"])
        row["cells"] = [row["by_status"].get(s, 0) for s in statuses]
        table.append(row)
    totals = [sum(r["by_status"].get(s, 0) for r in table) for s in statuses]
    return {"statuses": statuses, "rows": table, "totals": totals, "grand_total": sum(totals),
            "cancelled_after_confirmation": cancelled_after_confirmation}


# --- Failures -----------------------------------------------------------------------------------


def failed_steps(filters: BoardFilters, limit=LIST_LIMIT) -> dict:
    """Amazon steps whose last attempt failed and that nobody has since done successfully."""
    fixed_later = ShipmentStep.objects.filter(
        shipment=OuterRef("shipment"), kind=OuterRef("kind"), created_at__gt=OuterRef("created_at"),
        status=ShipmentStep.State.SUCCEEDED,
    )
    qs = (
        ShipmentStep.objects.filter(status=ShipmentStep.State.FAILED, shipment__in=filtered_shipments(filters))
        .exclude(Exists(fixed_later))
        .exclude(shipment__status__in=FINISHED_STATUSES)
    )
    rows = list(qs.select_related("shipment", "requested_by").order_by("-created_at", "-pk")[: limit + 1])
    return {"rows": rows[:limit], "more": len(rows) > limit}


def amazon_errors(filters: BoardFilters, now=None, limit=LIST_LIMIT) -> dict:
    """Failed Amazon calls in the board's time span, grouped by operation and answer, throttling apart."""
    now = now or timezone.now()
    start, end = filters.window(now)
    qs = AmazonCall.objects.filter(created_at__gte=start, created_at__lt=end).filter(
        Q(http_status__gte=400) | Q(http_status__isnull=True)
    )
    if filters.location or filters.programme or filters.status or filters.packer or filters.q or filters.day:
        qs = qs.filter(shipment_id__in=filtered_shipments(filters).values("amazon_id"))
    groups = list(
        qs.values("operation", "http_status", "error_code")
        .annotate(n=Count("pk"))
        .order_by("-n", "operation", "http_status")
    )
    recent = list(qs.order_by("-created_at", "-pk")[:limit])
    return {
        "groups": groups,
        "recent": recent,
        "total": sum(g["n"] for g in groups),
        "throttled": sum(g["n"] for g in groups if g["http_status"] == THROTTLED),
        "start": start,
        "end": end,
    }


# --- Throughput ---------------------------------------------------------------------------------


def _shipped_steps(filters: BoardFilters, start, end):
    qs = ShipmentStep.objects.filter(
        kind=ShipmentStep.Kind.SHIP, status=ShipmentStep.State.SUCCEEDED, finished_at__gte=start, finished_at__lt=end
    )
    if filters.location or filters.programme or filters.status or filters.q or filters.day:
        qs = qs.filter(shipment__in=filtered_shipments(filters))
    if filters.packer:
        qs = qs.filter(requested_by=filters.packer)
    return qs


def throughput_per_hour(filters: BoardFilters, now=None) -> list[dict]:
    """Shipments marked shipped in each hour of the board's time span (empty hours included)."""
    now = now or timezone.now()
    start, end = filters.window(now)
    tz = timezone.get_current_timezone()
    counted = dict(
        _shipped_steps(filters, start, end)
        .annotate(hour=TruncHour("finished_at", tzinfo=tz))
        .values("hour")
        .annotate(n=Count("shipment", distinct=True))
        .values_list("hour", "n")
    )
    counted = {hour.astimezone(tz).replace(minute=0, second=0, microsecond=0): n for hour, n in counted.items()}
    hour = timezone.localtime(start, tz).replace(minute=0, second=0, microsecond=0)
    series = []
    while hour < end:
        series.append({"hour": hour, "n": counted.get(hour, 0)})
        hour += timedelta(hours=1)
    return series


def throughput_per_packer(filters: BoardFilters, now=None) -> list[dict]:
    """Shipments each packer marked shipped in the board's time span, busiest first."""
    now = now or timezone.now()
    start, end = filters.window(now)
    rows = (
        _shipped_steps(filters, start, end)
        .values("requested_by", "requested_by__username")
        .annotate(n=Count("shipment", distinct=True))
        .order_by("-n", "requested_by__username")
    )
    return [{"packer": r["requested_by__username"] or "(system)", "n": r["n"]} for r in rows]


# --- Board choices ------------------------------------------------------------------------------


def location_choices() -> list[str]:
    """Every location with shipments. A DISTINCT would read the whole history; this walks the
    location index one value at a time (a loose index scan), so it costs one probe per location."""
    table = connection.ops.quote_name(Shipment._meta.db_table)
    column = connection.ops.quote_name(Shipment._meta.get_field("location_id").column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH RECURSIVE locations(location) AS ("
            f" SELECT MIN({column}) FROM {table}"
            f" UNION ALL"
            f" SELECT (SELECT MIN({column}) FROM {table} WHERE {column} > locations.location)"
            f" FROM locations WHERE locations.location IS NOT NULL"
            f") SELECT location FROM locations WHERE location IS NOT NULL ORDER BY location"
        )
        return [row[0] for row in cursor.fetchall()]


def packer_choices():
    """Everyone who has ever asked for an Amazon step or holds a claim (one index probe per user,
    not a pass over every step ever taken)."""
    User = get_user_model()
    worked = ShipmentStep.objects.filter(requested_by=OuterRef("pk"))
    claimed = Claim.objects.filter(user=OuterRef("pk"))
    return list(
        User.objects.filter(Q(Exists(worked)) | Q(Exists(claimed)))
        .order_by("username")
        .values_list("pk", "username")
    )


def board(filters: BoardFilters, now=None) -> dict:
    """Everything the board shows, for one moment."""
    now = now or timezone.now()
    status_table = status_counts(filters)
    return {
        "now": now,
        "counts": headline_counts(filters, now, status_table=status_table),
        "overdue": alert_list(filters, "overdue", now),
        "at_risk": alert_list(filters, "at_risk", now),
        "stuck": alert_list(filters, "stuck", now),
        "cancelled_after_confirmation": alert_list(filters, "cancelled_after_confirmation", now),
        "status_table": status_table,
        "failed_steps": failed_steps(filters),
        "amazon_errors": amazon_errors(filters, now),
        "per_hour": throughput_per_hour(filters, now),
        "per_packer": throughput_per_packer(filters, now),
        "at_risk_window": at_risk_window(),
        "stuck_after": stuck_after(),
    }


# --- Export -------------------------------------------------------------------------------------

EXPORT_COLUMNS = (
    ("Shipment id", "amazon_id"),
    ("Buyer order id", "buyer_order_id"),
    ("Status", "status"),
    ("Programme", "programme"),
    ("Location", "location_id"),
    ("Marketplace", "marketplace_id"),
    ("Ship by (UTC)", "ship_by"),
    ("Units", "units_count"),
    ("Priority", "priority"),
    ("Tracking ids", "tracking_ids"),
    ("Claimed by", "claim__user__username"),
    ("Amazon last updated (UTC)", "amazon_last_updated"),
)


def export_rows(filters: BoardFilters):
    """The filtered shipments as value tuples (EXPORT_COLUMNS order), read from the database in chunks."""
    fields = [name for _, name in EXPORT_COLUMNS]
    return filtered_shipments(filters).order_by("ship_by", "pk").values_list(*fields).iterator(chunk_size=500)


# --- History ------------------------------------------------------------------------------------


@dataclass
class ShipmentHistory:
    shipment: Shipment
    events: list = field(default_factory=list)
    steps: list = field(default_factory=list)
    calls: list = field(default_factory=list)
    packages: list = field(default_factory=list)
    documents: list = field(default_factory=list)


def shipment_history(shipment: Shipment) -> ShipmentHistory:
    """Everything that happened to one shipment: our events and steps, and every Amazon call about it."""
    return ShipmentHistory(
        shipment=shipment,
        events=list(shipment.events.select_related("user").order_by("created_at", "pk")),
        steps=list(shipment.steps.select_related("requested_by").order_by("created_at", "pk")),
        calls=list(AmazonCall.objects.filter(shipment_id=shipment.amazon_id).order_by("created_at", "pk")),
        packages=list(shipment.packages.order_by("position", "pk")),
        documents=list(
            Document.objects.filter(shipment=shipment)
            .select_related("package")
            .defer("content", "printable_pdf")
            .order_by("kind", "-fetched_at", "-pk")
        ),
    )
