"""A log of every call Packbench makes to Amazon, kept for support and audits."""

from django.db import models


class AmazonCall(models.Model):
    """One HTTP exchange with Amazon (or its label storage), written even when it failed."""

    created_at = models.DateTimeField(auto_now_add=True)
    seller_account = models.CharField(max_length=80, blank=True)
    operation = models.CharField(max_length=40, help_text="Amazon's operation name, e.g. getShipment.")
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500, help_text="Path only; label links lose their signed query.")
    shipment_id = models.CharField(max_length=64, blank=True)
    package_id = models.CharField(max_length=64, blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Empty when no answer came.")
    request_id = models.CharField("x-amzn-RequestId", max_length=100, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error_code = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["shipment_id", "created_at"], name="amazoncall_shipment_idx"),
            models.Index(fields=["created_at"], name="amazoncall_created_idx"),
            # The board's "Amazon errors" panel: recent failed calls only.
            models.Index(fields=["created_at"], name="amazoncall_failed_idx",
                         condition=models.Q(http_status__gte=400) | models.Q(http_status__isnull=True)),
        ]

    def __str__(self):
        return f"{self.operation} {self.http_status or '-'} {self.shipment_id}".strip()
