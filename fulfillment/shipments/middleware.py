"""A station page polls (queue, step progress, claim heartbeat). When the session has expired,
LoginRequiredMiddleware answers those HTMX requests with a redirect to the login page, which
HTMX would follow and swap into the panel. Instead, HTMX is told to load the login page as a
whole page, coming back to the page the packer was on after signing in.

Place after AuthenticationMiddleware (it reads request.user).
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect


class HtmxLoginRedirectMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            request.headers.get("HX-Request") == "true"
            and not request.user.is_authenticated
            and response.status_code in (301, 302)
            and urlsplit(response.get("Location", "")).path == urlsplit(resolve_url(settings.LOGIN_URL)).path
        ):
            return HttpResponseClientRedirect(redirect_to_login(self._back_to(request))["Location"])
        return response

    @staticmethod
    def _back_to(request) -> str:
        """The page in the browser (HX-Current-URL), not the fragment it polled; ours only."""
        current = request.headers.get("HX-Current-URL", "")
        if current and url_has_allowed_host_and_scheme(current, allowed_hosts={request.get_host()},
                                                       require_https=request.is_secure()):
            parts = urlsplit(current)
            return parts.path + (f"?{parts.query}" if parts.query else "")
        return request.get_full_path()
