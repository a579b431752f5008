"""Promise 4: reviewers never see who was recorded. Every role walks every page and API answer
around a demo clip being worked, and the bytes are searched for the demo identities."""

import io
import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client
from guardian.shortcuts import assign_perm

from annotations.models import ClipPool
from tests.conftest import signed_in
from tests.security.test_url_walk import METHODS, every_endpoint, fill
from tests.url_walk import FILLER_KWARGS

pytestmark = pytest.mark.django_db
DEMO = Path(__file__).resolve().parents[2] / "demo" / "manifest.jsonl"


def demo_identities() -> set[str]:
    values = set()
    for line in DEMO.read_text().splitlines():
        entry = json.loads(line)
        values |= {entry["account_id"], entry["first_name"], entry["device_serial"], entry["source_id"]}
    return {value for value in values if value}


@pytest.fixture
def lead(django_user_model):
    """An escalation lead: the next tier for missed deadlines, on the escalation team."""
    user = django_user_model.objects.create_user(username="lena")
    user.groups.add(*Group.objects.filter(name__in=["escalation_leads", "escalation_team"]))
    return user


@pytest.fixture
def plain_supervisor(django_user_model):
    """A supervisor who is not on the escalation team: handles cases, has no view grant on their clips."""
    user = django_user_model.objects.create_user(username="sune")
    user.groups.add(Group.objects.get(name="supervisors"))
    return user


@pytest.fixture
def demo_world(reviewer, other_reviewer, supervisor, django_user_model):
    """A reviewer at work on the demo clips, through every working answer with a valid body:
    claim, claim-next, read, save, submit (which promotes the clip claimed ahead), skip, and a
    false wake; then a clip held and being worked, which the walk uses."""
    call_command("ingest_clips", str(DEMO), stdout=io.StringIO(), stderr=io.StringIO())
    for pool in ClipPool.objects.all():
        assign_perm("annotations.review_pool", Group.objects.get(name="reviewers"), pool)
    supervisor.groups.add(Group.objects.get_or_create(name="escalation_team")[0])
    worker = signed_in(reviewer)
    answers = []

    def keep(response, status: int):
        assert response.status_code == status, (response.status_code, response.content[:200])
        answers.append(response)
        return response.json() if response.content else None

    # Submit with the last edit sent along, as the editor does; the clip claimed ahead becomes current.
    first = keep(worker.post("/api/v1/queue/claim"), 200)
    ahead = keep(worker.post("/api/v1/queue/claim-next"), 200)
    final = {"text": "a final transcript", "base_version": first["clip"]["version"], "tags": []}
    submit = {"played": True, "transcript": final}
    submitted = keep(worker.post(f"/api/v1/clips/{first['clip']['id']}/submit", submit, format="json"), 200)
    assert submitted["next_lease"]["id"] == ahead["lease"]["id"]
    # Skip the clip that became current.
    keep(worker.post(f"/api/v1/leases/{ahead['lease']['id']}/release", {"reason": "other"}, format="json"), 204)
    # A false wake: not addressed to the assistant.
    woke = keep(worker.post("/api/v1/queue/claim"), 200)
    false_wake = {"played": True, "transcript": {"text": "", "base_version": 0, "tags": ["not_addressed"]}}
    keep(worker.post(f"/api/v1/clips/{woke['clip']['id']}/submit", false_wake, format="json"), 200)
    # The clip being worked while the walk runs, and one claimed ahead of it.
    working = keep(worker.post("/api/v1/queue/claim"), 200)
    clip_id, lease_id = working["clip"]["id"], working["lease"]["id"]
    detail = keep(worker.get(f"/api/v1/clips/{clip_id}"), 200)
    keep(worker.put(f"/api/v1/clips/{clip_id}/transcript", {"text": "a draft", "base_version": 0}, format="json"), 200)
    keep(worker.post("/api/v1/queue/claim-next"), 200)
    # A second clip is flagged, so case pages and the dashboard have something to show.
    holder = signed_in(other_reviewer)
    flagged = holder.post("/api/v1/queue/claim").json()["clip"]["id"]
    answers.append(
        holder.post(
            f"/api/v1/clips/{flagged}/escalations",
            {"category": "child_safety", "start_ms": 0, "end_ms": 500},
            format="json",
        )
    )
    from escalations.models import Escalation

    samples = {
        "clip_id": clip_id,
        "lease_id": lease_id,
        "token": urlsplit(detail["audio_url"]).path.rsplit("/", 1)[1],
        "case_id": Escalation.objects.get().public_id,
        "request_id": "00000000-0000-4000-8000-000000000000",
        "user_id": reviewer.pk,
        **FILLER_KWARGS,
    }
    return worker, samples, answers


def test_no_page_or_api_answer_names_who_was_recorded(
    demo_world, reviewer, supervisor, auditor, lead, plain_supervisor
):
    worker, samples, answers = demo_world
    secrets = demo_identities()
    assert len(secrets) > 30
    people = {
        "reviewer": lambda: worker,
        "supervisor": lambda: signed_in(supervisor, Client),
        "escalation lead": lambda: signed_in(lead, Client),
        "supervisor not on the escalation team": lambda: signed_in(plain_supervisor, Client),
        "auditor": lambda: signed_in(auditor, Client),
        "anonymous": Client,
    }
    # The two added roles really reach the case, so the walk searches what they see: the lead
    # (on the team) with its audio, the supervisor off the team without.
    case_page = f"/supervise/escalations/{samples['case_id']}"
    lead_page, off_team_page = (
        signed_in(lead, Client).get(case_page),
        signed_in(plain_supervisor, Client).get(case_page),
    )
    assert (lead_page.status_code, off_team_page.status_code) == (200, 200)
    assert "<audio" in lead_page.content.decode() and "<audio" not in off_team_page.content.decode()
    assert len(answers) == 11
    leaks, walked = [], 0
    for response in answers:
        walked += 1
        leaks += [f"the reviewer's own API answer leaks {s!r}" for s in secrets if s in response.content.decode()]
    for template, name in every_endpoint():
        if name in {"logout", "admin-logout"}:
            continue  # would end the session the walk needs
        url = fill(template, samples)
        for who, client_for in people.items():
            for method in METHODS:
                client = client_for()
                client.raise_request_exception = False
                response = getattr(client, method)(url)
                walked += 1
                if response.get("Content-Type", "").startswith("audio/"):
                    body = ""  # the recording itself; its headers are still searched below
                else:
                    body = (
                        b"".join(response.streaming_content).decode(errors="replace")
                        if response.streaming
                        else response.content.decode(errors="replace")
                    )
                headers = str(response.headers)
                leaks += [f"{method.upper()} {url} as {who} leaks {s!r}" for s in secrets if s in body or s in headers]
    assert walked > 500
    assert leaks == []
