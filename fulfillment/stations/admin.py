from django.contrib import admin

from .models import BoxPreset, SkuBarcode, Station

admin.site.register(Station, list_display=("name", "location_id", "printer_host", "printer_port", "timezone"))
admin.site.register(BoxPreset, list_display=("name", "length", "width", "height", "dimension_unit"))
admin.site.register(SkuBarcode, list_display=("barcode", "merchant_sku"), search_fields=("barcode", "merchant_sku"))
