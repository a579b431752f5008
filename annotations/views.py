"""Server-rendered pages for the review loop: queue home, clip page, and their form posts.

The clip page carries the waveform editor (static/js/clip-page.js), which works through the API;
inside <noscript> it keeps a plain form that posts to clip_save and lease_release. Every clip and
lease comes through annotations.access.
"""

from contextlib import suppress
from datetime import UTC, datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from annotations import editor, services
from annotations.access import TRANSCRIBE, clip_for_user, lease_for_user
from annotations.api.views import clip_payload
from annotations.errors import ClipWithdrawn, LeaseEnded, OnBreak, TranscriptConflict
from annotations.models import Lease, LeaseOutcome, ReleaseReason, TranscriptRevision
from escalations.models import Category
from reviewportal.accounts.middleware import SESSION_STARTED
from reviewportal.audit import trail
from reviewportal.audit.models import Action
from reviewportal.security.volume import VolumeLimitExceeded


@require_GET
@login_required
def queue_home(request: HttpRequest) -> HttpResponse:
    """The reviewer's count for this shift (since they signed in), and the way into the queue."""
    held = Lease.objects.active().filter(reviewer=request.user, is_next=False).select_related("clip").first()
    shift_started = datetime.fromtimestamp(request.session.get(SESSION_STARTED, timezone.now().timestamp()), tz=UTC)
    submitted = Lease.objects.filter(reviewer=request.user, outcome=LeaseOutcome.SUBMITTED)
    return render(
        request,
        "annotations/queue.html",
        {
            "held": held,
            "shift_started": shift_started,
            "submitted_this_shift": submitted.filter(ended_at__gte=shift_started).count(),
            "submitted_today": submitted.filter(ended_at__date=timezone.localdate()).count(),
            "queue_empty": request.GET.get("empty") == "1" and held is None,
            "can_review": request.user.has_perm("annotations.review_clips"),
        },
    )


@require_POST
@login_required
@permission_required("annotations.review_clips", raise_exception=True)
def claim_next(request: HttpRequest) -> HttpResponse:
    return _claim_and_open(request)


def _claim_and_open(request: HttpRequest) -> HttpResponse:
    try:
        lease = services.lease_claim(reviewer=request.user)
    except VolumeLimitExceeded as limit:
        messages.error(request, str(limit))
        return redirect("queue")
    except OnBreak as paused:
        messages.info(request, f"Your queue is paused for a break until {paused.until:%H:%M} UTC.")
        return redirect("queue")
    if lease is None:
        return redirect(reverse("queue") + "?empty=1")
    return redirect("clip", clip_id=lease.clip.public_id)


@require_GET
@login_required
def clip_page(request: HttpRequest, clip_id) -> HttpResponse:
    """The editor, with everything it needs in json_script; the same clip shape as the API's."""
    try:
        clip = clip_for_user(request.user, clip_id, TRANSCRIBE)
    except ClipWithdrawn as withdrawn:
        messages.error(request, withdrawn.message)
        return redirect("queue")
    try:
        payload = clip_payload(request, clip)  # issues one audio link, shared by editor and <noscript> player
    except VolumeLimitExceeded as limit:
        return render(request, "annotations/volume_limit.html", {"message": str(limit)}, status=429)
    latest = payload["transcript"]
    trail.record(Action.CLIP_VIEWED, object_type="clip", object_id=clip.public_id, detail={"via": "page"})
    return render(
        request,
        "annotations/clip.html",
        {
            "clip": clip,
            "lease": clip.lease,
            "latest": latest,
            "text": latest["text"] if latest else clip.asr_text,
            "version": payload["version"],
            "audio_src": payload["audio_url"],
            "payload": {"clip": payload, "lease": payload["lease"]},
            "config": editor.editor_config(style_nonce=str(request.csp_nonce)),
            "keyboard_help": editor.keyboard_help(),
            "tags": editor.Tag.choices,
            "release_reasons": ReleaseReason.choices,
            "escalation_categories": Category.choices,
            "require_full_playback": settings.REQUIRE_FULL_PLAYBACK,
        },
    )


@require_POST
@login_required
def clip_save(request: HttpRequest, clip_id) -> HttpResponse:
    """Save the form's text as a new revision; with action=submit, also submit and claim the next clip."""
    try:
        clip = clip_for_user(request.user, clip_id, TRANSCRIBE)
    except ClipWithdrawn as withdrawn:
        messages.error(request, withdrawn.message)
        return redirect("queue")
    try:
        base_version = int(request.POST.get("base_version", ""))
    except ValueError:
        return HttpResponse("base_version: must be a whole number", status=400, content_type="text/plain")
    text = request.POST.get("text", "")
    latest = TranscriptRevision.objects.filter(clip=clip).order_by("-version").first()
    try:
        if latest is None or latest.text != text or latest.version != base_version:
            latest = services.transcript_save(
                lease=clip.lease, text=text, segments=[], tags=[], base_version=base_version
            )
        if request.POST.get("action") == "submit":
            # Without the editor nothing tracks playback, so the reviewer confirms it instead.
            played = request.POST.get("played") == "on"
            services.clip_submit(lease=clip.lease, version=latest.version, played=played)
            messages.success(request, "Submitted.")
            if request.user.has_perm("annotations.review_clips"):
                return _claim_and_open(request)
            return redirect("queue")
    except TranscriptConflict as conflict:
        messages.error(
            request, f"Not saved: someone saved version {conflict.current.version} since you opened this clip."
        )
        return redirect("clip", clip_id=clip.public_id)
    except ValidationError as error:
        messages.error(request, "; ".join(error.messages))
        return redirect("clip", clip_id=clip.public_id)
    except LeaseEnded:
        messages.error(request, "Your lease on that clip ended; it went back to the queue.")
        return redirect("queue")
    messages.success(request, f"Saved as version {latest.version}.")
    return redirect("clip", clip_id=clip.public_id)


@require_POST
@login_required
def lease_release(request: HttpRequest, lease_id) -> HttpResponse:
    lease = lease_for_user(request.user, lease_id)
    reason = request.POST.get("reason", "")
    if reason not in ReleaseReason.values:
        return HttpResponse(
            f"reason: must be one of {', '.join(ReleaseReason.values)}", status=400, content_type="text/plain"
        )
    with suppress(LeaseEnded):  # already back in the queue: what the reviewer asked for
        services.lease_release(lease=lease, reason=reason)
    messages.info(request, "Skipped; the clip went back to the queue.")
    return redirect("queue")
