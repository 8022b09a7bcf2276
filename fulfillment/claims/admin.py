from django.contrib import admin

from .models import Claim


@admin.register(Claim)
class ClaimAdmin(admin.ModelAdmin):
    list_display = ("shipment", "user", "claimed_at", "lease_expires_at")
    list_select_related = ("shipment", "user")
    search_fields = ("shipment__amazon_id", "user__username")
