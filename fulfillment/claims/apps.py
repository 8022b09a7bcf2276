from django.apps import AppConfig


class ClaimsConfig(AppConfig):
    name = "fulfillment.claims"
    verbose_name = "Shipment claims"
