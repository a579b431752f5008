"""Who is asking, and deny by default: every request is signed in with both factors, or on a short allow-list.

SignedInUserMiddleware sets request.user, with its second factor, as Django's and django-otp's
middleware would, in one query. SessionLifetimeMiddleware ends sessions that sat idle too long or lived too long.
RequireSecondFactorMiddleware sends people without a verified second factor to verify or enrol
(pages) or answers 403 JSON (API, audio), and sends anonymous visitors to sign in.
"""

import functools
import time

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import auth
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, logout
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import get_script_prefix, reverse
from django.utils.crypto import constant_time_compare
from django.utils.functional import SimpleLazyObject
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.middleware import OTPMiddleware
from django_otp.plugins.otp_totp.models import TOTPDevice

from reviewportal.accounts.mfa import has_confirmed_totp
from reviewportal.audit import trail
from reviewportal.audit.models import Action, Outcome
from reviewportal.precompiled import precompiled

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
TOTP_DEVICE = TOTPDevice._meta.label_lower  # how django-otp names the model in a persistent id
SESSION_STARTED = "session_started_at"
SESSION_SEEN = "session_seen_at"
# Writing the session on every request would cost a database write each time; a minute of
# slack on the idle timeout is the price of writing at most once a minute.
SEEN_RESOLUTION_SECONDS = 60


@precompiled
def _totp_device_with_user(device_id: int, user_id: int):
    return TOTPDevice.objects.filter(pk=device_id, user_id=user_id).select_related("user")


class SignedInUserMiddleware(AuthenticationMiddleware):
    """Django's AuthenticationMiddleware and django-otp's OTPMiddleware in one, with one query.

    request.user is what the two would give: the session's user, with `otp_device` and
    `is_verified()`. The two read the user and then the device, a query each, on every request.
    Here, when the session says the password was checked by ModelBackend and the second factor
    by a TOTP device (every request of a signed-in person), the device is read joined to its
    user, and the user is taken only if everything the two libraries check holds: the device is
    the user's and confirmed, the user may sign in (is_active), and the session's password hash
    matches under the current SECRET_KEY. Anything else (no device yet, a static code, a hash
    made with a fallback key, a changed password, a deactivated user) goes down the libraries'
    own path, which also does what they do then (rotate the session key, flush the session,
    drop the device).
    """

    def __init__(self, get_response):
        super().__init__(get_response)
        self.otp = OTPMiddleware(get_response)  # for its own path, used as is

    def process_request(self, request):
        request.user = SimpleLazyObject(lambda: self.signed_in_user(request))
        request.auser = sync_to_async(lambda: self.signed_in_user(request))

    def signed_in_user(self, request):
        if not hasattr(request, "_cached_user"):
            user = self._user_with_totp_device(request)
            if user is None:
                user = self.otp._verify_user_sync(request, auth.get_user(request))
            request._cached_user = user
        return request._cached_user

    @staticmethod
    def _user_with_totp_device(request):
        """The user and their TOTP device in one query, if nothing about them is out of the ordinary."""
        session = request.session
        label, _, device_id = (session.get(DEVICE_ID_SESSION_KEY) or "").rpartition("/")
        if label != TOTP_DEVICE or session.get(BACKEND_SESSION_KEY) != MODEL_BACKEND:
            return None
        if MODEL_BACKEND not in settings.AUTHENTICATION_BACKENDS:
            return None
        try:
            user_id, device_id = int(session[SESSION_KEY]), int(device_id)
        except (KeyError, TypeError, ValueError):
            return None
        device = _totp_device_with_user.first(device_id=device_id, user_id=user_id)
        if device is None or not device.confirmed:
            return None
        user = device.user
        if not auth.load_backend(MODEL_BACKEND).user_can_authenticate(user):
            return None
        if not constant_time_compare(session.get(HASH_SESSION_KEY) or "", user.get_session_auth_hash()):
            return None
        OTPMiddleware._init_user_fields(user)
        user.otp_device = device
        return user


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
    if path in _paths("login", "logout", "healthz"):
        return True
    return path.startswith((settings.STATIC_URL, "/api/v1/ingest/", "/api/v1/integrations/"))


def _is_second_factor_step(path: str) -> bool:
    """A password-only session may reach these on its way to a verified one."""
    return path in _paths("verify", "enrol")


def _paths(*names: str) -> frozenset[str]:
    """The paths of these URL names, reversed once per URLconf and prefix, not on every request."""
    return _reversed(names, settings.ROOT_URLCONF, get_script_prefix())


@functools.cache
def _reversed(names: tuple[str, ...], urlconf: str, prefix: str) -> frozenset[str]:
    return frozenset(reverse(name) for name in names)


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
