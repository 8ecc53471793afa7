"""The dashboard's pages: sign in, sign out, and the one page of panels.

Thin on purpose: the page is static HTML plus ES modules that call the public API. The view
only tells the page who is signed in and what they may do, so it can hide controls the API
would refuse anyway (the API, not the page, enforces every permission).
"""

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import LoginView, LogoutView
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.urls import reverse, reverse_lazy
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.generic import TemplateView

from dsta.kernel.permissions import principal_from_user

# Same-origin only: no CDN, no inline script, no external URL can load even by mistake.
# 'self' in connect-src also covers ws:/wss: to the same host (CSP Level 3).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def content_security_policy(
    view: Callable[..., HttpResponseBase],
) -> Callable[..., HttpResponseBase]:
    """Add the dashboard's Content-Security-Policy header to the view's responses."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response

    return wrapped


def root_redirect(request: HttpRequest) -> HttpResponse:
    """``/`` opens the dashboard (which sends anonymous visitors to its login page)."""
    return HttpResponseRedirect(reverse("dashboard:index"))


@method_decorator(content_security_policy, name="dispatch")
class DashboardLoginView(LoginView):
    """Django's session login with the dashboard's template; signed-in users skip it."""

    template_name = "dashboard/login.html"
    redirect_authenticated_user = True
    next_page = "dashboard:index"  # a URL name: Django resolves it

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        """Also the single sign-on link, when an OpenID Connect provider is configured."""
        context = super().get_context_data(**kwargs)
        if settings.DSTA_OIDC_ISSUER:
            after = self.get_redirect_url() or reverse("dashboard:index")
            context["oidc_login_url"] = f"{reverse('auth-oidc-login')}?{urlencode({'next': after})}"
        return context


class DashboardLogoutView(LogoutView):
    """Sign out (POST only, as Django requires) and return to the login page."""

    next_page = "dashboard:login"


@method_decorator([content_security_policy, ensure_csrf_cookie], name="dispatch")
class DashboardView(LoginRequiredMixin, TemplateView):
    """The page of panels. ``ensure_csrf_cookie``: the scripts send the cookie's token on
    every unsafe request (cancel a job, flip the kill switch)."""

    template_name = "dashboard/index.html"
    login_url = reverse_lazy("dashboard:login")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        """Who is signed in, their role, and whether they may write configuration (admins)."""
        context = super().get_context_data(**kwargs)
        principal = principal_from_user(self.request.user)
        context.update(
            role=principal.role or "none",
            can_write_config=principal.has_role("admin"),
            config_environment=settings.DSTA_CONFIG_ENVIRONMENT,
        )
        return context
