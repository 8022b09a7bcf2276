"""Admin views for looking things up. Shipment data belongs to Amazon and steps to the workflow,
so they are read-only here: changes go through the station (and so through Amazon)."""

from django.contrib import admin

from fulfillment.documents.models import Document

from .models import (
    LineItem,
    Package,
    PackageLineItem,
    SerialNumber,
    Shipment,
    ShipmentEvent,
    ShipmentStep,
    ShippingOption,
    SyncCursor,
    UnreadableShipment,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class LineItemInline(ReadOnlyInline):
    model = LineItem
    fields = ["line_item_id", "merchant_sku", "number_of_units", "piece_type", "serial_number_requirement",
              "hazmat_labels_requirement", "gift_wrap_requirement", "scanned_units"]
    readonly_fields = fields


class PackageInline(ReadOnlyInline):
    model = Package
    fields = ["package_id", "state", "amazon_status", "label_status", "tracking_id", "shipped_at"]
    readonly_fields = fields


class StepInline(ReadOnlyInline):
    model = ShipmentStep
    fields = ["kind", "status", "requested_by", "attempts", "error_message", "created_at", "finished_at"]
    readonly_fields = fields


@admin.register(Shipment)
class ShipmentAdmin(ReadOnlyAdmin):
    list_display = ["amazon_id", "buyer_order_id", "location_id", "programme", "status", "priority", "ship_by",
                    "units_count", "synced_at"]
    list_filter = ["status", "programme", "location_id", "priority", "requires_serials", "has_hazmat", "gift_wrap"]
    search_fields = ["amazon_id", "buyer_order_id", "line_items__merchant_sku", "packages__tracking_id"]
    date_hierarchy = "ship_by"
    inlines = [LineItemInline, PackageInline, StepInline]


@admin.register(LineItem)
class LineItemAdmin(ReadOnlyAdmin):
    list_display = ["shipment", "line_item_id", "merchant_sku", "number_of_units", "scanned_units"]
    search_fields = ["shipment__amazon_id", "merchant_sku"]
    list_select_related = ["shipment"]


class PackageLineItemInline(ReadOnlyInline):
    model = PackageLineItem
    fields = ["line_item", "quantity", "pieces", "serial_numbers", "country_of_origin", "item_value",
              "item_value_currency"]
    readonly_fields = fields


@admin.register(Package)
class PackageAdmin(ReadOnlyAdmin):
    list_display = ["package_id", "shipment", "state", "amazon_status", "label_status", "tracking_id", "shipped_at"]
    list_filter = ["state", "label_status"]
    search_fields = ["package_id", "shipment__amazon_id", "tracking_id"]
    list_select_related = ["shipment"]
    inlines = [PackageLineItemInline]


@admin.register(SerialNumber)
class SerialNumberAdmin(ReadOnlyAdmin):
    list_display = ["serial", "shipment", "released"]
    list_filter = ["released"]
    search_fields = ["serial", "shipment__amazon_id"]
    list_select_related = ["shipment"]


@admin.register(ShippingOption)
class ShippingOptionAdmin(ReadOnlyAdmin):
    list_display = ["option_id", "shipment", "package", "carrier_name", "ship_by", "pickup_start", "is_recommended"]
    search_fields = ["option_id", "shipment__amazon_id"]
    list_select_related = ["shipment", "package"]


@admin.register(ShipmentEvent)
class ShipmentEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "shipment", "kind", "user", "message"]
    list_filter = ["kind"]
    search_fields = ["shipment__amazon_id", "message"]
    list_select_related = ["shipment", "user"]


@admin.register(ShipmentStep)
class ShipmentStepAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "shipment", "kind", "status", "attempts", "requested_by", "error_code"]
    list_filter = ["status", "kind"]
    search_fields = ["shipment__amazon_id", "error_message"]
    list_select_related = ["shipment", "requested_by"]


@admin.register(SyncCursor)
class SyncCursorAdmin(ReadOnlyAdmin):
    list_display = ["seller_account", "status", "last_synced_at", "last_attempt_at", "last_error"]
    list_filter = ["seller_account"]


@admin.register(UnreadableShipment)
class UnreadableShipmentAdmin(ReadOnlyAdmin):
    list_display = ["shipment_id", "seller_account", "location_id", "first_seen_at", "last_seen_at", "times_seen"]


# Registered here: the documents app's own files belong to the documents engineer.
@admin.register(Document)
class DocumentAdmin(ReadOnlyAdmin):
    list_display = ["fetched_at", "shipment", "package", "kind", "original_format", "content_type", "tracking_id",
                    "superseded"]
    list_filter = ["kind", "superseded", "original_format"]
    search_fields = ["shipment__amazon_id", "tracking_id", "sha256"]
    list_select_related = ["shipment", "package"]
    exclude = ["content", "printable_pdf"]
