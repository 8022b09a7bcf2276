from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.messages.views import SuccessMessageMixin
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_POST

from . import services
from .roles import ADMIN, SUPERVISOR, has_role, role_required

supervisors_only = role_required(SUPERVISOR, ADMIN)


@method_decorator(login_not_required, name="dispatch")
class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class PasswordChangeView(SuccessMessageMixin, auth_views.PasswordChangeView):
    """Every user changes their own password (the old one first); they stay signed in here."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("home")
    success_message = "Your password is changed."


@supervisors_only
def people(request):
    """Who a supervisor looks after: locked out or not, unlock, a new password."""
    locked = services.locked_until()
    rows = [(user, locked.get(user.get_username())) for user in services.manageable_users(request.user)]
    rows.sort(key=lambda row: (row[1] is None, row[0].get_username()))  # locked out first
    return render(request, "accounts/people.html", {"rows": rows, "is_admin": has_role(request.user, ADMIN)})


@require_POST
@supervisors_only
def unlock(request, pk):
    user = get_object_or_404(services.manageable_users(request.user), pk=pk)
    services.unlock(user, by=request.user)
    messages.success(request, f"{user.get_username()} can sign in again.")
    return redirect("accounts:people")


@supervisors_only
def set_password(request, pk):
    user = get_object_or_404(services.manageable_users(request.user), pk=pk)
    form = SetPasswordForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.set_password(form, by=request.user)
        messages.success(request, f"{user.get_username()} has a new password and can sign in with it now. "
                                  "Tell them in person, and ask them to change it (Password, top right).")
        return redirect("accounts:people")
    return render(request, "accounts/set_password.html", {"form": form, "person": user})
