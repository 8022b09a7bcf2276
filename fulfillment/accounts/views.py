from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.shortcuts import redirect
from django.utils.decorators import method_decorator

from .roles import ADMIN, PACKER, SUPERVISOR, has_role


@method_decorator(login_not_required, name="dispatch")
class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


def home(request):
    """Where a signed-in user starts: packers (and admins) at their station's queue, supervisors on
    the floor board, whose every shipment links on to its page."""
    if has_role(request.user, SUPERVISOR) and not has_role(request.user, PACKER, ADMIN):
        return redirect("supervision:board")
    return redirect("shipments:queue")
