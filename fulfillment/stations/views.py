from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from .selectors import SESSION_KEY, stations_for


def choose_station(request, status=200):
    """The stations of the user's locations, and only those."""
    return render(request, "stations/choose.html", {"stations": stations_for(request.user)}, status=status)


@require_POST
def set_station(request, pk):
    station = stations_for(request.user).filter(pk=pk).first()
    if station is None:
        # The same answer whether it exists or not: another location's stations are not named here.
        messages.error(request, "That is not a station of your location: choose one of these.")
        return choose_station(request, status=404)
    request.session[SESSION_KEY] = station.pk
    # `next` comes from the form: only a page of this site, never somewhere else (an open redirect).
    target = request.POST.get("next") or ""
    safe = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    return redirect(target if target and safe else "home")


def devices(request):
    """The station's devices: connected or not, what each says now, its last job, what to check.
    HTMX polls the panel (`?panel=1`) every few seconds."""
    from fulfillment.accounts.roles import ADMIN, PACKER, SUPERVISOR, has_role

    from .devices import station_devices

    if not has_role(request.user, PACKER, SUPERVISOR, ADMIN):
        raise PermissionDenied
    if request.station is None:
        return redirect("stations:choose")
    states = station_devices(request.station)
    context = {"station": request.station, "devices": states, "problems": [d for d in states if d.level == "bad"]}
    template = "stations/devices.html#panel" if request.htmx else "stations/devices.html"
    return render(request, template, context)
