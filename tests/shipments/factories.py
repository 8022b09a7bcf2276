"""Small builders for shipments as the station stores them (no Amazon involved)."""

from decimal import Decimal
from itertools import count

from fulfillment.shipments.models import LineItem, Package, PackageLineItem, Programme, Shipment

_ids = count(1)
CHANNELS = {
    Programme.EASY_SHIP: ("MFN", "MARKETPLACE"),
    Programme.SELF_SHIP: ("MFN", "SELF"),
    Programme.SELLER_FLEX: ("FBA", "MARKETPLACE"),
}
INDIA = "A21TJRUUN4KGV"
US = "ATVPDKIKX0DER"


def shipment(programme=Programme.EASY_SHIP, status="ACCEPTED", *, marketplace=INDIA, invoice="REQUIRED",
             pslip="NOT_REQUIRED", lines=(("SKU-1", 1),), compliance=None, **extra):
    channel, shipping_type = CHANNELS[programme]
    n = next(_ids)
    made = Shipment.objects.create(
        amazon_id=f"TEST-{n}", location_id="LOC", marketplace_id=marketplace, channel_name=channel,
        shipping_type=shipping_type, programme=programme, status=status, buyer_order_id=f"171-{n:07d}",
        invoice_requirement=invoice, pslip_requirement=pslip, **extra,
    )
    for number, (sku, units) in enumerate(lines, start=1):
        values = {
            "piece_type": "SINGLE", "serial_number_requirement": "DISALLOWED",
            "hazmat_labels_requirement": "DISALLOWED", "country_of_origin_requirement": "DISALLOWED",
            "item_value_requirement": "DISALLOWED", **(compliance or {}),
        }
        LineItem.objects.create(shipment=made, line_item_id=str(number), merchant_sku=sku, number_of_units=units,
                                **values)
    return made


def package(shipment, *, state=Package.State.CONFIRMED, known=True, label_status=Package.LabelStatus.NONE, **extra):
    position = shipment.packages.count() + 1
    made = Package.objects.create(
        shipment=shipment, package_id=f"PKG{position}-T", position=position, length=Decimal("10"),
        width=Decimal("10"), height=Decimal("10"), weight=Decimal("100"), state=state, known_to_amazon=known,
        label_status=label_status, **extra,
    )
    for line in shipment.line_items.all():
        PackageLineItem.objects.create(package=made, line_item=line, quantity=line.number_of_units)
    return made


def synced(at, *, error="", account=None):
    """Mark every status of a seller account's sync (default: the settings' account) as read at `at`."""
    from django.conf import settings

    from fulfillment.shipments.models import SyncCursor
    from fulfillment.shipments.programmes import SYNC_STATUSES

    for status in SYNC_STATUSES:
        SyncCursor.objects.update_or_create(seller_account=account or settings.AMAZON_SELLER_ACCOUNT, status=status,
                                            defaults={"last_synced_at": at, "last_error": error})
