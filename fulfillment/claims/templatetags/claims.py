from django import template

from ..selectors import claim_state

register = template.Library()


@register.inclusion_tag("claims/claim_status.html", takes_context=True)
def claim_status(context, shipment, claim_on_open=True):
    """The shipment page's claim panel: `{% load claims %}{% claim_status shipment %}`.

    Rendered with claim_on_open, the panel claims the shipment as soon as the page has loaded
    (opening a shipment claims it) and then renews the lease every 30 seconds.
    """
    state = claim_state(shipment, context["request"].user)
    state["claim_on_open"] = claim_on_open and state["can_claim"] and state["state"] != "other"
    return state
