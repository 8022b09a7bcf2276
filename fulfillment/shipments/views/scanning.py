"""The station's devices on the shipment page: the live scale beside the open carton's weight."""

from django.shortcuts import render

from .. import weighing
from .base import station_view

DEVICES_PAGE = "shipments/devices.html"


@station_view
def scale_reading(request, station, shipment):
    """The scale's weight now, polled by the open carton's weight box (`?for=<input id>`). With the
    packages form's quantities (`…-qty_<line>`), the plausibility check weighs that carton's items;
    without, the whole shipment's."""
    lines = list(shipment.line_items.all())
    quantities = {}
    for name, value in request.GET.items():
        if "-qty_" in name:
            try:
                quantities[name.split("-qty_", 1)[1]] = int(value or 0)
            except ValueError:
                pass
    units = weighing.units_by_sku(lines, quantities or None)
    whole = not quantities or units == weighing.units_by_sku(lines)
    context = {
        "shipment": shipment,
        "weighing": weighing.weigh(station, shipment, units, whole_shipment=whole),
        "target": request.GET.get("for", ""),
        "unit_target": request.GET.get("unit_for", ""),
    }
    return render(request, f"{DEVICES_PAGE}#scale_reading", context)
