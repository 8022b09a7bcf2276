from .selectors import station_for_request


def current_station(request):
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    # StationMiddleware has looked it up already; a request built without it looks now.
    station = request.station if hasattr(request, "station") else station_for_request(request)
    return {"current_station": station}
