"""Pages: the supervisors' live dashboard and case page, the reviewer's flag form and own flags.

Form posts call the same services as the API; the dashboard updates over a websocket
(static/js/escalations-dashboard.js) and works, minus the live part, without it.
"""

import contextlib
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from rest_framework.exceptions import APIException

from annotations.access import TRANSCRIBE, clip_for_user
from annotations.audio import audio_url
from escalations import services, workflow
from escalations.access import case_clip_for_user, case_for_user, identity_request_for_user, may_handle_cases
from escalations.models import Disposition, Escalation, State
from escalations.selectors import open_cases_for_dashboard
from reviewportal.audit import trail
from reviewportal.audit.models import Action
from reviewportal.security.volume import VolumeLimitExceeded

reviews = permission_required("annotations.review_clips", raise_exception=True)


def handles_cases(view):
    """403 unless the user handles cases: the same check as the API, the services and the websocket."""

    @wraps(view)
    def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not may_handle_cases(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return checked


# --- Reviewer ----------------------------------------------------------------------------------


@require_POST
@login_required
def flag(request: HttpRequest, clip_id) -> HttpResponse:
    """The clip page's distress form (no script needed): opens the case, then offers a break."""
    clip = clip_for_user(request.user, clip_id, TRANSCRIBE)
    try:
        start_ms = int(request.POST.get("start_ms") or 0)
        end_ms = int(request.POST.get("end_ms") or clip.duration_ms)
    except ValueError:
        return HttpResponse("start_ms, end_ms: whole milliseconds", status=400, content_type="text/plain")
    try:
        services.escalation_open(
            clip=clip,
            lease=clip.lease,
            raised_by=request.user,
            category=request.POST.get("category", ""),
            start_ms=start_ms,
            end_ms=end_ms,
            note=request.POST.get("note", "")[:2000],
        )
    except ValidationError as error:
        messages.error(request, "; ".join(error.messages))
        return redirect("clip", clip_id=clip.public_id)
    return redirect("after-flag")


@require_GET
@login_required
@reviews
def after_flag(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "escalations/after_flag.html",
        {
            "break_minutes": settings.WELLBEING_BREAK_SECONDS // 60,
            "support_contact": settings.WELLBEING_SUPPORT_CONTACT,
        },
    )


@require_POST
@login_required
@reviews
def take_break(request: HttpRequest) -> HttpResponse:
    wellbeing = services.wellbeing_take_break(reviewer=request.user)
    messages.info(request, f"Your queue is paused until {wellbeing.paused_until:%H:%M} UTC. Take care.")
    return redirect("my-escalations")


@require_POST
@login_required
@reviews
def wellbeing_settings(request: HttpRequest) -> HttpResponse:
    services.wellbeing_set_avoid_distress(reviewer=request.user, avoid=request.POST.get("avoid") == "on")
    if request.POST.get("end_break"):
        services.wellbeing_end_break(reviewer=request.user)
    messages.success(request, "Saved.")
    return redirect("my-escalations")


@require_GET
@login_required
@reviews
def my_escalations(request: HttpRequest) -> HttpResponse:
    cases = Escalation.objects.with_current().filter(raised_by=request.user).order_by("-created_at")[:50]
    rows = [
        {
            "raised_at": case.created_at,
            "status": {State.OPEN: "received", State.CLOSED: "closed"}.get(case.current_state, "acknowledged"),
        }
        for case in cases
    ]
    return render(
        request,
        "escalations/my_escalations.html",
        {
            "rows": rows,
            "wellbeing": services.wellbeing_for(request.user),
            "support_contact": settings.WELLBEING_SUPPORT_CONTACT,
        },
    )


# --- Supervisors -------------------------------------------------------------------------------


@require_GET
@login_required
@handles_cases
def dashboard(request: HttpRequest) -> HttpResponse:
    duty = getattr(request.user, "duty", None)
    cases = open_cases_for_dashboard()
    trail.record(Action.ESCALATIONS_LISTED, object_type="dashboard", object_id="page", detail={"cases": len(cases)})
    return render(
        request,
        "escalations/dashboard.html",
        {
            "cases": cases,
            "on_duty": bool(duty and duty.on_duty),
            "wellbeing": services.wellbeing_summary(),
        },
    )


@require_POST
@login_required
@handles_cases
def duty(request: HttpRequest) -> HttpResponse:
    services.duty_set(supervisor=request.user, on_duty=request.POST.get("on_duty") == "1")
    return redirect("escalation-dashboard")


@require_GET
@login_required
@handles_cases
def case_page(request: HttpRequest, case_id) -> HttpResponse:
    case = case_for_user(request.user, case_id)
    trail.record(Action.ESCALATION_VIEWED, object_type="escalation", object_id=case.public_id)
    recording = case_clip_for_user(request.user, case)
    link = None
    if recording is not None:
        with contextlib.suppress(VolumeLimitExceeded):  # the page says so; the case stays workable
            link = audio_url(request, recording, None)
    state = case.current_state
    return render(
        request,
        "escalations/case.html",
        {
            "case": case,
            "state": state,
            "events": case.events.select_related("actor", "owner").order_by("id"),
            "recording": recording,
            "audio_src": link,
            "next_states": sorted(workflow.plain_moves(state) - {State.CLOSED}),
            "can_close": State.CLOSED in workflow.plain_moves(state),
            "dispositions": [
                (d, Disposition(d).label)
                for d in workflow.closing_dispositions(case.current_disposition if state == State.REFERRED else "")
            ],
            "referrals": [(d, Disposition(d).label) for d in sorted(workflow.REFERRAL_DISPOSITIONS)],
            "pending_referral": services.pending_referral(case),
            "identity_requests": case.identity_requests.select_related("requested_by", "approved_by").order_by(
                "requested_at"
            ),
        },
    )


@require_POST
@login_required
@handles_cases
def case_step(request: HttpRequest, case_id) -> HttpResponse:
    """Every form on the case page posts here with a `step`; the services decide what is allowed."""
    case = case_for_user(request.user, case_id)
    step = request.POST.get("step", "")
    note = request.POST.get("note", "")
    try:
        if step == "transition":
            services.escalation_transition(
                case=case,
                by=request.user,
                to_state=request.POST.get("to_state", ""),
                note=note,
                disposition=request.POST.get("disposition", ""),
            )
        elif step == "comment":
            services.escalation_comment(case=case, by=request.user, note=note)
        elif step == "propose_referral":
            services.referral_propose(
                case=case, by=request.user, disposition=request.POST.get("disposition", ""), note=note
            )
        elif step == "approve_referral":
            services.referral_approve(case=case, by=request.user, note=note)
        elif step == "request_identity":
            services.identity_request(case=case, by=request.user, justification=request.POST.get("justification", ""))
        elif step == "approve_identity":
            identity_request = identity_request_for_user(request.user, request.POST.get("request", ""))
            services.identity_approve(request=identity_request, by=request.user)
        else:
            return HttpResponse("step: unknown", status=400, content_type="text/plain")
    except ValidationError as error:
        messages.error(request, "; ".join(error.messages))
    except APIException as refusal:
        messages.error(request, str(refusal.detail))
    return redirect("escalation", case_id=case.public_id)


@require_GET
@login_required
@handles_cases
def identity_page(request: HttpRequest, request_id) -> HttpResponse:
    identity_request = identity_request_for_user(request.user, request_id)
    try:
        identity = services.identity_reveal(request=identity_request, by=request.user)
    except APIException as refusal:
        messages.error(request, str(refusal.detail))
        return redirect("escalation", case_id=identity_request.escalation.public_id)
    response = render(request, "escalations/identity.html", {"identity": identity, "case": identity_request.escalation})
    response["Cache-Control"] = "no-store"
    return response
