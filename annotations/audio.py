"""The only door to a clip's audio: short-lived links bound to user, session and lease.

audio_url() signs a link for the reviewer holding the lease. audio_stream() checks every binding
again on each request (a link copied to another browser, another user, or used after the lease
ended gets 403), then answers byte ranges itself or hands the file to nginx via X-Accel-Redirect.
"""

import hashlib
import re
import secrets

from django.conf import settings
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_safe

from annotations.access import clip_for_user
from annotations.models import Clip, Lease
from reviewportal.security import volume

TOKEN_SALT = "annotations.audio"  # noqa: S105  a signing namespace, not a secret
# An open-ended range ("bytes=0-", what media elements ask for) gets at most this much per
# response; the browser asks again for the rest. Keeps a long WAV out of memory in one piece.
MAX_RANGE_BYTES = 1024 * 1024
RANGE_PATTERN = re.compile(r"^bytes=(\d*)-(\d*)$")


def session_fingerprint(session_key: str | None) -> str:
    """A hash of the session key: binds a link to a session without putting the key in the link."""
    return hashlib.sha256((session_key or "").encode()).hexdigest()[:32]


def audio_url(request: HttpRequest, clip: Clip, lease: Lease) -> str:
    """A link to the clip's audio for this request's user and session, valid AUDIO_URL_SECONDS.

    Each link counts towards the user's audio volume limit (VolumeLimitExceeded past it).
    """
    volume.spend(request.user, "audio_link")
    token = signing.dumps(
        {
            "c": clip.public_id.hex,
            "l": lease.public_id.hex,
            "u": request.user.pk,
            "s": session_fingerprint(request.session.session_key),
            "n": secrets.token_hex(8),  # one id per link, so each issued link can be told apart
        },
        salt=TOKEN_SALT,
        compress=True,
    )
    return reverse("audio", kwargs={"token": token})


class AudioDenied(Exception):
    pass


def _authorised_lease(request: HttpRequest, token: str) -> Lease:
    """Check the link's signature, age and every binding; return the lease it was issued under.

    The clip is reached through annotations.access like everywhere else, so the live guardian
    grant and the lease's clock both decide, not only the link.
    """
    try:
        claims = signing.loads(token, salt=TOKEN_SALT, max_age=settings.AUDIO_URL_SECONDS)
    except signing.SignatureExpired:
        raise AudioDenied("This audio link has expired; reload the clip page") from None
    except signing.BadSignature:
        raise AudioDenied("This audio link is not valid") from None
    if not request.user.is_authenticated or request.user.pk != claims["u"]:
        raise AudioDenied("This audio link belongs to someone else")
    if session_fingerprint(request.session.session_key) != claims["s"]:
        raise AudioDenied("This audio link belongs to another session")
    try:
        clip = clip_for_user(request.user, claims["c"])
    except Http404:
        raise AudioDenied("The lease behind this audio link has ended") from None
    if clip.lease is None or clip.lease.public_id.hex != claims["l"]:
        raise AudioDenied("The lease behind this audio link has ended")
    return clip.lease


@require_safe
def audio_stream(request: HttpRequest, token: str) -> HttpResponse:
    try:
        lease = _authorised_lease(request, token)
    except AudioDenied as denial:
        return _protected(HttpResponse(str(denial), status=403, content_type="text/plain; charset=utf-8"))
    clip = lease.clip
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
