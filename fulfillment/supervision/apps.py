from django.apps import AppConfig


class SupervisionConfig(AppConfig):
    name = "fulfillment.supervision"
    verbose_name = "Supervision"
