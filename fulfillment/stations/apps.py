from django.apps import AppConfig


class StationsConfig(AppConfig):
    name = "fulfillment.stations"
