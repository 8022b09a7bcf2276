from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("shipments", "0004_shipment_finished_idx"),
    ]

    operations = [
        migrations.AddField(
            model_name="shipment",
            name="scan_skipped_at",
            field=models.DateTimeField(
                blank=True, help_text="The packer chose to pack without scanning every unit.", null=True
            ),
        ),
    ]
