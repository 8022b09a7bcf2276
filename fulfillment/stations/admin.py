from django.contrib import admin

from .models import BoxPreset, SkuBarcode, Station

admin.site.register(Station, list_display=("name", "location_id", "seller_account", "printer_host", "printer_port",
                                          "timezone"), list_select_related=("seller_account",))
admin.site.register(BoxPreset, list_display=("name", "length", "width", "height", "dimension_unit"))
admin.site.register(SkuBarcode, list_display=("barcode", "merchant_sku"), search_fields=("barcode", "merchant_sku"))
