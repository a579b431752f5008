"""The supervisors' pages, and the deadline task running in a real Celery worker on Redis."""

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from django.utils import timezone

from escalations import services
from escalations.models import EscalationEvent
from tests.conftest import signed_in

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_the_dashboard_and_case_page_walk_a_case_to_closed(flagged, supervisor_on_duty, second_supervisor):
    case, _, _ = flagged
    browser = signed_in(supervisor_on_duty, Client)
    dashboard = browser.get("/supervise/escalations").content.decode()
    assert str(case.public_id) in dashboard and "escalations-dashboard.js" in dashboard
    page = f"/supervise/escalations/{case.public_id}"
    assert b"<audio" in browser.get(page).content

    for to_state in ("acknowledged", "under_review"):
        browser.post(f"{page}/steps", {"step": "transition", "to_state": to_state})
    browser.post(
        f"{page}/steps",
        {"step": "propose_referral", "disposition": "child_protection_referral", "note": "LA duty desk"},
    )
    refused = browser.post(f"{page}/steps", {"step": "approve_referral"}, follow=True)
    assert b"cannot approve" in refused.content
    signed_in(second_supervisor, Client).post(f"{page}/steps", {"step": "approve_referral"})
    browser.post(
        f"{page}/steps", {"step": "transition", "to_state": "closed", "disposition": "child_protection_referral"}
    )

    assert services.current(case).state == "closed"
    assert b"No open cases" in browser.get("/supervise/escalations").content


@pytest.mark.django_db
def test_going_on_and_off_duty_from_the_dashboard(supervisor):
    from escalations.models import SupervisorDuty

    browser = signed_in(supervisor, Client)
    browser.post("/supervise/duty", {"on_duty": "1"})
    assert SupervisorDuty.objects.get(supervisor=supervisor).on_duty
    browser.post("/supervise/duty", {"on_duty": "0"})
    assert not SupervisorDuty.objects.get(supervisor=supervisor).on_duty


@pytest.mark.django_db(transaction=True)
def test_a_real_celery_worker_on_redis_reassigns_an_overdue_case(flagged, lead, settings):
    """Production runs the deadline task in a Celery worker with Redis as broker: run one."""
    if connection.vendor != "postgresql" or not django_settings.REDIS_URL:
        pytest.skip("needs PostgreSQL and Redis, as production (CI's second run) has them")
    case, _, _ = flagged
    EscalationEvent.objects.filter(escalation=case).update(deadline=timezone.now() - timedelta(seconds=1))
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": django_settings.REDIS_URL,
        "ESCALATION_DEADLINE_CHECK_SECONDS": "1",
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "reviewportal",
            "worker",
            "--beat",
            "--pool",
            "solo",
            "--loglevel",
            "WARNING",
            "-Q",
            f"test-{os.getpid()}",
            "--schedule",
            str(Path(settings.VAR_DIR) / f"beat-{os.getpid()}"),
        ],
        cwd=ROOT,
        env={**env, "CELERY_TASK_DEFAULT_QUEUE": f"test-{os.getpid()}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and services.current(case).tier == 1:
            time.sleep(0.5)
    finally:
        worker.terminate()
        _, err = worker.communicate(timeout=30)
    moved = services.current(case)
    assert (moved.tier, moved.owner_id) == (2, lead.pk), err.decode()[-2000:]
