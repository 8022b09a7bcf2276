from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("people/", views.people, name="people"),
    path("people/<int:pk>/unlock/", views.unlock, name="unlock"),
    path("people/<int:pk>/password/", views.set_password, name="set_password"),
]
