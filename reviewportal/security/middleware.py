"""Browser security headers on every response.

Django's SecurityMiddleware already sends nosniff, Referrer-Policy, Cross-Origin-Opener-Policy
and (in production) HSTS; this adds Permissions-Policy, and a Content-Security-Policy whose
connect-src names this host's websocket origin.
"""

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware
from django.conf import settings
from django.core.exceptions import DisallowedHost

# What a view may set on its response to change the policy (django-csp's decorators).
_PER_RESPONSE = ("_csp_config", "_csp_update", "_csp_replace", "_csp_exempt")


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        response.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        return response


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, with connect-src naming this host's websocket origin.

    An answer that used no nonce and whose view changed nothing (every API answer) gets the same
    headers as the last such answer for this scheme and host: django-csp builds them anew for
    every response, 3 % of an API call's CPU. Anything else goes through django-csp as it is.
    """

    KEPT_HOSTS = 16  # at most this many hosts' headers are kept (ALLOWED_HOSTS may be "*")

    def __init__(self, get_response):
        super().__init__(get_response)
        self._kept = {}

    def process_response(self, request, response):
        key = self._key(request, response)
        kept = self._kept.get(key) if key else None
        if kept is None:
            response = super().process_response(request, response)
            if key:
                if len(self._kept) >= self.KEPT_HOSTS:
                    self._kept.clear()
                self._kept[key] = (response.get(HEADER), response.get(HEADER_REPORT_ONLY))
            return response
        for header, value in zip((HEADER, HEADER_REPORT_ONLY), kept, strict=True):
            if value is not None:
                response[header] = value
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)  # as django-csp does
        return response

    @staticmethod
    def _key(request, response) -> tuple | None:
        """What the headers depend on, when that is only the scheme and the host; else None."""
        if getattr(request, "_csp_nonce", None) is not None or settings.DEBUG:
            return None
        if HEADER in response or HEADER_REPORT_ONLY in response:
            return None
        if any(hasattr(response, name) or hasattr(response, f"{name}_ro") for name in _PER_RESPONSE):
            return None
        for setting in ("CONTENT_SECURITY_POLICY", "CONTENT_SECURITY_POLICY_REPORT_ONLY"):
            if (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES"):
                return None
        try:
            return (request.is_secure(), request.get_host())
        except DisallowedHost:
            return None

    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only)
        try:
            host = request.get_host()
        except DisallowedHost:
            return parts  # the request was already refused with 400; its answer needs no websocket
        # 'self' does not cover websockets in every browser; name this origin's ws(s) explicitly.
        scheme = "wss" if request.is_secure() else "ws"
        parts.update = {**(parts.update or {}), "connect-src": [f"{scheme}://{host}"]}
        return parts
