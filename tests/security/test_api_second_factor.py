"""Promise 1 on the API door, without leaning on the middleware: every person-facing DRF view
demands the second factor itself (IsOTPVerified), even where it names its own permission classes.

Regression for issue 3: ClaimView, ClaimNextView and the escalation views replaced the default
with `[IsAuthenticated, …]`, so only RequireSecondFactorMiddleware stood between a password-only
session and the queue.
"""

import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from reviewportal.accounts.permissions import IsOTPVerified
from tests.conftest import enrol_totp, signed_in

pytestmark = pytest.mark.django_db

# Token-only integration endpoints: a service token is not a person and has no second factor.
TOKEN_ONLY = {"api-ingest-clips", "api-opt-outs", "api-deletions", "api-transcripts"}
REQUEST_METHODS = ("get", "post", "put", "patch", "delete")


def drf_views(resolver=None):
    """(url name, view class) for every DRF view the URLconf routes to, through every include."""
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            yield from drf_views(pattern)
        elif isinstance(pattern, URLPattern):
            view_class = getattr(pattern.callback, "view_class", None) or getattr(pattern.callback, "cls", None)
            if isinstance(view_class, type) and issubclass(view_class, APIView):
                yield pattern.name, view_class


def test_the_walk_finds_the_person_and_integration_views():
    names = {name for name, _ in drf_views()}
    assert {"api-queue-claim", "api-queue-claim-next", "api-escalation", "api-duty"} <= names
    assert names >= TOKEN_ONLY


@pytest.mark.parametrize("name", sorted(name for name, _ in drf_views() if name not in TOKEN_ONLY))
def test_every_person_api_view_requires_the_second_factor_itself(name):
    view_class = dict(drf_views())[name]
    classes = [permission() for permission in view_class.permission_classes]
    assert any(isinstance(permission, IsOTPVerified) for permission in classes), (
        f"{name} ({view_class.__name__}) does not include IsOTPVerified in permission_classes"
    )


def test_a_password_only_reviewer_is_refused_by_every_person_view_with_the_middleware_out_of_the_way(reviewer):
    """The view alone, as DRF calls it: an authenticated user whose session has no verified device."""
    factory = APIRequestFactory()
    let_through = []
    for name, view_class in drf_views():
        if name in TOKEN_ONLY:
            continue
        view = view_class.as_view()
        for method in REQUEST_METHODS:
            if not hasattr(view_class, method):
                continue
            request = getattr(factory, method)("/", {}, format="json")
            force_authenticate(request, user=reviewer)  # no OTPMiddleware: user.is_verified is absent
            kwargs = {key: uuid.uuid4() for key in ("clip_id", "lease_id", "case_id", "request_id")}
            kwargs["user_id"] = reviewer.pk
            response = view(request, **{k: v for k, v in kwargs.items() if k in _parameters(name)})
            if response.status_code != 403:
                let_through.append(f"{method.upper()} {name}: {response.status_code}")
    assert let_through == []


def _parameters(name: str) -> set[str]:
    for possibility in get_resolver().reverse_dict.getlist(name):
        return set(possibility[0][0][1])
    return set()


def test_the_claim_refuses_a_password_only_session_when_the_middleware_is_bypassed(settings, reviewer, make_clips):
    make_clips(1)
    enrol_totp(reviewer)
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.endswith("RequireSecondFactorMiddleware")]
    password_only = signed_in(reviewer, verified=False)

    for path in ("/api/v1/queue/claim", "/api/v1/queue/claim-next"):
        response = password_only.post(path)
        assert response.status_code == 403, path
        assert response.json()["detail"] == "Sign in with your second factor first"
    assert not reviewer.leases.exists()
