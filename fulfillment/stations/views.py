from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from .models import Station
from .selectors import SESSION_KEY


def choose_station(request):
    return render(request, "stations/choose.html", {"stations": Station.objects.all()})


@require_POST
def set_station(request, pk):
    station = get_object_or_404(Station, pk=pk)
    request.session[SESSION_KEY] = station.pk
    return redirect(request.POST.get("next") or "home")
