from django.apps import AppConfig


class AmazonConfig(AppConfig):
    verbose_name = "Amazon External Fulfillment"
    name = "fulfillment.amazon"
