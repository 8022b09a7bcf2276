"""The sandbox's own urlconf (runsandbox installs it as ROOT_URLCONF): Amazon's paths, LWA, /_sandbox/."""

from django.urls import path, re_path

from . import views
from .contract import API_PREFIX

base = API_PREFIX.lstrip("/") + "/shipments"

urlpatterns = [
    path("auth/o2/token", views.token),
    path(base, views.api, {"kind": "shipments"}),
    path(f"{base}/<str:shipment_id>", views.api, {"kind": "shipment"}),
    path(f"{base}/<str:shipment_id>/packages", views.api, {"kind": "packages"}),
    path(f"{base}/<str:shipment_id>/packages/<str:package_id>", views.api, {"kind": "package"}),
    path(f"{base}/<str:shipment_id>/shippingOptions", views.api, {"kind": "shippingOptions"}),
    path(f"{base}/<str:shipment_id>/invoice", views.api, {"kind": "invoice"}),
    path(f"{base}/<str:shipment_id>/shipLabels", views.api, {"kind": "shipLabels"}),
    path("_sandbox/reset", views.control_reset),
    path("_sandbox/config", views.control_config),
    path("_sandbox/faults", views.control_faults),
    path("_sandbox/shipments", views.control_shipments),
    path("_sandbox/shipments/<str:shipment_id>", views.control_shipment),
    path("_sandbox/shipments/<str:shipment_id>/cancel", views.control_cancel),
    path("_sandbox/shipments/<str:shipment_id>/carrier-scan", views.control_carrier_scan),
    path("_sandbox/calls", views.control_calls),
    path("_sandbox/live/tick", views.control_live_tick),
    path("_sandbox/labels/<str:label_id>", views.label_file),
    re_path(r"", views.not_found),
]
