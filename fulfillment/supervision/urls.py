from django.urls import path

from . import views

app_name = "supervision"
urlpatterns = [
    path("", views.board, name="board"),
    path("export.csv", views.export, name="export"),
    path("shipments/<str:shipment_id>/", views.history, name="history"),
    path("documents/<int:pk>/", views.document, name="document"),
    path("documents/<int:pk>/reprint/", views.reprint, name="reprint"),
]
