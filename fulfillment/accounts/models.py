"""Seller accounts: the Login with Amazon credentials Packbench calls Amazon with."""

from django.conf import settings
from django.db import models
from encrypted_fields.fields import EncryptedTextField


class SellerAccount(models.Model):
    """One seller's SP-API authorisation. Secrets are encrypted at rest (Fernet keys derived
    from SECRET_KEY and SALT_KEY; SECRET_KEY_FALLBACKS keep old rows readable after a rotation)."""

    name = models.CharField(max_length=80, unique=True, help_text="Also names the account's rate-limit buckets.")
    endpoint = models.CharField(
        max_length=255, default="eu", help_text="na, eu, fe, sandbox-na, sandbox-eu, sandbox-fe, or a URL."
    )
    token_url = models.URLField(default="https://api.amazon.com/auth/o2/token")
    marketplace_ids = models.CharField(max_length=255, blank=True, help_text="Comma-separated marketplace ids.")
    lwa_client_id = models.CharField("LWA client id", max_length=255)
    lwa_client_secret = EncryptedTextField("LWA client secret")
    refresh_token = EncryptedTextField()
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def __repr__(self):
        # Never let a secret reach a log line or a traceback through repr().
        return f"<SellerAccount {self.name!r}>"


class LocationMembership(models.Model):
    """A user belongs to a location (Amazon's location id, as its stations name it): they work at its
    stations and see its shipments, claims, documents and people. Admins belong everywhere; the rule
    is `fulfillment.accounts.locations`."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="location_memberships")
    location_id = models.CharField(max_length=64, help_text="Amazon's location id, as the stations name it.")

    class Meta:
        ordering = ["location_id"]
        constraints = [models.UniqueConstraint(fields=["user", "location_id"], name="one_membership_per_location")]

    def __str__(self):
        return f"{self.user} at {self.location_id}"
