"""Deny by default: every request is signed in with both factors, or on a short allow-list.

SessionLifetimeMiddleware ends sessions that sat idle too long or lived too long.
RequireSecondFactorMiddleware sends people without a verified second factor to verify or enrol
(pages) or answers 403 JSON (API, audio), and sends anonymous visitors to sign in.
"""

import time

from django.conf import settings
from django.contrib.auth import logout
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from reviewportal.accounts.mfa import has_confirmed_totp
from reviewportal.audit import trail
from reviewportal.audit.models import Action, Outcome

SESSION_STARTED = "session_started_at"
SESSION_SEEN = "session_seen_at"
# Writing the session on every request would cost a database write each time; a minute of
# slack on the idle timeout is the price of writing at most once a minute.
SEEN_RESOLUTION_SECONDS = 60


class SessionLifetimeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = time.time()
            started = request.session.setdefault(SESSION_STARTED, now)
            seen = request.session.get(SESSION_SEEN, now)
            if now - seen > settings.SESSION_IDLE_SECONDS or now - started > settings.SESSION_MAX_SECONDS:
                reason = "idle" if now - seen > settings.SESSION_IDLE_SECONDS else "lifetime"
                trail.record(Action.SESSION_EXPIRED, detail={"reason": reason})
                logout(request)
            elif now - seen >= SEEN_RESOLUTION_SECONDS or SESSION_SEEN not in request.session:
                request.session[SESSION_SEEN] = now
        return self.get_response(request)


def _is_open(path: str) -> bool:
    """Anyone may reach these: signing in and out, health, static files, token-only integrations."""
    if path in (reverse("login"), reverse("logout"), reverse("healthz")):
        return True
    return path.startswith((settings.STATIC_URL, "/api/v1/ingest/", "/api/v1/integrations/"))


def _is_second_factor_step(path: str) -> bool:
    """A password-only session may reach these on its way to a verified one."""
    return path in (reverse("verify"), reverse("enrol"))


class RequireSecondFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path
        if _is_open(path):
            return self.get_response(request)
        user = request.user
        if not user.is_authenticated:
            return self._refuse(request, "Sign in first", "login")
        if user.is_verified():
            return self.get_response(request)
        if _is_second_factor_step(path):
            return self.get_response(request)
        return self._refuse(
            request, "Sign in with your second factor first", "verify" if has_confirmed_totp(user) else "enrol"
        )

    @staticmethod
    def _refuse(request, message: str, page: str):
        trail.record(
            Action.PERMISSION_DENIED,
            outcome=Outcome.DENIED,
            object_type="path",
            object_id=request.path[:64],
            detail={
                "reason": "not signed in" if page == "login" else "second factor required",
                "method": request.method,
            },
        )
        if (
            not request.path.startswith("/api/")
            and not request.path.startswith("/audio/")
            and request.method in ("GET", "HEAD")
        ):
            target = request.get_full_path()
            query = (
                urlencode({"next": target}) if url_has_allowed_host_and_scheme(target, None) and target != "/" else ""
            )
            return redirect(reverse(page) + (f"?{query}" if query else ""))
        return JsonResponse({"detail": message}, status=403)
