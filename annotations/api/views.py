"""The review loop's API: one view per operation, each with its own input and output shapes.

Every clip and lease is reached through annotations.access, so anyone but the lease holder gets
404. Errors are JSON: {"detail": "..."} or {"<field>": ["..."]}.
"""

import base64
import json
import tempfile
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import services
from annotations.access import TRANSCRIBE, clip_for_user, lease_for_user, refusal_for_ended
from annotations.api import plain_input
from annotations.audio import audio_url, signed_audio_path
from annotations.errors import LeaseEnded, OnBreak, TranscriptConflict
from annotations.ingest import IngestError, parse_metadata
from annotations.models import Clip, ClipPool, Lease, PoolMoveReason, ReleaseReason, TranscriptRevision
from annotations.transcripts import Tag
from reviewportal.accounts.permissions import PERSON, has_model_perm
from reviewportal.audit import trail
from reviewportal.audit.models import Action
from reviewportal.integrations.authentication import HasScope, ServiceTokenAuthentication
from reviewportal.integrations.models import Scope

# --- Shared shapes -----------------------------------------------------------------------------

DetailSerializer = inline_serializer("Detail", {"detail": serializers.CharField()})

NOT_FOUND = OpenApiResponse(
    DetailSerializer, description="No such clip or lease, or not yours: the same answer either way."
)
WITHDRAWN = OpenApiResponse(
    inline_serializer("Withdrawn", {"detail": serializers.CharField(), "reason": serializers.CharField()}),
    description="Your own lease on this clip was withdrawn mid-lease (an opt-out, a deletion request, "
    'a purge): reason is "withdrawn". Only the reviewer who held that lease gets this; anyone else gets 404.',
)
NOT_SIGNED_IN = OpenApiResponse(
    DetailSerializer, description="Not signed in with both factors, CSRF check failed, or wrong role."
)
TOO_MUCH = OpenApiResponse(
    DetailSerializer, description="More clips or audio than a person can listen to; Retry-After says when to ask again."
)
INVALID = OpenApiResponse(
    OpenApiTypes.OBJECT, description='Invalid input: {"<field>": ["message"]}, keyed by each field at fault.'
)


class CanReview(permissions.BasePermission):
    message = "Only reviewers can claim clips"

    def has_permission(self, request, view) -> bool:
        return has_model_perm(request.user, "annotations.review_clips")


class SegmentSerializer(serializers.Serializer):
    start_ms = serializers.IntegerField(min_value=0)
    end_ms = serializers.IntegerField(min_value=1)
    text = serializers.CharField(max_length=5000, allow_blank=True, trim_whitespace=False)
    speaker = serializers.CharField(max_length=50, allow_blank=True, required=False, default="")
    tags = serializers.ListField(
        child=serializers.ChoiceField(Tag.choices), required=False, default=list, max_length=10
    )


class RevisionOutputSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    text = serializers.CharField()
    segments = SegmentSerializer(many=True)
    tags = serializers.ListField(child=serializers.CharField())
    saved_at = serializers.DateTimeField(source="created_at")


class ConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    current = RevisionOutputSerializer(allow_null=True)


def _conflict_response(conflict: TranscriptConflict) -> Response:
    current = RevisionOutputSerializer(conflict.current).data if conflict.current else None
    version = current["version"] if current else 0
    return Response(
        {"detail": f"The transcript changed since your version: it is now version {version}", "current": current},
        status=status.HTTP_409_CONFLICT,
    )


class LeaseOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    expires_at = serializers.DateTimeField()


class PeaksSerializer(serializers.Serializer):
    per_second = serializers.IntegerField(source="peaks_per_second", help_text="(min, max) pairs per second")
    encoding = serializers.SerializerMethodField(help_text="always int8-minmax-base64")
    data = serializers.SerializerMethodField(help_text="base64 of signed bytes min0,max0,min1,max1,...; divide by 127")

    def get_encoding(self, clip) -> str:
        return "int8-minmax-base64"

    def get_data(self, clip) -> str:
        return base64.b64encode(bytes(clip.peaks)).decode()


class ClipOutputSerializer(serializers.Serializer):
    """What the lease holder sees of a clip. Nothing here can say who was recorded."""

    id = serializers.UUIDField(source="public_id")
    duration_ms = serializers.IntegerField()
    sample_rate = serializers.IntegerField()
    channels = serializers.IntegerField()
    locale = serializers.CharField()
    asr_text = serializers.CharField()
    possible_distress = serializers.BooleanField(help_text="the pre-screen heard distress: warn, and start quietly")
    peaks = PeaksSerializer(source="*")
    version = serializers.SerializerMethodField(help_text="the latest transcript version; 0 before the first save")
    transcript = serializers.SerializerMethodField()
    audio_url = serializers.SerializerMethodField(help_text="signed, bound to your session and lease, valid minutes")
    lease = LeaseOutputSerializer()

    def get_version(self, clip) -> int:
        latest = _latest_revision(clip)
        return latest.version if latest else 0

    @extend_schema_field(RevisionOutputSerializer(allow_null=True))
    def get_transcript(self, clip):
        latest = _latest_revision(clip)
        return RevisionOutputSerializer(latest).data if latest else None

    def get_audio_url(self, clip) -> str:
        return _audio_url(self.context["request"], clip, self.context.get("audio_link"))


def _latest_revision(clip: Clip) -> TranscriptRevision | None:
    """The clip's latest revision, read once per clip object."""
    if not hasattr(clip, "_latest_revision"):
        clip._latest_revision = services.latest_revision(clip.pk)
    return clip._latest_revision


def _audio_url(request, clip: Clip, link_id: str | None) -> str:
    if link_id:  # a link the service already recorded and counted (lease_claim's with_audio_link)
        return request.build_absolute_uri(signed_audio_path(request, clip, clip.lease, link_id))
    return request.build_absolute_uri(audio_url(request, clip, clip.lease))


# The review loop's answers are built as plain dicts: DRF copies and binds every field of a
# serializer (and of each nested one) on every call, 6 % of a claim's CPU for output alone. The
# serializers above stay what the schema documents, and tests/annotations/test_payloads.py
# holds each function to its serializer's output.
_TIME = serializers.DateTimeField()  # its to_representation: the API's one time format


def clip_payload(request, clip: Clip, *, audio_link: str = "") -> dict:
    """The clip as the editor reads it, from the API or from the page's json_script: one shape
    (ClipOutputSerializer's).

    `audio_link`: the id of a link a service handed out with the clip; by default a new one.
    """
    latest = _latest_revision(clip)
    return {
        "id": str(clip.public_id),
        "duration_ms": int(clip.duration_ms),
        "sample_rate": int(clip.sample_rate),
        "channels": int(clip.channels),
        "locale": str(clip.locale),
        "asr_text": str(clip.asr_text),
        "possible_distress": bool(clip.possible_distress),
        "peaks": {
            "per_second": int(clip.peaks_per_second),
            "encoding": "int8-minmax-base64",
            "data": base64.b64encode(bytes(clip.peaks)).decode(),
        },
        "version": latest.version if latest else 0,
        "transcript": revision_payload(latest) if latest else None,
        "audio_url": _audio_url(request, clip, audio_link),
        "lease": lease_payload(clip.lease) if clip.lease is not None else None,
    }


def revision_payload(revision: TranscriptRevision) -> dict:
    """RevisionOutputSerializer's shape."""
    return {
        "version": int(revision.version),
        "text": str(revision.text),
        "segments": [
            {
                "start_ms": int(segment["start_ms"]),
                "end_ms": int(segment["end_ms"]),
                "text": str(segment["text"]),
                "speaker": str(segment.get("speaker", "")),
                "tags": list(segment.get("tags", [])),
            }
            for segment in revision.segments
        ],
        "tags": [str(tag) for tag in revision.tags],
        "saved_at": _TIME.to_representation(revision.created_at),
    }


def lease_payload(lease: Lease) -> dict:
    """LeaseOutputSerializer's shape."""
    return {"id": str(lease.public_id), "expires_at": _TIME.to_representation(lease.expires_at)}


# --- Queue and leases --------------------------------------------------------------------------


class ClaimView(APIView):
    permission_classes = [*PERSON, CanReview]

    class OutputSerializer(serializers.Serializer):
        lease = LeaseOutputSerializer()
        clip = ClipOutputSerializer()

    @extend_schema(
        request=None,
        responses={
            200: OutputSerializer,
            204: OpenApiResponse(description="The queue is empty."),
            403: NOT_SIGNED_IN,
            409: OpenApiResponse(
                DetailSerializer, description="Your queue is paused for a break (paused_until says until when)."
            ),
            429: TOO_MUCH,
        },
        summary="Lease the next clip (or get back the one you hold)",
    )
    def post(self, request):
        try:
            lease = services.lease_claim(reviewer=request.user, with_audio_link=True)
        except OnBreak as paused:
            detail = f"Your queue is paused for a break until {paused.until:%H:%M} UTC"
            return Response({"detail": detail, "paused_until": paused.until}, status=status.HTTP_409_CONFLICT)
        if lease is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        # The service just leased it (or returned the held lease), its clip and grants included and
        # the audio link recorded: no second look-up, no second transaction.
        clip = lease.clip
        clip.lease = lease
        payload = clip_payload(request, clip, audio_link=lease.audio_link)
        return Response({"lease": lease_payload(lease), "clip": payload})


class ClaimNextView(APIView):
    permission_classes = [*PERSON, CanReview]

    @extend_schema(
        request=None,
        responses={
            200: ClaimView.OutputSerializer,
            204: OpenApiResponse(description="Nothing more in the queue for you."),
            403: NOT_SIGNED_IN,
            409: OpenApiResponse(
                DetailSerializer, description="You hold no current clip to claim ahead of, or you are on a break."
            ),
            429: TOO_MUCH,
        },
        summary="Claim the clip after your current one, so it shows the moment you submit",
        description="The lease claimed ahead lets you fetch the clip (peaks, audio) but not change its "
        "transcript until it becomes current, which happens when you submit or skip the current clip. "
        "It expires with the current lease; asking again returns the same one.",
    )
    def post(self, request):
        try:
            lease = services.lease_claim_next(reviewer=request.user)
        except LeaseEnded:
            return Response({"detail": "You hold no current clip to claim ahead of"}, status=status.HTTP_409_CONFLICT)
        except OnBreak as paused:
            detail = f"Your queue is paused for a break until {paused.until:%H:%M} UTC"
            return Response({"detail": detail, "paused_until": paused.until}, status=status.HTTP_409_CONFLICT)
        if lease is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        clip = lease.clip
        clip.lease = lease
        return Response({"lease": LeaseOutputSerializer(lease).data, "clip": clip_payload(request, clip)})


class LeaseReleaseView(APIView):
    class InputSerializer(serializers.Serializer):
        reason = serializers.ChoiceField(ReleaseReason.choices)

    @extend_schema(
        request=InputSerializer,
        responses={
            204: OpenApiResponse(description="Released; the clip is back in the queue."),
            400: INVALID,
            403: NOT_SIGNED_IN,
            404: NOT_FOUND,
            410: WITHDRAWN,
        },
        summary="Give a clip back to the queue (skip)",
    )
    def post(self, request, lease_id):
        lease = lease_for_user(request.user, lease_id)
        data = _valid(self.InputSerializer, request.data)
        try:
            services.lease_release(lease=lease, reason=data["reason"])
        except LeaseEnded:
            raise refusal_for_ended(lease, "No such lease") from None
        return Response(status=status.HTTP_204_NO_CONTENT)


class LeaseRenewView(APIView):
    @extend_schema(
        request=None,
        responses={200: LeaseOutputSerializer, 403: NOT_SIGNED_IN, 404: NOT_FOUND, 410: WITHDRAWN},
        summary="Extend your active lease while you are still working on the clip",
    )
    def post(self, request, lease_id):
        lease = lease_for_user(request.user, lease_id)
        try:
            lease = services.lease_renew(lease=lease)
        except LeaseEnded:
            raise refusal_for_ended(lease, "No such lease") from None
        return Response(LeaseOutputSerializer(lease).data)


# --- Clips and transcripts ---------------------------------------------------------------------


class ClipDetailView(APIView):
    @extend_schema(
        responses={200: ClipOutputSerializer, 403: NOT_SIGNED_IN, 404: NOT_FOUND, 410: WITHDRAWN, 429: TOO_MUCH},
        summary="A clip you hold the lease on: peaks, ASR text, latest transcript and a fresh audio link",
    )
    def get(self, request, clip_id):
        clip = clip_for_user(request.user, clip_id)
        trail.record(Action.CLIP_VIEWED, object_type="clip", object_id=clip.public_id, detail={"via": "api"})
        return Response(clip_payload(request, clip))


class TranscriptInputSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=20000, allow_blank=True, trim_whitespace=False)
    segments = SegmentSerializer(many=True, max_length=500, required=False, default=list)
    tags = serializers.ListField(
        child=serializers.ChoiceField(Tag.choices), required=False, default=list, max_length=10
    )
    base_version = serializers.IntegerField(min_value=0, help_text="the version your edit started from; 0 for none")


class TranscriptSaveView(APIView):
    InputSerializer = TranscriptInputSerializer

    class OutputSerializer(serializers.Serializer):
        version = serializers.IntegerField()

    @extend_schema(
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            400: INVALID,
            403: NOT_SIGNED_IN,
            404: NOT_FOUND,
            410: WITHDRAWN,
            409: OpenApiResponse(
                ConflictSerializer, description="base_version is stale; the current revision is included."
            ),
        },
        summary="Save a new transcript revision on top of base_version",
    )
    def put(self, request, clip_id):
        clip = clip_for_user(request.user, clip_id, TRANSCRIBE)
        data = _valid(self.InputSerializer, request.data, plain=plain_input.transcript)
        try:
            revision = services.transcript_save(
                lease=clip.lease,
                text=data["text"],
                segments=data["segments"],
                tags=data["tags"],
                base_version=data["base_version"],
            )
        except TranscriptConflict as conflict:
            return _conflict_response(conflict)
        except LeaseEnded:
            raise refusal_for_ended(clip.lease) from None
        return Response({"version": revision.version})


class ClipSubmitView(APIView):
    class InputSerializer(serializers.Serializer):
        version = serializers.IntegerField(min_value=1, required=False, help_text="the version you mean to submit")
        played = serializers.BooleanField(
            default=False, help_text="the editor saw the whole clip played once (required unless turned off)"
        )
        transcript = TranscriptInputSerializer(
            required=False, help_text="your last edit, saved as a revision and submitted in one step"
        )

    class OutputSerializer(serializers.Serializer):
        version = serializers.IntegerField(help_text="the version that became final")
        next_lease = LeaseOutputSerializer(allow_null=True, help_text="the clip you claimed ahead, now current")

    @extend_schema(
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            400: INVALID,
            403: NOT_SIGNED_IN,
            404: NOT_FOUND,
            410: WITHDRAWN,
            409: OpenApiResponse(
                ConflictSerializer, description="version (or transcript.base_version) is not the latest."
            ),
        },
        summary="Make the latest revision (or the one sent along) final and end your lease",
    )
    def post(self, request, clip_id):
        clip = clip_for_user(request.user, clip_id, TRANSCRIBE)
        data = _valid(self.InputSerializer, request.data, plain=plain_input.submit)
        try:
            submitted = services.clip_submit(
                lease=clip.lease, version=data.get("version"), played=data["played"], final=data.get("transcript")
            )
        except TranscriptConflict as conflict:
            return _conflict_response(conflict)
        except LeaseEnded:
            raise refusal_for_ended(clip.lease) from None
        next_lease = submitted.next_lease
        return Response(
            {
                "version": submitted.revision.version,
                "next_lease": lease_payload(next_lease) if next_lease else None,
            }
        )


# --- Pools (supervisors) -------------------------------------------------------------------------


class ManagesPools(permissions.BasePermission):
    message = "Only supervisors move clips between pools"

    def has_permission(self, request, view) -> bool:
        return has_model_perm(request.user, "annotations.change_clippool")


class PoolClipsView(APIView):
    permission_classes = [*PERSON, ManagesPools]

    class InputSerializer(serializers.Serializer):
        clips = serializers.ListField(
            child=serializers.UUIDField(), min_length=1, max_length=500, help_text="public ids of the clips to move"
        )
        reason = serializers.ChoiceField(PoolMoveReason.choices)

    class OutputSerializer(serializers.Serializer):
        moved = serializers.ListField(child=serializers.UUIDField())
        unchanged = serializers.ListField(child=serializers.UUIDField(), help_text="already in this pool")
        withdrawn = serializers.ListField(
            child=serializers.UUIDField(), help_text="taken from a reviewer who may not review this pool"
        )

    @extend_schema(
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            400: INVALID,
            403: NOT_SIGNED_IN,
            404: OpenApiResponse(DetailSerializer, description="No such pool."),
        },
        summary="Move clips into this pool (say a restricted one): from now on only people granted it get them",
    )
    def post(self, request, pool_slug):
        pool = ClipPool.objects.filter(slug=pool_slug).first()
        if pool is None:
            raise NotFound("No such pool")
        data = _valid(self.InputSerializer, request.data)
        move = services.clips_move_to_pool(clip_ids=data["clips"], pool=pool, by=request.user, reason=data["reason"])
        return Response({"moved": move.moved, "unchanged": move.unchanged, "withdrawn": move.withdrawn})


# --- Ingest (service tokens only) --------------------------------------------------------------


class IngestClipView(APIView):
    authentication_classes = [ServiceTokenAuthentication]
    permission_classes = [HasScope.for_scope(Scope.INGEST)]
    parser_classes = [MultiPartParser]

    class InputSerializer(serializers.Serializer):
        audio = serializers.FileField(help_text="WAV, FLAC, Ogg (Vorbis/Opus) or MP3; the name's ending must match")
        metadata = serializers.CharField(
            help_text="JSON object: source_id, account_id, first_name, device_serial, locale, asr_text, "
            "recorded_at, human_review_opt_out, priority (optional)"
        )

    class OutputSerializer(serializers.Serializer):
        outcome = serializers.ChoiceField(["ingested", "duplicate", "opted_out"])
        id = serializers.UUIDField(allow_null=True, help_text="the clip's public id; null when opted out or duplicate")

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={
            201: OpenApiResponse(OutputSerializer, description="Ingested."),
            200: OpenApiResponse(
                OutputSerializer, description="Dropped: a duplicate source_id or an opt-out. Nothing stored."
            ),
            400: INVALID,
            401: OpenApiResponse(DetailSerializer, description="Missing, unknown or revoked service token."),
            403: OpenApiResponse(DetailSerializer, description="The token lacks the ingest scope."),
        },
        summary="Push one clip in (service token with the ingest scope)",
    )
    def post(self, request):
        data = _valid(self.InputSerializer, request.data)
        upload = data["audio"]
        try:
            metadata = parse_metadata(json.loads(data["metadata"]))
        except json.JSONDecodeError as error:
            raise ValidationError({"metadata": [f"is not valid JSON: {error.msg} at position {error.pos}"]}) from None
        except IngestError as error:
            raise ValidationError({error.field: [error.message]}) from None
        if upload.size > settings.INGEST_MAX_BYTES:
            raise ValidationError(
                {"audio": [f"file is {upload.size} bytes, over the limit of {settings.INGEST_MAX_BYTES}"]}
            )
        try:
            with _uploaded_path(upload) as path, trail.context(token=request.auth):
                result = services.clip_ingest(metadata=metadata, audio_path=path, audio_name=upload.name)
        except IngestError as error:
            raise ValidationError({error.field: [error.message]}) from None
        clip_id = result.clip.public_id if result.clip else None
        created = result.outcome == services.IngestOutcome.INGESTED
        return Response(
            {"outcome": result.outcome, "id": clip_id},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


@contextmanager
def _uploaded_path(upload):
    """A filesystem path for an upload: Django's temporary file, or a copy of a small in-memory one."""
    if hasattr(upload, "temporary_file_path"):
        yield Path(upload.temporary_file_path())
        return
    with tempfile.NamedTemporaryFile(suffix=Path(upload.name).suffix) as copy:
        for chunk in upload.chunks():
            copy.write(chunk)
        copy.flush()
        yield Path(copy.name)


def _valid(serializer_class, data, *, plain=None) -> dict:
    """The serializer's validated data, or its 400 naming the field. `plain`, where given, answers
    first for plainly valid input without building the serializer (see annotations.api.plain_input)."""
    if plain is not None and (checked := plain(data, serializer_class)) is not None:
        return checked
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
