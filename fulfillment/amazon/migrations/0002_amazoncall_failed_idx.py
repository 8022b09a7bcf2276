from django.db import migrations, models


class Migration(migrations.Migration):
    """The supervisor's board lists the failed Amazon calls of the last hours: a few hundred among
    thousands of successful ones. This index holds the failed ones only (fulfillment/supervision/selectors.py,
    `amazon_errors`; its predicate is exactly that query's filter)."""

    dependencies = [
        ("amazon", "0001_initial"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="amazoncall",
            index=models.Index(
                condition=models.Q(("http_status__gte", 400), ("http_status__isnull", True), _connector="OR"),
                fields=["created_at"],
                name="amazoncall_failed_idx",
            ),
        ),
    ]
