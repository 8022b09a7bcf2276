from django.contrib import admin

from .models import BoxPreset, CatalogueItem, SkuBarcode, Station


@admin.register(Station)
class StationAdmin(admin.ModelAdmin):
    list_display = ("name", "location_id", "seller_account", "printer_host", "printer_port", "timezone",
                    "max_package_side_cm", "max_package_weight_kg")
    list_select_related = ("seller_account",)
    fieldsets = (
        (None, {"fields": ("name", "location_id", "timezone", "seller_account")}),
        ("Label printer", {"fields": ("printer_host", "printer_port")}),
        ("Scale and document printer", {"fields": ("scale_host", "scale_port", "document_printer_url")}),
        ("Plausible packages", {
            "description": "The packing forms refuse a box side or weight outside these (a typo, a misread "
                           "scale) before Amazon buys a label. Amazon's own minimum of 5 g always holds.",
            "fields": ("min_package_side_cm", "max_package_side_cm", "max_package_weight_kg"),
        }),
    )


admin.site.register(BoxPreset, list_display=("name", "length", "width", "height", "dimension_unit", "barcode"))
admin.site.register(SkuBarcode, list_display=("barcode", "merchant_sku"), search_fields=("barcode", "merchant_sku"))
admin.site.register(CatalogueItem, list_display=("merchant_sku", "unit_weight_grams"), search_fields=("merchant_sku",))
