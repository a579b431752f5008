"""Escalation API: the reviewer's flag and wellbeing, the supervisors' cases, identity break-glass."""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations.access import TRANSCRIBE, clip_for_user
from annotations.audio import audio_url
from escalations import services, workflow
from escalations.access import case_clip_for_user, case_for_user, identity_request_for_user, may_handle_cases
from escalations.models import Category, Disposition, Escalation, State
from reviewportal.accounts.permissions import PERSON
from reviewportal.audit import trail
from reviewportal.audit.models import Action

Detail = inline_serializer("EscalationDetailMessage", {"detail": serializers.CharField()})
DENIED = OpenApiResponse(Detail, description="Not signed in with both factors, or not in the role this needs.")
NOT_FOUND = OpenApiResponse(Detail, description="No such case or request, or not yours to see.")
CONFLICT = OpenApiResponse(Detail, description="The step does not fit where the case stands.")
INVALID = OpenApiResponse(OpenApiTypes.OBJECT, description='Invalid input: {"<field>": ["message"]}.')


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class HandlesCases(permissions.BasePermission):
    message = "Only supervisors and escalation leads handle cases"

    def has_permission(self, request, view) -> bool:
        return may_handle_cases(request.user)


class IsReviewer(permissions.BasePermission):
    message = "Only reviewers have a queue and flags"

    def has_permission(self, request, view) -> bool:
        return request.user.has_perm("annotations.review_clips")


def _wellbeing_payload(reviewer) -> dict:
    wellbeing = services.wellbeing_for(reviewer)
    return {
        "paused_until": wellbeing.paused_until if wellbeing.is_paused() else None,
        "avoid_possible_distress": wellbeing.avoid_possible_distress,
        "break_seconds": settings.WELLBEING_BREAK_SECONDS,
        "support_contact": settings.WELLBEING_SUPPORT_CONTACT,
    }


WellbeingSerializer = inline_serializer(
    "Wellbeing",
    {
        "paused_until": serializers.DateTimeField(allow_null=True),
        "avoid_possible_distress": serializers.BooleanField(),
        "break_seconds": serializers.IntegerField(),
        "support_contact": serializers.CharField(),
    },
)


# --- The reviewer's side ---------------------------------------------------------------------


class FlagView(APIView):
    """One request from the clip page (one key) to a formal case."""

    permission_classes = [*PERSON, IsReviewer]

    class InputSerializer(serializers.Serializer):
        category = serializers.ChoiceField(Category.choices)
        start_ms = serializers.IntegerField(min_value=0)
        end_ms = serializers.IntegerField(min_value=1)
        note = serializers.CharField(max_length=2000, allow_blank=True, required=False, default="")

    class OutputSerializer(serializers.Serializer):
        case = serializers.UUIDField()
        severity = serializers.IntegerField()
        wellbeing = WellbeingSerializer

    @extend_schema(
        request=InputSerializer,
        responses={201: OutputSerializer, 400: INVALID, 403: DENIED, 404: NOT_FOUND},
        summary="Flag distress in the clip you hold: opens a case, ends your lease, offers you a break",
    )
    def post(self, request, clip_id):
        clip = clip_for_user(request.user, clip_id, TRANSCRIBE)
        data = _valid(self.InputSerializer, request.data)
        case = services.escalation_open(clip=clip, lease=clip.lease, raised_by=request.user, **data)
        body = {"case": case.public_id, "severity": case.severity, "wellbeing": _wellbeing_payload(request.user)}
        return Response(body, status=status.HTTP_201_CREATED)


class MyFlagsView(APIView):
    """The reviewer's own flags: received, acknowledged or closed; never the case's details."""

    permission_classes = [*PERSON, IsReviewer]

    class OutputSerializer(serializers.Serializer):
        case = serializers.UUIDField()
        raised_at = serializers.DateTimeField()
        status = serializers.ChoiceField(["received", "acknowledged", "closed"])

    @extend_schema(responses={200: OutputSerializer(many=True), 403: DENIED}, summary="Your flags and where they stand")
    def get(self, request):
        cases = Escalation.objects.with_current().filter(raised_by=request.user).order_by("-created_at")[:50]
        rows = [
            {
                "case": case.public_id,
                "raised_at": case.created_at,
                "status": "received"
                if case.current_state == State.OPEN
                else "closed"
                if case.current_state == State.CLOSED
                else "acknowledged",
            }
            for case in cases
        ]
        return Response(rows)


class WellbeingView(APIView):
    permission_classes = [*PERSON, IsReviewer]

    class InputSerializer(serializers.Serializer):
        avoid_possible_distress = serializers.BooleanField()

    @extend_schema(responses={200: WellbeingSerializer, 403: DENIED}, summary="Your break and distress settings")
    def get(self, request):
        return Response(_wellbeing_payload(request.user))

    @extend_schema(
        request=InputSerializer,
        responses={200: WellbeingSerializer, 400: INVALID, 403: DENIED},
        summary="Opt in or out of 'possible distress' clips",
    )
    def put(self, request):
        data = _valid(self.InputSerializer, request.data)
        services.wellbeing_set_avoid_distress(reviewer=request.user, avoid=data["avoid_possible_distress"])
        return Response(_wellbeing_payload(request.user))


class BreakView(APIView):
    permission_classes = [*PERSON, IsReviewer]

    @extend_schema(
        request=None, responses={200: WellbeingSerializer, 403: DENIED}, summary="Pause your queue for a break"
    )
    def post(self, request):
        services.wellbeing_take_break(reviewer=request.user)
        return Response(_wellbeing_payload(request.user))

    @extend_schema(request=None, responses={200: WellbeingSerializer, 403: DENIED}, summary="End your break early")
    def delete(self, request):
        services.wellbeing_end_break(reviewer=request.user)
        return Response(_wellbeing_payload(request.user))


# --- The supervisors' side -------------------------------------------------------------------


class EventSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    actor = serializers.CharField(source="actor.username", default=None)
    kind = serializers.CharField()
    from_state = serializers.CharField()
    to_state = serializers.CharField()
    owner = serializers.CharField(source="owner.username", default=None)
    tier = serializers.IntegerField()
    deadline = serializers.DateTimeField(allow_null=True)
    disposition = serializers.CharField()
    note = serializers.CharField()


class CaseSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    clip = serializers.UUIDField(source="clip.public_id")
    category = serializers.CharField()
    severity = serializers.IntegerField()
    opened_at = serializers.DateTimeField(source="created_at")
    state = serializers.CharField(source="current_state")
    owner = serializers.SerializerMethodField()
    deadline = serializers.DateTimeField(source="current_deadline", allow_null=True)
    disposition = serializers.CharField(source="current_disposition")

    def get_owner(self, case) -> str | None:
        return self.context["owners"].get(case.current_owner_id)


def _owners(cases) -> dict:
    from django.contrib.auth import get_user_model

    ids = {case.current_owner_id for case in cases if case.current_owner_id}
    return dict(get_user_model().objects.filter(pk__in=ids).values_list("pk", "username"))


class CaseListView(APIView):
    permission_classes = [*PERSON, HandlesCases]

    @extend_schema(
        parameters=[
            OpenApiParameter("state", str, enum=State.values),
            OpenApiParameter("severity", int, enum=[1, 2, 3]),
            OpenApiParameter("category", str, enum=Category.values),
            OpenApiParameter("owner", str, description="a username, or 'me'"),
        ],
        responses={200: CaseSummarySerializer(many=True), 403: DENIED},
        summary="Cases, most severe and oldest first (filters combine)",
    )
    def get(self, request):
        cases = Escalation.objects.with_current().select_related("clip").order_by("severity", "created_at")
        if state := request.query_params.get("state"):
            cases = cases.filter(current_state=state)
        if severity := request.query_params.get("severity"):
            cases = cases.filter(severity=severity)
        if category := request.query_params.get("category"):
            cases = cases.filter(category=category)
        if owner := request.query_params.get("owner"):
            owner_id = request.user.pk if owner == "me" else _user_id(owner)
            cases = cases.filter(current_owner_id=owner_id)
        cases = list(cases[:200])
        trail.record(
            Action.ESCALATIONS_LISTED,
            object_type="dashboard",
            object_id="api",
            detail={"cases": len(cases), "query": request.GET.urlencode()[:200]},
        )
        return Response(CaseSummarySerializer(cases, many=True, context={"owners": _owners(cases)}).data)


def _user_id(username: str) -> int | None:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(username=username).values_list("pk", flat=True).first()


class CaseDetailView(APIView):
    permission_classes = [*PERSON, HandlesCases]

    @extend_schema(
        responses={
            200: inline_serializer(
                "CaseDetail",
                {
                    "case": CaseSummarySerializer(),
                    "flagged": inline_serializer(
                        "Flagged", {"start_ms": serializers.IntegerField(), "end_ms": serializers.IntegerField()}
                    ),
                    "note": serializers.CharField(),
                    "raised_by": serializers.CharField(),
                    "asr_text": serializers.CharField(allow_null=True, help_text="null outside the escalation team"),
                    "duration_ms": serializers.IntegerField(),
                    "audio_url": serializers.CharField(allow_null=True),
                    "events": EventSerializer(many=True),
                    "identity_requests": serializers.ListField(child=serializers.DictField()),
                },
            ),
            403: DENIED,
            404: NOT_FOUND,
        },
        summary="A case with its whole history; audio for the escalation team",
    )
    def get(self, request, case_id):
        case = case_for_user(request.user, case_id)
        trail.record(Action.ESCALATION_VIEWED, object_type="escalation", object_id=case.public_id)
        # Outside the escalation team: the case, but neither the recording nor its machine transcript.
        recording = case_clip_for_user(request.user, case)
        link = request.build_absolute_uri(audio_url(request, recording, None)) if recording is not None else None
        events = case.events.select_related("actor", "owner").order_by("id")
        requests = [
            {
                "id": str(r.public_id),
                "requested_by": r.requested_by.username,
                "approved": r.approved_at is not None,
                "reveal_until": r.reveal_until,
            }
            for r in case.identity_requests.select_related("requested_by").order_by("requested_at")
        ]
        summary = CaseSummarySerializer(case, context={"owners": _owners([case])}).data
        return Response(
            {
                "case": summary,
                "flagged": {"start_ms": case.start_ms, "end_ms": case.end_ms},
                "note": case.note,
                "raised_by": case.raised_by.username,
                "asr_text": recording.asr_text if recording is not None else None,
                "duration_ms": case.clip.duration_ms,
                "audio_url": link,
                "events": EventSerializer(events, many=True).data,
                "identity_requests": requests,
            }
        )


class TransitionView(APIView):
    permission_classes = [*PERSON, HandlesCases]

    class InputSerializer(serializers.Serializer):
        to_state = serializers.ChoiceField(State.choices)
        note = serializers.CharField(max_length=4000, allow_blank=True, required=False, default="")
        disposition = serializers.ChoiceField(Disposition.choices, required=False, default="")

    @extend_schema(
        request=InputSerializer,
        responses={200: EventSerializer, 400: INVALID, 403: DENIED, 404: NOT_FOUND, 409: CONFLICT},
        summary="Move a case: acknowledge, under review, no action, close (closing needs a disposition)",
        description="A disposition naming an outside referral (emergency services, child protection, law "
        "enforcement) is refused here with 400 unless the case is referred, i.e. two people proposed and "
        "approved it (referral/propose, referral/approve); a referred case closes as the approved referral.",
    )
    def post(self, request, case_id):
        case = case_for_user(request.user, case_id)
        data = _valid(self.InputSerializer, request.data)
        event = services.escalation_transition(case=case, by=request.user, **data)
        return Response(EventSerializer(event).data)


class CommentView(APIView):
    permission_classes = [*PERSON, HandlesCases]

    class InputSerializer(serializers.Serializer):
        note = serializers.CharField(max_length=4000)

    @extend_schema(
        request=InputSerializer,
        responses={201: EventSerializer, 400: INVALID, 403: DENIED, 404: NOT_FOUND},
        summary="Add a comment to a case",
    )
    def post(self, request, case_id):
        case = case_for_user(request.user, case_id)
        event = services.escalation_comment(case=case, by=request.user, **_valid(self.InputSerializer, request.data))
        return Response(EventSerializer(event).data, status=status.HTTP_201_CREATED)


class ReferralProposeView(APIView):
    permission_classes = [*PERSON, HandlesCases]

    class InputSerializer(serializers.Serializer):
        disposition = serializers.ChoiceField(sorted(workflow.REFERRAL_DISPOSITIONS))
        note = serializers.CharField(max_length=4000)

    @extend_schema(
        request=InputSerializer,
        responses={201: EventSerializer, 400: INVALID, 403: DENIED, 404: NOT_FOUND, 409: CONFLICT},
        summary="Propose a referral outside the company (a second supervisor must approve)",
    )
    def post(self, request, case_id):
        case = case_for_user(request.user, case_id)
        event = services.referral_propose(case=case, by=request.user, **_valid(self.InputSerializer, request.data))
        return Response(EventSerializer(event).data, status=status.HTTP_201_CREATED)


class ReferralApproveView(APIView):
    permission_classes = [*PERSON, HandlesCases]

    class InputSerializer(serializers.Serializer):
        note = serializers.CharField(max_length=4000, allow_blank=True, required=False, default="")

    @extend_schema(
        request=InputSerializer,
        responses={200: EventSerializer, 400: INVALID, 403: DENIED, 404: NOT_FOUND, 409: CONFLICT},
        summary="Approve a proposed referral (not the proposer)",
    )
    def post(self, request, case_id):
        case = case_for_user(request.user, case_id)
        event = services.referral_approve(case=case, by=request.user, **_valid(self.InputSerializer, request.data))
        return Response(EventSerializer(event).data)


class IdentityRequestView(APIView):
    permission_classes = [*PERSON, HandlesCases]

    class InputSerializer(serializers.Serializer):
        justification = serializers.CharField(max_length=2000)

    @extend_schema(
        request=InputSerializer,
        responses={
            201: inline_serializer("IdentityRequestCreated", {"id": serializers.UUIDField()}),
            400: INVALID,
            403: DENIED,
            404: NOT_FOUND,
        },
        summary="Ask to see who was recorded (a second supervisor must approve)",
    )
    def post(self, request, case_id):
        case = case_for_user(request.user, case_id)
        identity_request = services.identity_request(
            case=case, by=request.user, **_valid(self.InputSerializer, request.data)
        )
        return Response({"id": identity_request.public_id}, status=status.HTTP_201_CREATED)


class IdentityApproveView(APIView):
    permission_classes = [*PERSON, HandlesCases]

    @extend_schema(
        request=None,
        responses={
            200: inline_serializer("IdentityApproved", {"reveal_until": serializers.DateTimeField()}),
            403: DENIED,
            404: NOT_FOUND,
            409: CONFLICT,
        },
        summary="Approve another supervisor's identity request",
    )
    def post(self, request, request_id):
        identity_request = identity_request_for_user(request.user, request_id)
        identity_request = services.identity_approve(request=identity_request, by=request.user)
        return Response({"reveal_until": identity_request.reveal_until})


class IdentityRevealView(APIView):
    permission_classes = [*PERSON, HandlesCases]

    @extend_schema(
        responses={
            200: inline_serializer(
                "Identity",
                {
                    "account_id": serializers.CharField(),
                    "first_name": serializers.CharField(),
                    "device_serial": serializers.CharField(),
                    "visible_until": serializers.DateTimeField(),
                },
            ),
            403: DENIED,
            404: NOT_FOUND,
            409: CONFLICT,
        },
        summary="Who was recorded: for the requester alone, after approval, for a few minutes",
    )
    def get(self, request, request_id):
        identity_request = identity_request_for_user(request.user, request_id)
        response = Response(services.identity_reveal(request=identity_request, by=request.user))
        response["Cache-Control"] = "no-store"
        return response


class DutyView(APIView):
    permission_classes = [*PERSON, HandlesCases]

    class InputSerializer(serializers.Serializer):
        on_duty = serializers.BooleanField()

    @extend_schema(
        request=InputSerializer,
        responses={200: InputSerializer, 400: INVALID, 403: DENIED},
        summary="Mark yourself on or off duty (new cases go to supervisors on duty)",
    )
    def put(self, request):
        data = _valid(self.InputSerializer, request.data)
        duty = services.duty_set(supervisor=request.user, on_duty=data["on_duty"])
        return Response({"on_duty": duty.on_duty})


class WellbeingSummaryView(APIView):
    permission_classes = [*PERSON, HandlesCases]

    @extend_schema(
        responses={
            200: inline_serializer(
                "WellbeingSummary",
                {
                    "reviewers": serializers.IntegerField(),
                    "avoiding": serializers.IntegerField(),
                    "on_break": serializers.IntegerField(),
                },
            ),
            403: DENIED,
        },
        summary="How many reviewers avoid 'possible distress' clips or are on a break (counts, never who)",
    )
    def get(self, request):
        return Response(services.wellbeing_summary())
