"""Seller accounts: the Login with Amazon credentials Packbench calls Amazon with."""

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
