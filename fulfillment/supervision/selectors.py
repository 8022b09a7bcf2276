"""What the supervisor's board and history pages show, as plain functions over the database.

Every figure is aggregated in SQL (one query per panel), so a busy floor costs the same number
of queries as an empty one. Nothing reads the whole history: the alert figures read the open
shipments (`shipment_open_idx`), and the status table the open ones plus those finished in the last
few days (`shipment_finished_idx`), so months of shipped orders do not slow the board down
(bench/bench_pages.py). A ship-by day or a search narrows the board by itself and covers all history.
The list of what the filters pick (`matching`) covers all history too, but reads only the page it
shows; its count is an index-only COUNT, the one figure that grows with a location's history.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, TruncHour
from django.utils import timezone

from fulfillment.accounts.locations import EVERYWHERE, Locations
from fulfillment.amazon.models import AmazonCall
from fulfillment.claims.models import Claim
from fulfillment.documents.models import Document
from fulfillment.shipments.models import (
    Package,
    Shipment,
    ShipmentEvent,
    ShipmentStep,
    Status,
    UnreadableShipment,
)
from fulfillment.shipments.workflow import CLOSED_STATUSES

# Shipments nobody can pack any more: they are not at risk, overdue or stuck.
FINISHED_STATUSES = (*CLOSED_STATUSES, Status.UNFULFILLABLE)
THROTTLED = 429
LIST_LIMIT = 25
RECENT_ERRORS = 8


def at_risk_window():
    return timedelta(minutes=getattr(settings, "SUPERVISION_AT_RISK_MINUTES", 120))


def stuck_after():
    return timedelta(minutes=getattr(settings, "SUPERVISION_STUCK_MINUTES", 240))


def finished_period():
    """How far back the board counts finished (shipped, delivered, cancelled) shipments."""
    return timedelta(days=getattr(settings, "SUPERVISION_FINISHED_DAYS", 7))


@dataclass(frozen=True)
class BoardFilters:
    # Where the supervisor may look (accounts.locations): every filter below narrows within it.
    visible: Locations = EVERYWHERE
    location: str = ""
    programme: str = ""
    status: str = ""
    packer: int | None = None
    day: date | None = None  # ship-by day; also the day the throughput charts show
    q: str = ""  # shipment id, buyer order id or tracking id

    @property
    def picks_shipments(self) -> bool:
        """Whether the filters leave out any shipment (if not, panels need not ask which)."""
        return bool(self.location or self.programme or self.status or self.packer or self.day or self.q)

    @property
    def narrows(self) -> bool:
        """Whether the panels must ask which shipments count: a filter, or a supervisor of some locations only."""
        return self.picks_shipments or not self.visible.everywhere

    def window(self, now):
        """The time span the activity panels (throughput, errors) cover."""
        if self.day is None:
            return now - timedelta(hours=12), now
        start = timezone.make_aware(datetime.combine(self.day, time.min))
        return start, start + timedelta(days=1)

    def finished_since(self, now):
        """From when finished shipments count, or None for all of them: a ship-by day or a search
        already picks a few shipments out of the whole history, and the supervisor wants them all."""
        if self.day or self.q:
            return None
        return now - finished_period()


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
    qs = filters.visible.filter(Shipment.objects.all())
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


def _finished_recently(since):
    """Finished shipments whose last change at Amazon is `since` or later (all of them if None)."""
    return Q(status__in=FINISHED_STATUSES) & (Q() if since is None else Q(amazon_last_updated__gte=since))


def _alert_conditions(filters: BoardFilters, now):
    open_q = ~Q(status__in=FINISHED_STATUSES)
    return {
        "overdue": open_q & Q(ship_by__lt=now),
        "at_risk": open_q & Q(ship_by__gte=now, ship_by__lt=now + at_risk_window()),
        "stuck": open_q & Q(status_since__lt=now - stuck_after()),
        # Exists in the WHERE clause: a semi-join that probes the recently cancelled ones only.
        "cancelled_after_confirmation": (
            _finished_recently(filters.finished_since(now)) & Q(status=Status.CANCELLED) & Exists(_confirmed_step())
        ),
        # A step moved the status on, and Amazon's own view, read past the grace period, said otherwise.
        "amazon_disagrees": open_q & Q(disagreed_at__isnull=False),
    }


ALERTS = ("overdue", "at_risk", "stuck", "cancelled_after_confirmation", "amazon_disagrees")

# What a board list shows (templates/supervision/_shipment_table.html): loading only these columns,
# not Amazon's JSON and forty others, saves a third of a list's cost.
_LISTED = ("amazon_id", "buyer_order_id", "location_id", "programme", "status", "ship_by", "amazon_last_updated",
           "disagreed_at", "disagreed_status", "claim__lease_expires_at", "claim__user__username")
# The lists that show how long a shipment has been in its status (the others show the ship-by).
_SHOWS_STATUS_SINCE = ("stuck", "cancelled_after_confirmation")


def _alert_rows(filters: BoardFilters, which: str, now) -> QuerySet[Shipment]:
    order = {"stuck": ["status_since"], "cancelled_after_confirmation": ["-amazon_last_updated"],
             "amazon_disagrees": ["-disagreed_at"]}
    qs = filtered_shipments(filters)
    if which in _SHOWS_STATUS_SINCE:
        qs = qs.annotate(status_since=_status_since())
    return (
        qs.filter(_alert_conditions(filters, now)[which])
        .select_related("claim__user")
        .only(*_LISTED)
        .order_by(*order.get(which, ["ship_by"]), "pk")
    )


def alert(filters: BoardFilters, which: str, now=None, limit=LIST_LIMIT) -> dict:
    """The shipments behind one headline figure, most urgent first, with whoever holds them:
    {"rows": the first `limit`, "count": how many in all}. One query: the count is a window over
    the same rows, read before the limit."""
    now = now or timezone.now()
    # At least one row even for limit=0: it carries the count.
    rows = list(_alert_rows(filters, which, now).annotate(matching=Window(Count("pk")))[:max(limit, 1)])
    return {"rows": rows[:limit], "count": rows[0].matching if rows else 0}


def matching(filters: BoardFilters, now=None, limit=LIST_LIMIT) -> dict:
    """The shipments the filters pick, in any status and from all history (a SHIPPED filter, a
    search by order or tracking id): open ones first by ship-by, then finished ones latest first.
    {"rows": the first `limit`, "count": how many in all}; nothing while no filter is set (the
    alert lists show the work)."""
    if not filters.picks_shipments:
        return {"rows": [], "count": 0}
    listed = filtered_shipments(filters).select_related("claim__user").only(*_LISTED)
    by_ship_by = F("ship_by").asc(nulls_last=True), "pk"
    latest_first = F("ship_by").desc(nulls_last=True), "pk"
    if filters.q:
        # A search reads every shipment once (a substring of an id) and finds a few: one query sorts
        # them, open ones first, and counts them with a window before the limit.
        finished = Q(status__in=FINISHED_STATUSES)
        rows = list(
            listed.annotate(finished=Case(When(finished, then=Value(True)), default=Value(False)),
                            open_ship_by=Case(When(~finished, then=F("ship_by")), output_field=DateTimeField()),
                            matching=Window(Count("pk")))
            .order_by("finished", F("open_ship_by").asc(nulls_last=True), *latest_first)[:max(limit, 1)]
        )
        return {"rows": rows[:limit], "count": rows[0].matching if rows else 0}
    # Otherwise the open ones and the finished ones are read apart, so a location's months of history
    # are never sorted to show a page: the open ones (a few hundred at most, `shipment_open_idx`),
    # then as many finished ones as the page has room for, latest first (`shipment_finished_loc_idx`
    # for a location). The count is a plain COUNT, from an index. A status filter skips the part it
    # rules out.
    rows = []
    if filters.status not in FINISHED_STATUSES:
        rows = list(_open(listed).order_by(*by_ship_by)[:limit])
    count = filtered_shipments(filters).count()
    if len(rows) < min(limit, count) and (not filters.status or filters.status in FINISHED_STATUSES):
        rows += listed.filter(status__in=FINISHED_STATUSES).order_by(*latest_first)[:limit - len(rows)]
    for row in rows:  # the list shows a finished one's ship-by muted, not as a countdown
        row.finished = row.status in FINISHED_STATUSES
    return {"rows": rows, "count": count}


def headline_counts(filters: BoardFilters, now=None, *, status_table: dict | None = None,
                    alerts: dict | None = None) -> dict[str, int]:
    """Total and open (from the status table), overdue, at risk, stuck and cancelled-after-confirmation
    (the alerts' counts) shipments. The board passes the table and alerts it already has."""
    now = now or timezone.now()
    table = status_table if status_table is not None else status_counts(filters, now)
    alerts = alerts if alerts is not None else {name: alert(filters, name, now, limit=0) for name in ALERTS}
    return {"total": table["grand_total"], "open": table["open"], **{name: alerts[name]["count"] for name in ALERTS}}


def status_counts(filters: BoardFilters, now=None) -> dict:
    """Open and recently finished shipments by status for every location and programme: {"statuses",
    "rows", "totals", "grand_total", "open" and "finished" (how many of each), "finished_since" (None
    when every finished shipment counts)}."""
    now = now or timezone.now()
    shipments = filtered_shipments(filters)

    def by_status(qs):
        return qs.values("location_id", "programme", "status").annotate(n=Count("pk")).order_by()

    # Two parts in one query, never the same status twice: each reads its own partial index (the
    # finished part from the index alone), where an OR would visit thousands of table pages.
    grouped = by_status(_open(shipments)).union(
        by_status(shipments.filter(_finished_recently(filters.finished_since(now)))), all=True
    )
    order = {value: i for i, value in enumerate(Status.values)}
    present = set()
    rows: dict[tuple[str, str], dict] = {}
    for entry in grouped:
        present.add(entry["status"])
        key = (entry["location_id"], entry["programme"])
        row = rows.setdefault(key, {"location_id": key[0], "programme": key[1], "by_status": {}, "total": 0})
        row["by_status"][entry["status"]] = entry["n"]
        row["total"] += entry["n"]
    statuses = sorted(present, key=lambda s: order.get(s, len(order)))
    programme_labels = dict(Shipment._meta.get_field("programme").choices)
    table = []
    for _, row in sorted(rows.items()):
        row["programme_label"] = programme_labels.get(row["programme"], row["programme"])
        row["cells"] = [row["by_status"].get(s, 0) for s in statuses]
        row["by_status_list"] = list(zip(statuses, row["cells"], strict=True))  # each count links to its list
        table.append(row)
    totals = [sum(r["by_status"].get(s, 0) for r in table) for s in statuses]
    finished = sum(n for s, n in zip(statuses, totals, strict=True) if s in FINISHED_STATUSES)
    return {"statuses": statuses, "rows": table, "totals": totals, "grand_total": sum(totals),
            "totals_by_status": list(zip(statuses, totals, strict=True)),
            "open": sum(totals) - finished, "finished": finished, "finished_since": filters.finished_since(now)}


# --- Failures -----------------------------------------------------------------------------------


def failed_steps(filters: BoardFilters, limit=LIST_LIMIT) -> dict:
    """Amazon steps whose last attempt failed and that nobody has since done successfully."""
    fixed_later = ShipmentStep.objects.filter(
        shipment=OuterRef("shipment"), kind=OuterRef("kind"), created_at__gt=OuterRef("created_at"),
        status=ShipmentStep.State.SUCCEEDED,
    )
    qs = (
        ShipmentStep.objects.filter(status=ShipmentStep.State.FAILED)
        .exclude(Exists(fixed_later))
        .exclude(shipment__status__in=FINISHED_STATUSES)
    )
    if filters.narrows:
        qs = qs.filter(shipment__in=filtered_shipments(filters))
    rows = list(
        qs.select_related("shipment", "requested_by")
        .only("kind", "created_at", "finished_at", "error_code", "error_message", "shipment__amazon_id",
              "requested_by__username")
        .order_by("-created_at", "-pk")[: limit + 1]
    )
    return {"rows": rows[:limit], "more": len(rows) > limit}


def amazon_errors(filters: BoardFilters, now=None, limit=RECENT_ERRORS) -> dict:
    """Failed Amazon calls in the board's time span, grouped by operation and answer, throttling apart,
    and the latest few."""
    now = now or timezone.now()
    start, end = filters.window(now)
    qs = AmazonCall.objects.filter(created_at__gte=start, created_at__lt=end).filter(
        Q(http_status__gte=400) | Q(http_status__isnull=True)
    )
    if filters.narrows:
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


def unreadable_shipments(filters: BoardFilters, limit=LIST_LIMIT) -> dict:
    """Shipments Amazon lists that Packbench cannot read (they break Amazon's model or our columns):
    what is wrong with each, never its values. They stay off the station until Amazon fixes them."""
    # One whose location Amazon did not say ("") shows only to those who see every location.
    qs = filters.visible.filter(UnreadableShipment.objects.all())
    if filters.location:
        qs = qs.filter(location_id__in=[filters.location, ""])
    if filters.q:
        qs = qs.filter(shipment_id__icontains=filters.q.strip())
    rows = list(qs.order_by("-last_seen_at", "-pk")[: limit + 1])
    return {"rows": rows[:limit], "more": len(rows) > limit}


# --- Throughput ---------------------------------------------------------------------------------


def _shipped_steps(filters: BoardFilters, start, end):
    qs = ShipmentStep.objects.filter(
        kind=ShipmentStep.Kind.SHIP, status=ShipmentStep.State.SUCCEEDED, finished_at__gte=start, finished_at__lt=end
    )
    if not filters.visible.everywhere or filters.location or filters.programme or filters.status or filters.q \
            or filters.day:  # (a packer filter alone reads the steps' own column below)
        qs = qs.filter(shipment__in=filtered_shipments(filters))
    if filters.packer:
        qs = qs.filter(requested_by=filters.packer)
    return qs


def throughput(filters: BoardFilters, now=None) -> dict:
    """Shipments marked shipped in the board's time span: {"per_hour": every hour, empty ones included,
    "per_packer": busiest first}. One query counts them per hour and packer; a shipment's SHIP step
    succeeds once, so the sums count every shipment once."""
    now = now or timezone.now()
    start, end = filters.window(now)
    tz = timezone.get_current_timezone()
    counted = (
        _shipped_steps(filters, start, end)
        .annotate(hour=TruncHour("finished_at", tzinfo=tz))
        .values_list("hour", "requested_by__username")
        .annotate(n=Count("shipment", distinct=True))
        .order_by()
    )
    by_hour, by_packer = defaultdict(int), defaultdict(int)
    for hour, packer, n in counted:
        by_hour[hour.astimezone(tz).replace(minute=0, second=0, microsecond=0)] += n
        by_packer[packer or "(system)"] += n
    hour = timezone.localtime(start, tz).replace(minute=0, second=0, microsecond=0)
    per_hour = []
    while hour < end:
        per_hour.append({"hour": hour, "n": by_hour.get(hour, 0)})
        hour += timedelta(hours=1)
    per_packer = [{"packer": packer, "n": n} for packer, n in sorted(by_packer.items(), key=lambda p: (-p[1], p[0]))]
    return {"per_hour": per_hour, "per_packer": per_packer}


# --- Board choices ------------------------------------------------------------------------------


def location_choices(visible: Locations = EVERYWHERE) -> list[str]:
    """Every location with shipments that the supervisor may see. A DISTINCT would read the whole
    history; this walks the location index one value at a time (a loose index scan), so it costs one
    probe per location."""
    if not visible.everywhere:
        return sorted(location for location in visible.ids if Shipment.objects.filter(location_id=location).exists())
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


def packer_choices(visible: Locations = EVERYWHERE):
    """Everyone who has ever asked for an Amazon step or holds a claim (one index probe per user,
    not a pass over every step ever taken), on a shipment of the supervisor's locations."""
    User = get_user_model()
    worked = visible.filter(ShipmentStep.objects.filter(requested_by=OuterRef("pk")), "shipment__location_id")
    claimed = visible.filter(Claim.objects.filter(user=OuterRef("pk")), "shipment__location_id")
    return list(
        User.objects.filter(Q(Exists(worked)) | Q(Exists(claimed)))
        .order_by("username")
        .values_list("pk", "username")
    )


def board(filters: BoardFilters, now=None) -> dict:
    """Everything the board shows, for one moment."""
    now = now or timezone.now()
    status_table = status_counts(filters, now)
    alerts = {name: alert(filters, name, now) for name in ALERTS}
    return {
        "now": now,
        "counts": headline_counts(filters, now, status_table=status_table, alerts=alerts),
        **{name: found["rows"] for name, found in alerts.items()},
        "matching": matching(filters, now),
        "status_table": status_table,
        "failed_steps": failed_steps(filters),
        "unreadable": unreadable_shipments(filters),
        "amazon_errors": amazon_errors(filters, now),
        **throughput(filters, now),
        "at_risk_window": at_risk_window(),
        "stuck_after": stuck_after(),
        "finished_days": finished_period().days,
    }


# --- Export -------------------------------------------------------------------------------------

EXPORT_COLUMNS = (
    ("Shipment id", "amazon_id"),
    ("Buyer order id", "buyer_order_id"),
    ("Status", "status"),
    ("Programme", "programme"),
    ("Channel", "channel"),  # SMARTCONNECT, or MFN: a seller-fulfilled Amazon order
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
