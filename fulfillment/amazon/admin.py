from django.contrib import admin

from .models import AmazonCall


@admin.register(AmazonCall)
class AmazonCallAdmin(admin.ModelAdmin):
    """Read-only: the log is evidence of what was sent to Amazon."""

    list_display = ["created_at", "seller_account", "operation", "shipment_id", "package_id", "http_status", "duration_ms", "error_code", "request_id"]
    list_filter = ["operation", "http_status", "seller_account"]
    search_fields = ["shipment_id", "package_id", "request_id", "error_code"]
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
