"""The sync reads per seller account and status (SyncCursor replaces LocationSync), unreadable
shipments are listed, a step's status is ours until Amazon agrees, steps have a heartbeat, and
Amazon's codes get wider columns."""

import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

SYNC_STATUSES = ("ACCEPTED", "CONFIRMED", "PACKAGE_CREATED", "PICKUP_SLOT_RETRIEVED", "INVOICE_GENERATED",
                 "SHIPLABEL_GENERATED", "CANCELLED", "SHIPPED")


def cursors_from_location_syncs(apps, schema_editor):
    """Each account's cursors start where its locations' syncs had all got to (the oldest of them),
    so the first sync after the upgrade reads what changed since, not every open shipment again."""
    LocationSync = apps.get_model("shipments", "LocationSync")
    Station = apps.get_model("stations", "Station")
    SyncCursor = apps.get_model("shipments", "SyncCursor")
    synced = dict(LocationSync.objects.values_list("location_id", "last_synced_at"))
    accounts: dict[str, list] = {}
    chosen: dict[str, str] = {}
    for location, name, active in Station.objects.order_by("pk").values_list(
            "location_id", "seller_account__name", "seller_account__active"):
        if not chosen.get(location):
            chosen[location] = name if name and active else ""
    for location, name in chosen.items():
        accounts.setdefault(name or settings.AMAZON_SELLER_ACCOUNT, []).append(synced.get(location))
    for account, times in accounts.items():
        if times and all(times):
            SyncCursor.objects.bulk_create(SyncCursor(seller_account=account, status=status, last_synced_at=min(times))
                                           for status in SYNC_STATUSES)


def heartbeats_from_starts(apps, schema_editor):
    ShipmentStep = apps.get_model("shipments", "ShipmentStep")
    ShipmentStep.objects.filter(status="RUNNING").update(heartbeat_at=models.F("started_at"))
    ShipmentStep.objects.filter(status="PENDING").update(heartbeat_at=models.F("created_at"))


class Migration(migrations.Migration):

    dependencies = [
        ('shipments', '0005_shipment_scan_skipped_at'),
        ('stations', '0002_station_seller_account'),
    ]

    operations = [
        migrations.CreateModel(
            name='SyncCursor',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('seller_account', models.CharField(max_length=80)),
                ('status', models.CharField(max_length=32)),
                ('last_synced_at', models.DateTimeField(blank=True, help_text='Start of the last complete read.', null=True)),
                ('last_attempt_at', models.DateTimeField(blank=True, null=True)),
                ('last_error', models.TextField(blank=True)),
            ],
        ),
        migrations.CreateModel(
            name='UnreadableShipment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('seller_account', models.CharField(max_length=80)),
                ('shipment_id', models.CharField(blank=True, max_length=64)),
                ('location_id', models.CharField(blank=True, max_length=64)),
                ('problems', models.JSONField(default=list)),
                ('first_seen_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('last_seen_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('times_seen', models.PositiveIntegerField(default=1)),
            ],
            options={
                'ordering': ['-last_seen_at', '-id'],
            },
        ),
        migrations.RunPython(cursors_from_location_syncs, migrations.RunPython.noop),
        migrations.DeleteModel(
            name='LocationSync',
        ),
        migrations.AddField(
            model_name='shipment',
            name='disagreed_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='shipment',
            name='disagreed_status',
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.AddField(
            model_name='shipment',
            name='local_status_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='shipmentstep',
            name='heartbeat_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='lineitem',
            name='country_of_origin_requirement',
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.AlterField(
            model_name='lineitem',
            name='gift_wrap_requirement',
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.AlterField(
            model_name='lineitem',
            name='hazmat_labels_requirement',
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.AlterField(
            model_name='lineitem',
            name='hsn_code',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AlterField(
            model_name='lineitem',
            name='item_value_requirement',
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.AlterField(
            model_name='lineitem',
            name='piece_type',
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.AlterField(
            model_name='lineitem',
            name='serial_number_requirement',
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.AlterField(
            model_name='shipment',
            name='invoice_requirement',
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.AlterField(
            model_name='shipment',
            name='invoice_status',
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.AlterField(
            model_name='shipment',
            name='priority',
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.AlterField(
            model_name='shipment',
            name='pslip_requirement',
            field=models.CharField(blank=True, max_length=32, verbose_name='packing slip requirement'),
        ),
        migrations.AlterField(
            model_name='shipment',
            name='pslip_status',
            field=models.CharField(blank=True, max_length=32, verbose_name='packing slip status'),
        ),
        migrations.AlterField(
            model_name='shipment',
            name='recommended_dimension_unit',
            field=models.CharField(blank=True, max_length=16),
        ),
        migrations.AlterField(
            model_name='shipment',
            name='recommended_weight_unit',
            field=models.CharField(blank=True, max_length=16),
        ),
        migrations.AlterField(
            model_name='shipment',
            name='shipment_type',
            field=models.CharField(choices=[('NEW', 'New'), ('EXCHANGE', 'Exchange'), ('REPLACEMENT', 'Replacement')], default='NEW', max_length=32),
        ),
        migrations.AlterField(
            model_name='shipment',
            name='sub_status',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AlterField(
            model_name='shipmentevent',
            name='kind',
            field=models.CharField(choices=[('SYNCED', 'Updated from Amazon'), ('STATUS_CHANGED', 'Status changed'), ('CANCELLED', 'Cancelled'), ('STEP_REQUESTED', 'Step requested'), ('STEP_SUCCEEDED', 'Step done'), ('STEP_FAILED', 'Step failed'), ('PACKAGES_SAVED', 'Packages saved'), ('OPTION_CHOSEN', 'Shipping option chosen'), ('DOCUMENT_STORED', 'Document stored'), ('LABEL_PRINTED', 'Label printed'), ('PRINT_FAILED', 'Printing failed'), ('SCANNED', 'Item scanned'), ('SCAN_REFUSED', 'Scan refused'), ('CLAIM', 'Claimed'), ('RELEASE', 'Released'), ('NOTE', 'Note'), ('AMAZON_DISAGREES', 'Amazon disagrees')], max_length=20),
        ),
        migrations.AlterField(
            model_name='shipmentstep',
            name='kind',
            field=models.CharField(choices=[('CONFIRM', 'Confirm'), ('REJECT', 'Reject'), ('CREATE_PACKAGES', 'Create Packages'), ('UPDATE_PACKAGE', 'Update Package'), ('SHIPPING_OPTIONS', 'Shipping Options'), ('INVOICE', 'Invoice'), ('LABELS', 'Labels'), ('FETCH_LABELS', 'Fetch Labels'), ('SHIP', 'Ship'), ('REFRESH', 'Refresh')], max_length=20),
        ),
        migrations.AlterField(
            model_name='shippingoption',
            name='handover_method',
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.AddConstraint(
            model_name='synccursor',
            constraint=models.UniqueConstraint(fields=('seller_account', 'status'), name='synccursor_unique'),
        ),
        migrations.AddConstraint(
            model_name='unreadableshipment',
            constraint=models.UniqueConstraint(fields=('seller_account', 'shipment_id'), name='unreadable_unique'),
        ),
        migrations.RunPython(heartbeats_from_starts, migrations.RunPython.noop),
    ]
