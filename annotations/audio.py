"""The only door to a clip's audio: short-lived links bound to user, session and lease.

audio_url() signs a link for the reviewer holding the lease. audio_stream() checks every binding
again on each request, then answers byte ranges itself or hands the file to nginx via
X-Accel-Redirect. Refusals: a link that is forged or expired, or one's own link replayed from
another session or after its lease ended, gets 403 with the reason. Someone else's link to a clip
the person may not hear gets 404, the answer every door gives for a clip that is not theirs, and
the same as for a clip that does not exist.
"""

import re
import secrets

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_safe

from annotations.access import clip_for_user
from annotations.models import Clip, Lease
from reviewportal.audit import trail
from reviewportal.audit.models import Action, Outcome
from reviewportal.security import volume

TOKEN_SALT = "annotations.audio"  # noqa: S105  a signing namespace, not a secret
# An open-ended range ("bytes=0-", what media elements ask for) gets at most this much per
# response; the browser asks again for the rest. Keeps a long WAV out of memory in one piece.
MAX_RANGE_BYTES = 1024 * 1024
RANGE_PATTERN = re.compile(r"^bytes=(\d*)-(\d*)$")


def audio_url(request: HttpRequest, clip: Clip, lease: Lease | None) -> str:
    """A link to the clip's audio for this request's user and session, valid AUDIO_URL_SECONDS.

    `lease` is the reviewer's lease the link lives and dies with; None for a group grant (the
    escalation team's on an escalated clip), which the link then requires instead. Each link
    counts towards the user's audio volume limit (VolumeLimitExceeded past it).
    """
    volume.spend(request.user, "audio_link")
    link_id = new_link_id()
    path = signed_audio_path(request, clip, lease, link_id)
    record_audio_link(clip, link_id)
    return path


def new_link_id() -> str:
    return secrets.token_hex(8)  # one id per link: the trail tells links apart, and streams once per link


def record_audio_link(clip: Clip, link_id: str) -> None:
    """Record in the access trail that a link to the clip's audio is handed out.

    audio_url() does this for every link it makes. A service that hands a link out with its own
    work (the claim) calls it inside its own transaction instead, so both commit together; its
    caller then signs the link with signed_audio_path() and checks and counts it against the
    audio volume limit itself, as audio_url() would.
    """
    trail.record(Action.AUDIO_TOKEN_ISSUED, object_type="clip", object_id=clip.public_id, detail={"link": link_id})


def signed_audio_path(request: HttpRequest, clip: Clip, lease: Lease | None, link_id: str) -> str:
    """The signed path of a link whose issue record_audio_link() recorded: see audio_url()."""
    token = signing.dumps(
        {
            "c": clip.public_id.hex,
            "l": lease.public_id.hex if lease is not None else "",
            "u": request.user.pk,
            # A hash of the session key binds the link to the session without putting the key in it.
            "s": trail.session_hash(request.session.session_key),
            "n": link_id,
        },
        salt=TOKEN_SALT,
        compress=True,
    )
    return reverse("audio", kwargs={"token": token})


class AudioDenied(Exception):
    def __init__(self, message: str, *, clip_id: str = "", recorded: bool = False):
        super().__init__(message)
        self.clip_id = clip_id
        self.recorded = recorded


def _authorised_clip(request: HttpRequest, token: str) -> tuple[Clip, str]:
    """Check the link's signature, age and every binding; return the clip and the link's id.

    The clip is reached through annotations.access like everywhere else, so the live guardian
    grant and the lease's clock both decide, not only the link.
    """
    try:
        claims = signing.loads(token, salt=TOKEN_SALT, max_age=settings.AUDIO_URL_SECONDS)
    except signing.SignatureExpired:
        raise AudioDenied("This audio link has expired; reload the clip page") from None
    except signing.BadSignature:
        raise AudioDenied("This audio link is not valid") from None
    clip_id = claims["c"]
    if not request.user.is_authenticated:
        raise AudioDenied("Sign in first", clip_id=clip_id)
    if request.user.pk != claims["u"]:
        # Someone else's link. For a clip this person may not hear, the answer is the one every
        # other door gives, 404, exactly as for a clip that does not exist (clip_for_user raises
        # it and records the refusal); the link itself is refused only where they could hear it.
        clip_for_user(request.user, clip_id)
        raise AudioDenied("This audio link belongs to someone else", clip_id=clip_id)
    if trail.session_hash(request.session.session_key) != claims["s"]:
        raise AudioDenied("This audio link belongs to another session", clip_id=clip_id)
    try:
        clip = clip_for_user(request.user, clip_id)
    except Http404:
        raise AudioDenied("The lease behind this audio link has ended", recorded=True) from None
    issued_under = clip.lease.public_id.hex if clip.lease is not None else ""
    if issued_under != claims["l"]:
        raise AudioDenied("The lease behind this audio link has ended", clip_id=clip_id)
    return clip, claims["n"]


@require_safe
def audio_stream(request: HttpRequest, token: str) -> HttpResponse:
    try:
        clip, link_id = _authorised_clip(request, token)
    except Http404:
        return _protected(HttpResponse("No such clip", status=404, content_type="text/plain; charset=utf-8"))
    except AudioDenied as denial:
        if not denial.recorded:
            detail = {"reason": str(denial)}
            trail.record(
                Action.PERMISSION_DENIED,
                outcome=Outcome.DENIED,
                object_type="audio",
                object_id=denial.clip_id,
                detail=detail,
            )
        return _protected(HttpResponse(str(denial), status=403, content_type="text/plain; charset=utf-8"))
    # Once per link, not per Range request: a player fetches a clip in several ranges.
    streamed_key = f"audio-streamed:{link_id}"
    if cache.add(streamed_key, 1, timeout=settings.AUDIO_URL_SECONDS + 60):
        try:
            trail.record(Action.AUDIO_STREAMED, object_type="clip", object_id=clip.public_id, detail={"link": link_id})
        except BaseException:
            # No bytes without the event: lift the flag, so the next request records it (or fails too).
            cache.delete(streamed_key)
            raise
    if settings.AUDIO_X_ACCEL_PREFIX:
        # nginx serves the bytes (and Range) from an internal location; the app only decided.
        response = HttpResponse(content_type=clip.audio_content_type)
        response["X-Accel-Redirect"] = settings.AUDIO_X_ACCEL_PREFIX.rstrip("/") + "/" + clip.audio_name
        return _protected(response)
    return _protected(_ranged_response(request, clip))


def _ranged_response(request: HttpRequest, clip: Clip) -> HttpResponse:
    """Answer a single byte range with 206, an impossible one with 416, none with the whole file."""
    size = clip.audio_bytes
    header = request.headers.get("Range", "")
    match = RANGE_PATTERN.match(header.strip()) if header else None
    if match is None or not any(match.groups()):
        # No Range, or one we do not serve (several ranges, other units): RFC 9110 lets us
        # ignore it and send the whole representation.
        start, end, status = 0, size - 1, 200
    else:
        first, last = match.groups()
        if first:
            start = int(first)
            end = min(int(last), size - 1) if last else size - 1
            if not last:
                end = min(end, start + MAX_RANGE_BYTES - 1)
        else:  # a suffix range: the last N bytes
            start, end = max(size - int(last), 0), size - 1
        if start >= size or end < start:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        status = 206
    length = end - start + 1
    if request.method == "HEAD":
        body = b""
    else:
        with clip.open_audio() as audio_file:
            audio_file.seek(start)
            body = audio_file.read(length)
    response = HttpResponse(body, status=status, content_type=clip.audio_content_type)
    response["Content-Length"] = str(length)
    if status == 206:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    return response


def _protected(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Accept-Ranges"] = "bytes"
    return response
