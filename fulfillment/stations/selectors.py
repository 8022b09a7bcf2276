from .models import Station

SESSION_KEY = "station_id"


def station_for_request(request):
    """The station this browser works at (chosen once per session), or None."""
    station_id = request.session.get(SESSION_KEY)
    if station_id is not None:
        station = Station.objects.filter(pk=station_id).first()
        if station is not None:
            return station
    # A floor with a single station needs no choice.
    stations = list(Station.objects.all()[:2])
    return stations[0] if len(stations) == 1 else None


def seller_account_for_location(location_id: str):
    """The active SellerAccount of the location's stations, or None for the settings' account."""
    station = (Station.objects.filter(location_id=location_id, seller_account__active=True)
               .select_related("seller_account").order_by("pk").first())
    return station.seller_account if station else None
