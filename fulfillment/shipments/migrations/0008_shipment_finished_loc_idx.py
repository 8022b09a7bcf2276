from django.db import migrations, models

from fulfillment.shipments.postgres import AddIndexOnPostgreSQL


class Migration(migrations.Migration):
    """The board's "Shipments matching" list for one location shows its open shipments, then its latest
    finished ones (fulfillment/supervision/selectors.py `matching`). This index gives the finished ones of a
    location in that order (ship_by DESC NULLS LAST, id), so the list reads a page of them instead of
    sorting the location's whole history."""

    dependencies = [
        ("shipments", "0007_mfn_orders"),
    ]

    operations = [
        AddIndexOnPostgreSQL(
            model_name="shipment",
            index=models.Index(
                models.F("location_id"),
                models.OrderBy(models.F("ship_by"), descending=True, nulls_last=True),
                models.F("id"),
                condition=models.Q(("status__in", ["SHIPPED", "DELIVERED", "CANCELLED", "UNFULFILLABLE"])),
                name="shipment_finished_loc_idx",
            ),
        ),
    ]
