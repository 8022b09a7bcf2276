"""Template tags of the station screens that decide what a packer reads."""

from datetime import UTC, datetime

import pytest
from django.template import Context, Template


@pytest.mark.parametrize("zone, shown", [("Asia/Kolkata", "Mon 23 Nov 15:30"), ("UTC", "Mon 23 Nov 10:00"),
                                         ("Not/AZone", "Mon 23 Nov 10:00")])
def test_times_show_in_the_stations_zone_through_the_date_filter(settings, zone, shown):
    """Regression: `|date` converted the station's time back to the server's zone, so a column
    headed "Ship by (Asia/Kolkata)" showed UTC."""
    settings.TIME_ZONE = "America/New_York"  # the server's zone must not leak into the page
    template = Template('{% load station %}{{ when|in_zone:zone|date:"D j M H:i" }}')
    when = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    assert template.render(Context({"when": when, "zone": zone})) == shown
