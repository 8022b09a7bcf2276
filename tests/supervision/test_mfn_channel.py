"""Seller-fulfilled (MFN) orders on the supervisors' screens: the board's table, search, history and CSV."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from fulfillment.accounts import roles
from fulfillment.shipments.models import Channel, Programme, Status
from fulfillment.supervision import selectors
from fulfillment.supervision.selectors import BoardFilters

from . import factories as f

pytestmark = pytest.mark.django_db


def test_both_channels_on_the_board_in_search_history_and_csv(client):
    now = timezone.now()
    smartconnect = f.shipment(now=now, status=Status.CONFIRMED, ship_by_in=timedelta(hours=2))
    order = f.shipment(now=now, status=Status.PARTIALLY_SHIPPED, programme=Programme.MFN, channel=Channel.MFN,
                       amazon_id="111-2223334-5556667", buyer_order_id="111-2223334-5556667",
                       ship_by_in=timedelta(hours=1))
    table = selectors.status_counts(BoardFilters(), now)
    labels = {row["programme_label"]: row["by_status"] for row in table["rows"]}
    assert labels["Seller-fulfilled"] == {Status.PARTIALLY_SHIPPED: 1} and "Easy Ship" in labels
    assert table["open"] == 2
    client.force_login(f.user("sofia", roles.SUPERVISOR))
    board = client.get(reverse("supervision:board"), {"q": order.amazon_id}).content.decode()
    assert order.amazon_id in board and smartconnect.amazon_id not in board.split("Shipments matching")[-1]
    history = client.get(reverse("supervision:history", args=[order.amazon_id]))
    assert history.status_code == 200 and order.amazon_id in history.content.decode()
    rows = list(csv.reader(io.StringIO(b"".join(client.get(reverse("supervision:export")).streaming_content)
                                       .decode())))
    by_id = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert by_id[order.amazon_id]["Channel"] == "MFN" and by_id[order.amazon_id]["Programme"] == "MFN"
    assert by_id[smartconnect.amazon_id]["Channel"] == "SMARTCONNECT"
