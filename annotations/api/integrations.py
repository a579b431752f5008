"""Integration endpoints for upstream systems (service tokens only): opt-outs, deletions, export.

The export is the one door finished transcripts leave by: final revisions only, by public id,
never audio or who was recorded, a page at a time, every page in the access trail.
"""

import base64
import binascii
import json
from datetime import datetime

from django.conf import settings
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import privacy
from annotations.models import Clip, ClipStatus
from reviewportal.audit import trail
from reviewportal.audit.models import Action
from reviewportal.integrations.authentication import HasScope, ServiceTokenAuthentication
from reviewportal.integrations.models import Scope

Detail = inline_serializer("IntegrationDetail", {"detail": serializers.CharField()})
UNAUTHENTICATED = OpenApiResponse(Detail, description="Missing, unknown or revoked service token.")
WRONG_SCOPE = OpenApiResponse(Detail, description="The token lacks this endpoint's scope.")
INVALID = OpenApiResponse(OpenApiTypes.OBJECT, description='Invalid input: {"<field>": ["message"]}.')


class AccountSerializer(serializers.Serializer):
    account_id = serializers.CharField(max_length=200)


class ReportSerializer(serializers.Serializer):
    done = serializers.ListField(child=serializers.UUIDField(), help_text="public ids of clips withdrawn or removed")
    held = serializers.ListField(child=serializers.UUIDField(), help_text="public ids kept under legal hold")
    untouched = serializers.IntegerField(help_text="clips already gone, or already reviewed (opt-outs)")


def _report(report: privacy.Report) -> dict:
    return {"done": report.done, "held": report.held, "untouched": report.untouched}


class _Integration(APIView):
    authentication_classes = [ServiceTokenAuthentication]
    scope = ""

    def get_permissions(self):
        return [HasScope.for_scope(self.scope)()]


class OptOutView(_Integration):
    scope = Scope.OPT_OUT

    @extend_schema(
        request=AccountSerializer,
        responses={200: ReportSerializer, 400: INVALID, 401: UNAUTHENTICATED, 403: WRONG_SCOPE},
        summary="The person opted out of human review: their unreviewed clips go now, later ones are dropped",
    )
    def post(self, request):
        data = AccountSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with trail.context(token=request.auth):
            report = privacy.account_opt_out(account_id=data.validated_data["account_id"], via="api")
        return Response(_report(report))


class DeletionView(_Integration):
    scope = Scope.OPT_OUT

    @extend_schema(
        request=AccountSerializer,
        responses={200: ReportSerializer, 400: INVALID, 401: UNAUTHENTICATED, 403: WRONG_SCOPE},
        summary="Delete everything of an account (legal holds excepted); tombstones remain",
    )
    def post(self, request):
        data = AccountSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with trail.context(token=request.auth):
            report = privacy.account_delete(account_id=data.validated_data["account_id"], via="api")
        return Response(_report(report))


def _cursor(value: str) -> tuple[datetime, int]:
    try:
        at, clip_id = json.loads(base64.urlsafe_b64decode(value.encode()).decode())
        moment = parse_datetime(at)
        if moment is None:
            raise ValueError(at)
        return moment, int(clip_id)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        raise ValidationError({"cursor": ["is not a cursor this endpoint gave out"]}) from None


def _make_cursor(clip: Clip) -> str:
    return base64.urlsafe_b64encode(json.dumps([clip.submitted_at.isoformat(), clip.pk]).encode()).decode()


class TranscriptExportView(_Integration):
    scope = Scope.EXPORT

    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField(source="public_id")
        locale = serializers.CharField()
        duration_ms = serializers.IntegerField()
        submitted_at = serializers.DateTimeField()
        version = serializers.IntegerField(source="final_revision.version")
        text = serializers.CharField(source="final_revision.text")
        segments = serializers.JSONField(source="final_revision.segments")
        tags = serializers.JSONField(source="final_revision.tags")

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "since", OpenApiTypes.DATETIME, description="submitted at or after (ISO 8601 with offset)"
            ),
            OpenApiParameter("cursor", str, description="the `next` of the previous page"),
        ],
        responses={
            200: inline_serializer(
                "TranscriptPage",
                {"results": OutputSerializer(many=True), "next": serializers.CharField(allow_null=True)},
            ),
            400: INVALID,
            401: UNAUTHENTICATED,
            403: WRONG_SCOPE,
        },
        summary="Final transcripts, oldest submit first, a page at a time",
    )
    def get(self, request):
        clips = Clip.objects.filter(status=ClipStatus.SUBMITTED, final_revision__isnull=False).select_related(
            "final_revision"
        )
        since_text = request.query_params.get("since")
        if since_text:
            since = parse_datetime(since_text)
            if since is None or since.tzinfo is None:
                raise ValidationError({"since": ["must be an ISO 8601 time with a UTC offset"]})
            clips = clips.filter(submitted_at__gte=since)
        if cursor := request.query_params.get("cursor"):
            at, clip_id = _cursor(cursor)
            clips = clips.filter(submitted_at__gt=at) | clips.filter(submitted_at=at, pk__gt=clip_id)
        page = list(clips.order_by("submitted_at", "pk")[: settings.EXPORT_PAGE_SIZE + 1])
        more = len(page) > settings.EXPORT_PAGE_SIZE
        page = page[: settings.EXPORT_PAGE_SIZE]
        with trail.context(token=request.auth):
            trail.record(
                Action.EXPORTED,
                object_type="transcripts",
                detail={"count": len(page), "since": since_text or "", "first": str(page[0].public_id) if page else ""},
            )
        return Response(
            {
                "results": self.OutputSerializer(page, many=True).data,
                "next": _make_cursor(page[-1]) if more else None,
            }
        )
