"""Documents a shipment needs at the station: Amazon's invoice and labels exactly as received,
and the packing slip we render. The printable PDF is cached next to the original bytes."""

import hashlib

from django.db import models
from django.utils import timezone


class Document(models.Model):
    class Kind(models.TextChoices):
        INVOICE = "INVOICE", "Invoice"
        PACKING_SLIP = "PACKING_SLIP", "Packing slip"
        LABEL = "LABEL", "Shipping label"

    shipment = models.ForeignKey("shipments.Shipment", on_delete=models.CASCADE, related_name="documents")
    package = models.ForeignKey(
        "shipments.Package", null=True, blank=True, on_delete=models.CASCADE, related_name="documents"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    content = models.BinaryField(help_text="The bytes exactly as Amazon sent them (or as rendered).")
    original_format = models.CharField(max_length=16, blank=True, help_text="Amazon's format field, e.g. ZPL, PDF.")
    content_type = models.CharField(max_length=100, blank=True)
    sha256 = models.CharField(max_length=64)
    tracking_id = models.CharField(max_length=128, blank=True)
    carrier_name = models.CharField(max_length=128, blank=True)
    # Without the presigned query: that part is a credential.
    source_url = models.CharField(max_length=1000, blank=True)
    fetched_at = models.DateTimeField(default=timezone.now)
    superseded = models.BooleanField(default=False)
    regenerate_reason = models.CharField(max_length=255, blank=True)
    printable_pdf = models.BinaryField(null=True, blank=True, help_text="Cached PDF for the browser's print dialog.")

    class Meta:
        ordering = ["shipment", "kind", "-fetched_at", "-id"]
        indexes = [models.Index(fields=["shipment", "kind", "superseded"], name="document_current_idx")]

    def __str__(self):
        target = self.package.package_id if self.package_id else self.shipment.amazon_id
        return f"{self.get_kind_display()} {target}"

    def save(self, *args, **kwargs):
        self.content = bytes(self.content or b"")
        self.sha256 = hashlib.sha256(self.content).hexdigest()
        super().save(*args, **kwargs)

    @property
    def is_zpl(self) -> bool:
        return self.original_format.upper() == "ZPL" or "zpl" in self.content_type.lower()

    def original_file(self):
        """The stored file as it is served for download (`formats.OriginalFile`: bytes, media type,
        extension), its type decided by its bytes. Raises DocumentError for bytes that are no
        document: those are never served."""
        from . import formats

        return formats.original_file(bytes(self.content), is_label=self.kind == self.Kind.LABEL)

    def pdf(self) -> bytes | None:
        """The printable PDF, rendered once and cached; None for ZPL (it goes to the Zebra printer).

        Raises `fulfillment.documents.errors.DocumentError` when the bytes cannot be read."""
        if self.printable_pdf:
            return bytes(self.printable_pdf)
        if self.is_zpl:
            return None
        from . import rendering

        content = bytes(self.content)
        if self.kind == self.Kind.LABEL:
            pdf = rendering.label_to_printable_pdf(content, self.content_type)
        elif self.content_type == "application/pdf" and content.startswith(b"%PDF"):
            pdf = content
        else:
            pdf = rendering.invoice_to_pdf(content, self.original_format or None).pdf
        self.printable_pdf = pdf
        if self.pk:
            Document.objects.filter(pk=self.pk).update(printable_pdf=pdf)
        return pdf
