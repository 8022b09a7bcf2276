"""The browser's station, looked up once per request, and its clock for every time a page shows."""

from datetime import UTC
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone

from .selectors import station_for_request


class StationMiddleware:
    """Sets `request.station` (None when signed out or no station is chosen) and, while the view and
    its templates run, the station's time zone: ship-by, pickup, print and history times all read in
    the station's clock, whoever looks (a supervisor without a station sees TIME_ZONE; a station
    whose zone name is unknown, UTC)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        signed_in = getattr(request, "user", None) is not None and request.user.is_authenticated
        request.station = station_for_request(request) if signed_in else None
        try:
            zone = ZoneInfo(request.station.timezone) if request.station else None
        except (ZoneInfoNotFoundError, ValueError):
            zone = UTC
        with timezone.override(zone):  # None: the default, TIME_ZONE
            return self.get_response(request)
