from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path

from fulfillment.accounts.views import home


@login_not_required
def favicon(request):
    # Browsers ask for /favicon.ico on pages that name no icon (a PDF, an error page).
    return redirect(static("favicon.svg"), permanent=True)


urlpatterns = [
    # Packers start at the queue, supervisors on the floor board.
    path("", home, name="home"),
    path("favicon.ico", favicon, name="favicon"),
    path("accounts/", include("fulfillment.accounts.urls")),
    path("stations/", include("fulfillment.stations.urls")),
    path("shipments/", include("fulfillment.shipments.urls")),
    path("claims/", include("fulfillment.claims.urls")),
    path("supervision/", include("fulfillment.supervision.urls")),
    path("admin/", admin.site.urls),
]
