from django.urls import path

from . import views

app_name = "stations"
urlpatterns = [
    path("", views.choose_station, name="choose"),
    path("<int:pk>/use/", views.set_station, name="use"),
    path("devices/", views.devices, name="devices"),
]
