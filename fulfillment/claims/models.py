"""Who is working on a shipment right now.

A claim is a lease: the packer's open shipment page renews it every 30 seconds, so a
closed tab or a crashed station frees the shipment once the lease runs out.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Claim(models.Model):
    # One row per shipment at most: the unique key is what makes two racing packers end with one winner.
    shipment = models.OneToOneField("shipments.Shipment", on_delete=models.CASCADE, related_name="claim")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="claims")
    claimed_at = models.DateTimeField()
    lease_expires_at = models.DateTimeField(db_index=True)

    def __str__(self):
        return f"{self.shipment_id} claimed by {self.user}"

    def is_live(self, now=None):
        return self.lease_expires_at > (now or timezone.now())
