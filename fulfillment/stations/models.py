"""Where packing happens: stations with their printer, the boxes on the shelf, and
the barcodes on products that are not their merchant SKU."""

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models

from fulfillment.shipments.workflow import DEFAULT_BOUNDS as _bounds
from fulfillment.shipments.workflow import PackageBounds


class Station(models.Model):
    name = models.CharField(max_length=80, unique=True)
    # Amazon's identifier of the physical location whose shipments this station packs.
    location_id = models.CharField(max_length=64, db_index=True)
    timezone = models.CharField(max_length=64, default="UTC", help_text="Shown for pickup windows and ship-by times.")
    printer_host = models.CharField(max_length=255, blank=True, help_text="Zebra printer for ZPL labels (raw TCP).")
    printer_port = models.PositiveIntegerField(default=9100)
    # The station's other devices; empty = none (weights typed, documents printed from the browser).
    scale_host = models.CharField(max_length=255, blank=True,
                                  help_text="Network scale speaking MT-SICS over TCP (Mettler-Toledo and compatibles).")
    scale_port = models.PositiveIntegerField(default=4001)
    document_printer_url = models.CharField(
        max_length=500, blank=True,
        help_text="IPP printer for invoices and packing slips, e.g. ipp://192.168.1.20/ipp/print.",
    )
    # A location belongs to one seller: its stations name the account Packbench reaches Amazon with.
    seller_account = models.ForeignKey(
        "accounts.SellerAccount", null=True, blank=True, on_delete=models.PROTECT, related_name="stations",
        help_text="Empty: the account of the settings (AMAZON_LWA_* variables).",
    )
    # What a plausible package measures here: the packing forms refuse a typo outside these before
    # Amazon buys a label for it. Defaults: shipments.workflow.PackageBounds; Amazon's 5 g minimum always holds.
    min_package_side_cm = models.DecimalField(
        "shortest box side (cm)", max_digits=7, decimal_places=2, default=_bounds.min_side_cm,
        validators=[MinValueValidator(Decimal("0.01"))], help_text="A length, width or height below this is refused.",
    )
    max_package_side_cm = models.DecimalField(
        "longest box side (cm)", max_digits=7, decimal_places=2, default=_bounds.max_side_cm,
        validators=[MinValueValidator(Decimal(1))], help_text="A length, width or height above this is refused.",
    )
    max_package_weight_kg = models.DecimalField(
        "heaviest package (kg)", max_digits=7, decimal_places=3, default=_bounds.max_weight_kg,
        validators=[MinValueValidator(Decimal("0.005"))], help_text="A package weight above this is refused.",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(min_package_side_cm__lt=models.F("max_package_side_cm")),
                                   name="station_box_sides_in_order",
                                   violation_error_message="The shortest box side must be less than the longest."),
        ]

    def __str__(self):
        return self.name

    def package_bounds(self) -> PackageBounds:
        return PackageBounds(min_side_cm=self.min_package_side_cm, max_side_cm=self.max_package_side_cm,
                             max_weight_kg=self.max_package_weight_kg)


class BoxPreset(models.Model):
    """A box size the station stocks; package forms are prefilled from it."""

    class DimensionUnit(models.TextChoices):
        CM = "CM"
        IN = "IN"

    class WeightUnit(models.TextChoices):
        GRAMS = "G"
        KILOGRAMS = "KG"
        POUNDS = "LB"
        OUNCES = "OZ"

    name = models.CharField(max_length=80, unique=True)
    length = models.DecimalField(max_digits=8, decimal_places=2)
    width = models.DecimalField(max_digits=8, decimal_places=2)
    height = models.DecimalField(max_digits=8, decimal_places=2)
    dimension_unit = models.CharField(max_length=2, choices=DimensionUnit.choices, default=DimensionUnit.CM)
    empty_weight = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal(0))
    weight_unit = models.CharField(max_length=2, choices=WeightUnit.choices, default=WeightUnit.GRAMS)
    # Scanned at a scan-to-pack station to name the open carton's box; empty: the command sheet prints PB:BOX:<id>.
    barcode = models.CharField(max_length=64, blank=True, help_text="The barcode on the shelf label of this box.")

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["barcode"], condition=~models.Q(barcode=""),
                                               name="boxpreset_barcode_unique")]

    def __str__(self):
        return f"{self.name} ({self.length}×{self.width}×{self.height} {self.dimension_unit})"


class SkuBarcode(models.Model):
    """A scannable code (EAN, UPC, own label) that stands for a merchant SKU."""

    barcode = models.CharField(max_length=128, unique=True)
    merchant_sku = models.CharField(max_length=128, db_index=True)

    def __str__(self):
        return f"{self.barcode} → {self.merchant_sku}"


class CatalogueItem(models.Model):
    """What one unit of a merchant SKU weighs: the scale's reading is checked against it."""

    merchant_sku = models.CharField(max_length=128, unique=True)
    unit_weight_grams = models.DecimalField(max_digits=9, decimal_places=1, validators=[MinValueValidator(Decimal(0))])

    class Meta:
        ordering = ["merchant_sku"]

    def __str__(self):
        return f"{self.merchant_sku}: {self.unit_weight_grams} g"
