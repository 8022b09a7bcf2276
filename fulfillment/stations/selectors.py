from fulfillment.accounts.locations import can_see_location, locations_of

from .models import Station

SESSION_KEY = "station_id"


def stations_for(user):
    """The stations `user` may work at: those of their locations (accounts.locations)."""
    return locations_of(user).filter(Station.objects.all())


def station_for_request(request):
    """The station this browser works at (chosen once per session), or None. A station the user may
    no longer use (their locations changed, another user signed in) is dropped from the session."""
    station_id = request.session.get(SESSION_KEY)
    if station_id is not None:
        # Read by its key and checked here (every request asks: cheaper than `stations_for`'s filter).
        try:
            station = Station.objects.get(pk=station_id)
        except Station.DoesNotExist:
            station = None
        if station is not None and can_see_location(request.user, station.location_id):
            return station
        del request.session[SESSION_KEY]
    # A user with a single station needs no choice.
    found = list(stations_for(request.user)[:2])
    return found[0] if len(found) == 1 else None


def seller_account_for_location(location_id: str):
    """The active SellerAccount of the location's stations, or None for the settings' account."""
    station = (Station.objects.filter(location_id=location_id, seller_account__active=True)
               .select_related("seller_account").order_by("pk").first())
    return station.seller_account if station else None


def locations_by_seller_account() -> dict[str, set[str]]:
    """Seller account name -> the locations its stations pack for. A location belongs to the active
    account of its first station that names one (as `seller_account_for_location`), else to the
    settings' account."""
    from django.conf import settings

    chosen: dict[str, str] = {}
    rows = (Station.objects.order_by("pk")
            .values_list("location_id", "seller_account__name", "seller_account__active"))
    for location_id, name, active in rows:
        if not chosen.get(location_id):
            chosen[location_id] = name if name and active else ""
    accounts: dict[str, set[str]] = {}
    for location_id, name in chosen.items():
        accounts.setdefault(name or settings.AMAZON_SELLER_ACCOUNT, set()).add(location_id)
    return accounts


def seller_account_name_for_location(location_id: str) -> str:
    """The name of the account a location's shipments are read with."""
    from django.conf import settings

    account = seller_account_for_location(location_id)
    return account.name if account else settings.AMAZON_SELLER_ACCOUNT
