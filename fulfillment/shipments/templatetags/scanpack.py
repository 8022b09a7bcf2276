"""{% scan_cartons shipment as packing %}: the cartons being packed by scanning (services.scanpack)."""

from django import template

from ..services import scanpack

register = template.Library()


@register.simple_tag
def scan_cartons(shipment):
    return scanpack.summary(shipment)
