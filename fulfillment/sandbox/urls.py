"""The sandbox's own urlconf (runsandbox installs it as ROOT_URLCONF): Amazon's paths for every
operation served, LWA, the /_sandbox/ control API, and Amazon-shaped 404s for anything else."""

from django.urls import path, re_path

from .core import control, http
from .core.sandbox import registry_for
from .engine import APIS
from .external_fulfillment import control as external_fulfillment_control
from .merchant_fulfillment import control as merchant_fulfillment_control
from .orders import control as orders_control

urlpatterns = [
    path("auth/o2/token", http.token),
    *http.operation_urls(registry_for(APIS)),
    *control.urlpatterns,
    *external_fulfillment_control.urlpatterns,
    *orders_control.urlpatterns,
    *merchant_fulfillment_control.urlpatterns,
    re_path(r"", http.not_found),
]
