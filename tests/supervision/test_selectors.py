"""The board's figures against a known floor (see conftest.floor)."""

from datetime import date, timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from fulfillment.claims import services as claims
from fulfillment.shipments.models import Package, Programme, Shipment, Status
from fulfillment.supervision import selectors
from fulfillment.supervision.selectors import BoardFilters

from . import factories as f
from .conftest import NOW, H

pytestmark = pytest.mark.django_db


def test_headline_counts(floor):
    counts = selectors.headline_counts(BoardFilters(), NOW)
    assert counts == {
        "total": 11, "open": 5, "overdue": 1, "at_risk": 2, "stuck": 1, "cancelled_after_confirmation": 1,
        "amazon_disagrees": 0,
    }


def test_alert_lists_name_the_shipments(floor):
    ids = lambda which: [s.amazon_id for s in selectors.alert(BoardFilters(), which, NOW)["rows"]]  # noqa: E731
    assert ids("overdue") == [floor.overdue.amazon_id]
    assert ids("at_risk") == [floor.at_risk_soon.amazon_id, floor.at_risk_edge.amazon_id]  # soonest first
    assert ids("stuck") == [floor.stuck.amazon_id]
    assert ids("cancelled_after_confirmation") == [floor.cancelled_confirmed.amazon_id]


def test_amazon_disagreeing_and_unreadable_shipments_are_listed(floor):
    from fulfillment.shipments.models import UnreadableShipment

    floor.on_time.disagreed_at, floor.on_time.disagreed_status = NOW, "PACKAGE_CREATED"
    floor.on_time.save()
    floor.shipped_b.disagreed_at, floor.shipped_b.disagreed_status = NOW, "SHIPLABEL_GENERATED"
    floor.shipped_b.save()  # finished: nothing left to do about it
    UnreadableShipment.objects.create(seller_account="default", shipment_id="BAD-1", location_id="LOC-A",
                                      problems=["shipmentInfo.buyerOrderId: Field required"])
    data = selectors.board(BoardFilters(), NOW)
    assert data["counts"]["amazon_disagrees"] == 1
    assert [s.amazon_id for s in data["amazon_disagrees"]] == [floor.on_time.amazon_id]
    assert [u.shipment_id for u in data["unreadable"]["rows"]] == ["BAD-1"]
    assert selectors.unreadable_shipments(BoardFilters(location="LOC-B"))["rows"] == []


def test_the_windows_come_from_settings(floor, settings):
    settings.SUPERVISION_AT_RISK_MINUTES = 60
    settings.SUPERVISION_STUCK_MINUTES = 30
    counts = selectors.headline_counts(BoardFilters(), NOW)
    assert counts["at_risk"] == 1  # only the one due in 30 min
    # The overdue one entered ACCEPTED 10 min ago: still fine; on_time changed 1 h ago: now stuck.
    assert [s.amazon_id for s in selectors.alert(BoardFilters(), "stuck", NOW)["rows"]] == [
        floor.stuck.amazon_id, floor.on_time.amazon_id,
    ]


def test_status_counts_per_location_and_programme(floor):
    table = selectors.status_counts(BoardFilters(), NOW)
    assert table["statuses"] == ["ACCEPTED", "CONFIRMED", "PACKAGE_CREATED", "INVOICE_GENERATED", "SHIPPED", "CANCELLED"]
    rows = {(r["location_id"], r["programme"]): r["by_status"] for r in table["rows"]}
    assert rows == {
        ("LOC-1", "EASY_SHIP"): {"ACCEPTED": 1, "CONFIRMED": 1, "INVOICE_GENERATED": 1, "SHIPPED": 3, "CANCELLED": 1},
        ("LOC-1", "SELLER_FLEX"): {"ACCEPTED": 1},
        ("LOC-2", "SELF_SHIP"): {"PACKAGE_CREATED": 1, "SHIPPED": 1, "CANCELLED": 1},
    }
    assert table["totals"] == [2, 1, 1, 1, 4, 2] and table["grand_total"] == 11
    assert table["open"] == 5 and table["finished"] == 6


def test_finished_shipments_count_for_the_last_days_only(floor, settings):
    """Open shipments always count; shipped, delivered or cancelled ones only while recent."""
    f.shipment(now=NOW, status=Status.SHIPPED, status_since=NOW - timedelta(days=30))
    f.shipment(now=NOW, status=Status.DELIVERED, status_since=NOW - timedelta(days=8))
    long_cancelled = f.shipment(now=NOW, status=Status.CANCELLED, status_since=NOW - timedelta(days=20))
    f.step(long_cancelled, "CONFIRM", "SUCCEEDED", at=NOW - timedelta(days=21), by=floor.packer_a)
    f.shipment(now=NOW, status=Status.SHIPPED, status_since=NOW - timedelta(hours=3))  # shipped today
    open_for_weeks = f.shipment(now=NOW, status=Status.ACCEPTED, status_since=NOW - timedelta(days=40))

    table = selectors.status_counts(BoardFilters(), NOW)
    assert table["finished_since"] == NOW - timedelta(days=7)
    assert table["totals"][table["statuses"].index("SHIPPED")] == 5  # the floor's four and today's
    assert "DELIVERED" not in table["statuses"]
    assert table["open"] == 6 and table["grand_total"] == 13  # the old open one counts
    counts = selectors.headline_counts(BoardFilters(), NOW)
    assert counts["total"] == 13 and counts["cancelled_after_confirmation"] == 1
    assert [s.amazon_id for s in selectors.alert(BoardFilters(), "cancelled_after_confirmation", NOW)["rows"]] == [
        floor.cancelled_confirmed.amazon_id,
    ]
    assert open_for_weeks.amazon_id in [s.amazon_id for s in selectors.alert(BoardFilters(), "stuck", NOW)["rows"]]

    settings.SUPERVISION_FINISHED_DAYS = 10
    assert selectors.status_counts(BoardFilters(), NOW)["finished"] == 6 + 2  # today's and the delivered one
    # A search covers all history: an old shipment is still found.
    assert selectors.status_counts(BoardFilters(q=long_cancelled.amazon_id), NOW)["grand_total"] == 1
    assert selectors.headline_counts(BoardFilters(q=long_cancelled.amazon_id), NOW)["cancelled_after_confirmation"] == 1


def test_failed_steps_leave_out_fixed_and_finished_ones(floor):
    result = selectors.failed_steps(BoardFilters())
    assert [(s.shipment.amazon_id, s.kind) for s in result["rows"]] == [(floor.at_risk_soon.amazon_id, "LABELS")]
    assert result["rows"][0].error_message.startswith("Amazon refused the label")


def test_amazon_errors_in_the_last_twelve_hours_with_throttling_apart(floor):
    errors = selectors.amazon_errors(BoardFilters(), NOW)
    assert errors["total"] == 4 and errors["throttled"] == 2
    groups = {(g["operation"], g["http_status"]): g["n"] for g in errors["groups"]}
    assert groups == {("getShipments", 429): 2, ("createPackages", 500): 1, ("generateShipLabels", None): 1}
    assert [c.operation for c in errors["recent"]] == [
        "generateShipLabels", "createPackages", "getShipments", "getShipments",
    ]


def test_throughput_per_hour_and_per_packer(floor):
    series = selectors.throughput(BoardFilters(), NOW)["per_hour"]
    assert len(series) == 13 and series[0]["hour"].hour == 0 and series[-1]["hour"].hour == 12
    assert {p["hour"].hour: p["n"] for p in series if p["n"]} == {9: 2, 11: 1}
    assert selectors.throughput(BoardFilters(), NOW)["per_packer"] == [{"packer": "anna", "n": 2}, {"packer": "ben", "n": 1}]


def test_a_day_filter_shows_that_day(floor):
    yesterday = BoardFilters(day=date(2026, 3, 9))
    assert [p["n"] for p in selectors.throughput(yesterday, NOW)["per_hour"] if p["n"]] == [1]  # the old shipment, 10:30
    assert selectors.throughput(yesterday, NOW)["per_packer"] == [{"packer": "ben", "n": 1}]
    # Ship-by on 10 March: every shipment but the old one (ship-by 9 March 06:30).
    assert selectors.headline_counts(BoardFilters(day=date(2026, 3, 10)), NOW)["total"] == 10


def test_filters_narrow_every_panel(floor):
    loc2 = BoardFilters(location="LOC-2")
    assert selectors.headline_counts(loc2, NOW) == {
        "total": 3, "open": 1, "overdue": 0, "at_risk": 1, "stuck": 0, "cancelled_after_confirmation": 1,
        "amazon_disagrees": 0,
    }
    assert selectors.amazon_errors(loc2, NOW)["total"] == 1  # createPackages for the LOC-2 shipment
    assert selectors.throughput(loc2, NOW)["per_packer"] == [{"packer": "ben", "n": 1}]
    flex = BoardFilters(programme=Programme.SELLER_FLEX)
    assert [s.amazon_id for s in selectors.filtered_shipments(flex)] == [floor.stuck.amazon_id]
    shipped = BoardFilters(status=Status.SHIPPED)
    assert selectors.headline_counts(shipped, NOW)["total"] == 4


def test_packer_filter_covers_steps_and_claims(floor):
    claims.claim(floor.overdue, floor.packer_b)
    ids = set(selectors.filtered_shipments(BoardFilters(packer=floor.packer_b.pk)).values_list("amazon_id", flat=True))
    assert floor.overdue.amazon_id in ids  # claimed, no step yet
    assert floor.shipped_b.amazon_id in ids and floor.on_time.amazon_id in ids  # steps asked for
    assert floor.shipped_a1.amazon_id not in ids


def test_search_by_shipment_order_or_tracking_id(floor):
    Package.objects.create(shipment=floor.shipped_b, package_id="PKG-1", length=10, width=10, height=10, weight=100,
                           tracking_id="TRK-77-ZZ")
    search = lambda q: list(selectors.filtered_shipments(BoardFilters(q=q)).values_list("amazon_id", flat=True))  # noqa: E731
    assert search(floor.stuck.amazon_id) == [floor.stuck.amazon_id]
    assert search(floor.on_time.buyer_order_id) == [floor.on_time.amazon_id]
    assert search("trk-77-zz") == [floor.shipped_b.amazon_id]
    assert search("nothing-like-this") == []


def test_history_holds_events_steps_and_amazon_calls(floor):
    claims.claim(floor.at_risk_soon, floor.packer_a)
    claims.release(floor.at_risk_soon, floor.supervisor)
    history = selectors.shipment_history(floor.at_risk_soon)
    kinds = [e.kind for e in history.events]
    assert kinds == ["CLAIM", "RELEASE"]
    assert history.events[1].user == floor.supervisor and "anna" in history.events[1].message
    assert [s.kind for s in history.steps] == ["LABELS"]
    assert [(c.operation, c.http_status) for c in history.calls] == [("generateShipLabels", None)]


def test_export_rows_follow_the_filters(floor):
    rows = list(selectors.export_rows(BoardFilters(location="LOC-2")))
    assert [r[0] for r in rows] == [
        floor.cancelled_confirmed.amazon_id, floor.shipped_b.amazon_id, floor.at_risk_edge.amazon_id,
    ]  # ship-by order


@pytest.mark.parametrize("extra", [0, 40])
def test_board_queries_do_not_grow_with_the_floor(floor, extra, django_assert_max_num_queries):
    for i in range(extra):
        s = f.shipment(now=NOW, status=Status.CONFIRMED, ship_by_in=timedelta(minutes=i - 20), location=f"LOC-{i % 5}")
        f.step(s, "SHIP", "SUCCEEDED", at=NOW - timedelta(minutes=i * 7), by=floor.packer_a)
        f.step(s, "LABELS", "FAILED", at=NOW - timedelta(minutes=i), by=floor.packer_b)
        f.amazon_call(at=NOW - timedelta(minutes=i), http_status=429, shipment_id=s.amazon_id)
        claims.claim(s, floor.packer_b)
    with django_assert_max_num_queries(11):
        data = selectors.board(BoardFilters(), NOW)
        for name in ("overdue", "at_risk", "stuck", "cancelled_after_confirmation", "amazon_disagrees"):
            for s in data[name]:
                getattr(s, "claim", None) and s.claim.user.username  # what the board template reads
        for step in data["failed_steps"]["rows"]:
            _ = step.shipment.amazon_id, step.requested_by and step.requested_by.username


def test_the_matching_list_reaches_every_shipment_the_filters_pick_in_any_status(floor):
    """Issue 9, defect 8: filtering the board by SHIPPED listed no shipment."""
    before = selectors.matching(BoardFilters(status=Status.SHIPPED), NOW)["count"]
    old = f.shipment(now=NOW - timedelta(days=90), status=Status.SHIPPED, ship_by_in=timedelta(hours=1))
    assert selectors.matching(BoardFilters()) == {"rows": [], "count": 0}  # nothing filtered: the alerts show the work
    shipped = selectors.matching(BoardFilters(status=Status.SHIPPED), NOW)
    assert before and shipped["count"] == before + 1  # 90 days back too, beyond the board's 7-day window
    assert old.amazon_id in [s.amazon_id for s in shipped["rows"]] and {s.status for s in shipped["rows"]} == {"SHIPPED"}
    rows = selectors.matching(BoardFilters(location="LOC-1"), NOW)["rows"]
    finished = [bool(s.finished) for s in rows]
    assert finished == sorted(finished) and True in finished and False in finished  # open ones first
    opened = [s.ship_by for s in rows if not s.finished]
    assert opened == sorted(opened)  # the most urgent first
    done = [s.ship_by for s in rows if s.finished]
    assert done == sorted(done, reverse=True)  # then the latest finished
    assert selectors.matching(BoardFilters(status=Status.SHIPPED), NOW, limit=1)["count"] == before + 1


def test_the_matching_list_shows_open_ones_by_ship_by_then_the_latest_finished_ones(floor):
    """The order holds across the two reads (open, then finished), and the count covers both."""
    no_ship_by = f.shipment(now=NOW, status=Status.SHIPPED)  # finished, ship-by unknown: last
    expected = [floor.overdue, floor.at_risk_soon, floor.on_time, floor.stuck,  # open, most urgent first
                floor.shipped_a1, floor.shipped_a2, floor.cancelled_unconfirmed]  # finished, latest first
    old = Shipment.objects.get(ship_by=NOW - 30 * H)  # the floor's one shipped yesterday
    ids = [s.amazon_id for s in expected] + [old.amazon_id, no_ship_by.amazon_id]

    found = selectors.matching(BoardFilters(location="LOC-1"), NOW, limit=20)
    assert [s.amazon_id for s in found["rows"]] == ids and found["count"] == 9
    assert [s.finished for s in found["rows"]] == [False] * 4 + [True] * 5
    found = selectors.matching(BoardFilters(location="LOC-1"), NOW, limit=6)
    assert [s.amazon_id for s in found["rows"]] == ids[:6] and found["count"] == 9
    found = selectors.matching(BoardFilters(location="LOC-1"), NOW, limit=3)
    assert [s.amazon_id for s in found["rows"]] == ids[:3] and found["count"] == 9
    found = selectors.matching(BoardFilters(location="LOC-1", status=Status.SHIPPED), NOW, limit=20)
    assert [s.amazon_id for s in found["rows"]] == [floor.shipped_a1.amazon_id, floor.shipped_a2.amazon_id,
                                                    old.amazon_id, no_ship_by.amazon_id]
    assert found["count"] == 4
    found = selectors.matching(BoardFilters(location="LOC-1", status=Status.ACCEPTED), NOW, limit=20)
    assert [s.amazon_id for s in found["rows"]] == [floor.overdue.amazon_id, floor.stuck.amazon_id]
    assert found["count"] == 2


def test_the_matching_list_for_a_location_reads_a_page_of_its_history_not_all_of_it(floor):
    """bench_pages: at 100,000 shipments the board for one location took 330 ms, sorting the location's
    whole history and counting it with a window to show 25 rows. Now no query sorts or windows the
    history: the open ones, a plain count, and only as many finished ones as the page has room for,
    read in the order of `shipment_finished_loc_idx`."""
    for hours in range(1, 6):
        f.shipment(now=NOW - timedelta(days=30 * hours), status=Status.DELIVERED, ship_by_in=-hours * H)

    with CaptureQueriesContext(connection) as captured:
        found = selectors.matching(BoardFilters(location="LOC-1"), NOW, limit=6)
    assert found["count"] == 13 and len(found["rows"]) == 6
    sqls = [q["sql"] for q in captured.captured_queries]
    assert len(sqls) == 3 and not any(" OVER " in sql for sql in sqls)
    assert sqls[-1].endswith("LIMIT 2")  # 4 open ones, then 2 finished ones

    with CaptureQueriesContext(connection) as captured:
        selectors.matching(BoardFilters(location="LOC-1"), NOW, limit=3)
    assert len(captured.captured_queries) == 2  # a page of open ones: no finished one read

    # The finished ones come from the index in the list's order, without a sort (PostgreSQL told to
    # avoid sequential scans and sorts whenever it can: on this small table it would scan).
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("EXPLAIN " + sqls[-1])
        plan = "\n".join(line for (line,) in cursor.fetchall())
    assert "shipment_finished_loc_idx" in plan and "Sort" not in plan, plan


def test_the_matching_list_over_every_location_reads_a_page_of_history_in_index_order(floor):
    """A status filter without a location (every SHIPPED shipment of the floor) sorted all finished
    shipments to show a page (about 220 ms at 100,000); they now come from `shipment_finished_all_idx`
    in the list's order, a page at a time."""
    for hours in range(1, 4):
        f.shipment(now=NOW - timedelta(days=30 * hours), status=Status.SHIPPED, ship_by_in=-hours * H)

    with CaptureQueriesContext(connection) as captured:
        found = selectors.matching(BoardFilters(status=Status.SHIPPED), NOW, limit=4)
    assert len(found["rows"]) == 4 and all(row.status == Status.SHIPPED for row in found["rows"])
    ship_bys = [row.ship_by for row in found["rows"]]
    assert ship_bys == sorted(ship_bys, reverse=True)  # latest first
    sql = captured.captured_queries[-1]["sql"]
    assert sql.endswith("LIMIT 4") and " OVER " not in sql

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("EXPLAIN " + sql)
        plan = "\n".join(line for (line,) in cursor.fetchall())
    assert "shipment_finished_all_idx" in plan and "Sort" not in plan, plan


def test_the_models_finished_indexes_name_the_boards_finished_statuses():
    """PostgreSQL uses a partial index only when the query's predicate matches it: the model's literals
    (it cannot import the workflow) must be the board's FINISHED_STATUSES."""
    from fulfillment.shipments import models
    from fulfillment.supervision.selectors import FINISHED_STATUSES

    assert sorted(models._FINISHED) == sorted(FINISHED_STATUSES)
