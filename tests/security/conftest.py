"""Shared by the security walks: a world of other people's objects for every path parameter."""

from urllib.parse import urlsplit

import pytest

from reviewportal.integrations.models import Scope, ServiceToken
from tests.conftest import enrol_totp, signed_in
from tests.url_walk import FILLER_KWARGS


@pytest.fixture
def world(other_reviewer, reviewer, supervisor, auditor, make_clips, django_user_model):
    """Another reviewer flagged one clip and holds the other; another supervisor asked who was
    recorded. Every parameter points at their things."""
    from django.contrib.auth.models import Group

    from escalations import services as escalation_services
    from escalations.models import Escalation

    make_clips(2)
    holder = signed_in(other_reviewer)
    flagged = holder.post("/api/v1/queue/claim").json()["clip"]["id"]
    holder.post(
        f"/api/v1/clips/{flagged}/escalations",
        {"category": "other_distress", "start_ms": 0, "end_ms": 500},
        format="json",
    )
    body = holder.post("/api/v1/queue/claim").json()
    case = Escalation.objects.get()
    colleague = django_user_model.objects.create_user("sven")
    colleague.groups.add(Group.objects.get(name="supervisors"))
    identity_request = escalation_services.identity_request(
        case=case, by=colleague, justification="the referral to child protection needs the account"
    )
    samples = {
        "clip_id": body["clip"]["id"],
        "case_id": case.public_id,
        "request_id": identity_request.public_id,
        "lease_id": body["lease"]["id"],
        "token": urlsplit(body["clip"]["audio_url"]).path.rsplit("/", 1)[1],
        "user_id": other_reviewer.pk,
        **FILLER_KWARGS,
    }
    enrol_totp(reviewer)
    samples["_token"] = ServiceToken.issue(name="walker", scopes=list(Scope.values))[1]
    return samples
