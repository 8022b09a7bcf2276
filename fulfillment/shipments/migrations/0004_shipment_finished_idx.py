from django.db import migrations, models


class Migration(migrations.Migration):
    """The supervisor's board counts open shipments plus those finished in the last days
    (fulfillment/supervision/selectors.py). This index reads the finished ones of that period alone,
    with what the status table groups by, instead of the whole history."""

    dependencies = [
        ("shipments", "0003_board_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="shipment",
            index=models.Index(
                condition=models.Q(("status__in", ["SHIPPED", "DELIVERED", "CANCELLED", "UNFULFILLABLE"])),
                fields=["amazon_last_updated"],
                include=("location_id", "programme", "status", "id"),
                name="shipment_finished_idx",
            ),
        ),
    ]
