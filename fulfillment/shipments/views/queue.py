"""The queue: the shipments waiting at this station, the scan box that opens one, and the sync line."""


from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from fulfillment.accounts.locations import can_see_location

from .. import selectors, tasks
from ..forms import (
    ScanForm,
)
from .base import QUEUE_PAGE, _fragment, can_pack, station_view


@require_GET
@station_view
def queue(request, station):
    context = {"station": station, "queue": selectors.queue_for_location(station.location_id),
               "scan_form": ScanForm(), **_sync_context(request, station)}
    return render(request, QUEUE_PAGE, context)


def _ago(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{round(seconds / 3600)} h"


def _sync_context(request, station):
    """How fresh the queue is: when Amazon was last read for this location, and whether a sync runs."""
    state = selectors.sync_state(station.location_id)
    checked = state.last_synced_at
    age = max(int((timezone.now() - checked).total_seconds()), 0) if checked else None
    return {
        "sync": state,
        "sync_age": _ago(age) if age is not None else "",
        "sync_age_seconds": age,
        "sync_running": tasks.sync_running(station.location_id),
        "can_pack": can_pack(request.user),
    }


@require_http_methods(["GET", "POST"])
@station_view
def sync(request, station):
    """The queue's "Amazon checked … ago" line, polled; POST is its "Sync now" button."""
    if request.method == "POST":
        tasks.request_sync(station.location_id)
        if not request.htmx:
            return redirect("shipments:queue")
    context = {"station": station, **_sync_context(request, station)}
    response = render(request, _fragment(QUEUE_PAGE, "sync_status"), context)
    if not context["sync_running"] and (request.method == "POST" or request.GET.get("running")):
        trigger_client_event(response, "queue-synced")  # the sync just ended: redraw the queue now
    return response


@require_GET
@station_view
def queue_list(request, station):
    """The queue table alone: the page re-fetches it every 10 seconds."""
    context = {"station": station, "queue": selectors.queue_for_location(station.location_id)}
    return render(request, _fragment(QUEUE_PAGE, "queue_list"), context)


@require_GET
@station_view
def open_shipment(request, station):
    """The scan box: a shipment id, buyer order id or tracking number opens that shipment. What was
    scanned stays in the box when it opens nothing, with why."""
    form = ScanForm(request.GET)
    if form.is_valid():
        code = form.cleaned_data["q"]
        shipment = selectors.find_shipment(code, location_id=station.location_id)
        if shipment is not None:
            url = reverse("shipments:detail", args=[shipment.amazon_id])
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
        elsewhere = selectors.find_shipment(code)
        if elsewhere is not None and can_see_location(request.user, elsewhere.location_id):
            # One of the user's other locations: say which, so they can change station.
            form.add_error("q", f"{code} belongs to location {elsewhere.location_id}, not {station.location_id}. "
                                "Choose a station of that location to pack it.")
        else:
            # Nothing, or another location's shipment: the same answer (its ids are not confirmed here).
            form.add_error("q", f"No shipment found for “{code}” here: it is no shipment id, buyer order id or "
                                "tracking number at this location. Check the code and scan again.")
    context = {"station": station, "scan_form": form}
    if request.htmx:
        return render(request, _fragment(QUEUE_PAGE, "scan_form"), context)
    context.update(queue=selectors.queue_for_location(station.location_id), **_sync_context(request, station))
    return render(request, QUEUE_PAGE, context, status=404)
