from django.urls import path

from . import views

app_name = "claims"
urlpatterns = [
    path("<int:pk>/", views.heartbeat, name="heartbeat"),
    path("<int:pk>/release/", views.release, name="release"),
]
