"""Signing in: the second-factor pages, backup codes, and the supervisors' reset."""

from django.contrib import messages
from django.contrib.auth import get_user_model, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from reviewportal.accounts import mfa
from reviewportal.accounts.roles import REVIEWERS
from reviewportal.audit import trail
from reviewportal.audit.models import Action, Outcome

LOCKED_MESSAGE = (
    "Your second factor is locked after too many wrong codes. Ask a supervisor to reset it; "
    "you will then set up your authenticator app again."
)


class LoginView(auth_views.LoginView):
    """The password step, recorded either way. django-axes counts failures and locks out."""

    redirect_authenticated_user = True
    http_method_names = ["get", "post"]

    def form_valid(self, form):
        response = super().form_valid(form)
        trail.record(Action.LOGIN, actor=form.get_user(), detail={"factor": "password"})
        return response

    def form_invalid(self, form):
        attempted = (form.data.get("username") or "")[:150]
        with trail.context(label=attempted):
            trail.record(Action.LOGIN_FAILED, outcome=Outcome.DENIED, object_type="user")
        return super().form_invalid(form)


class LogoutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            trail.record(Action.LOGOUT)
        return super().post(request, *args, **kwargs)


def locked_out(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """django-axes' answer once a username and address have too many wrong passwords (AXES_LOCKOUT_CALLABLE)."""
    attempted = ((credentials or {}).get("username") or request.POST.get("username") or "")[:150]
    with trail.context(label=attempted):
        trail.record(Action.LOCKOUT, outcome=Outcome.DENIED, object_type="user", detail={"factor": "password"})
    return render(request, "registration/locked_out.html", status=429)


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/"


def _verified(request: HttpRequest, device) -> None:
    """Mark the session verified by `device`, under a new session key (no fixation across the step-up)."""
    request.session.cycle_key()
    otp_login(request, device)


@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    if request.user.is_verified():
        return redirect(_next_url(request))
    if not mfa.has_confirmed_totp(request.user):
        return redirect("enrol")
    error = ""
    status = 200
    if request.method == "POST":
        try:
            device = mfa.verify_code(user=request.user, code=request.POST.get("code", ""))
        except mfa.SecondFactorLocked:
            error, status = LOCKED_MESSAGE, 403
        except mfa.SecondFactorThrottled as throttled:
            error, status = f"Too many wrong codes. Wait {throttled.seconds} s, then try again.", 429
        else:
            if device is not None:
                _verified(request, device)
                return redirect(_next_url(request))
            error, status = "That code is not right. Use the current code from your app, or a backup code.", 400
    elif request.user.otp_locked_at is not None:
        error, status = LOCKED_MESSAGE, 403
    return render(request, "registration/verify.html", {"error": error, "next": _next_url(request)}, status=status)


@require_http_methods(["GET", "POST"])
def enrol(request: HttpRequest) -> HttpResponse:
    if mfa.has_confirmed_totp(request.user):
        return redirect("verify")
    if request.user.otp_locked_at is not None:
        return render(request, "registration/verify.html", {"error": LOCKED_MESSAGE}, status=403)
    enrolment = mfa.enrolment_for(request.user)
    error = ""
    status = 200
    if request.method == "POST":
        try:
            codes = mfa.confirm_enrolment(user=request.user, device=enrolment.device, code=request.POST.get("code", ""))
        except mfa.SecondFactorLocked:
            return render(request, "registration/verify.html", {"error": LOCKED_MESSAGE}, status=403)
        except mfa.SecondFactorThrottled as throttled:
            error, status = f"Too many wrong codes. Wait {throttled.seconds} s, then try again.", 429
        else:
            if codes:
                enrolment.device.refresh_from_db()
                _verified(request, enrolment.device)
                return render(request, "registration/backup_codes.html", {"codes": codes, "next": _next_url(request)})
            error, status = "That code is not right. Check the time on your phone and try the current code.", 400
    context = {"enrolment": enrolment, "error": error, "next": _next_url(request)}
    return render(request, "registration/enrol.html", context, status=status)


@require_http_methods(["GET", "POST"])
def backup_codes(request: HttpRequest) -> HttpResponse:
    """New backup codes, shown once; only for a verified session that types a current code."""
    error = ""
    status = 200
    if request.method == "POST":
        try:
            codes = mfa.regenerate_backup_codes(user=request.user, code=request.POST.get("code", ""))
        except mfa.SecondFactorLocked:
            # Whoever is guessing at an open session's codes loses the session with the factor.
            logout(request)
            return render(request, "registration/verify.html", {"error": LOCKED_MESSAGE}, status=403)
        except mfa.SecondFactorThrottled as throttled:
            error, status = f"Too many wrong codes. Wait {throttled.seconds} s, then try again.", 429
        else:
            if codes:
                return render(request, "registration/backup_codes.html", {"codes": codes, "next": "/"})
            error, status = "That code is not right. Use the current code from your authenticator app.", 400
    return render(request, "registration/new_backup_codes.html", {"error": error}, status=status)


@require_GET
@permission_required("accounts.reset_second_factor", raise_exception=True)
def people(request: HttpRequest) -> HttpResponse:
    """Supervisors: the reviewers, whether each has a second factor, and whether it is locked."""
    reviewers = (
        get_user_model()
        .objects.filter(groups__name=REVIEWERS, is_active=True)
        .order_by("username")
        .only("id", "username", "otp_locked_at", "otp_failures")
    )
    enrolled = set(TOTPDevice.objects.filter(user__in=reviewers, confirmed=True).values_list("user_id", flat=True))
    rows = [{"person": person, "enrolled": person.pk in enrolled} for person in reviewers]
    return render(request, "accounts/people.html", {"rows": rows})


@require_POST
@permission_required("accounts.reset_second_factor", raise_exception=True)
def reset_second_factor(request: HttpRequest, user_id: int) -> HttpResponse:
    person = get_object_or_404(get_user_model(), pk=user_id, groups__name=REVIEWERS)
    mfa.reset_second_factor(user=person, by=request.user)
    messages.success(request, f"{person.get_username()} will set up their second factor again at next sign-in.")
    return redirect("people")
