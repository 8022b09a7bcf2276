from .selectors import station_for_request


def current_station(request):
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"current_station": station_for_request(request)}
