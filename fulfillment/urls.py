from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    # The packing queue is the station's home screen.
    path("", RedirectView.as_view(pattern_name="shipments:queue", permanent=False), name="home"),
    path("accounts/", include("fulfillment.accounts.urls")),
    path("stations/", include("fulfillment.stations.urls")),
    path("shipments/", include("fulfillment.shipments.urls")),
    path("claims/", include("fulfillment.claims.urls")),
    path("supervision/", include("fulfillment.supervision.urls")),
    path("admin/", admin.site.urls),
]
