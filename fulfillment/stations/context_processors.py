def current_station(request):
    """The station StationMiddleware found for this browser (None when there is none)."""
    return {"current_station": getattr(request, "station", None)}
