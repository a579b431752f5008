"""Issue 6 in the editor: a possible-distress clip starts quietly, and one key opens the flag form.

Alt+X opens the escalation dialog with the moment around the cursor filled in; "Escalate now"
opens a case with the supervisor on duty, ends the reviewer's lease (the clip is the case's now)
and offers a break; "Continue" moves on to the clip claimed ahead.
"""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.models import Group

from annotations.models import LeaseOutcome
from escalations import services as escalation_services
from escalations.models import Escalation, ReviewerWellbeing
from tests.browser.conftest import sign_in
from tests.browser.test_editor import assert_nothing_leaked

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def on_duty(supervisor):
    supervisor.groups.add(Group.objects.get_or_create(name="escalation_team")[0])
    # Off the test's thread: Playwright runs an event loop there, and going on duty tells the
    # supervisors' sockets through the channel layer from synchronous code.
    with ThreadPoolExecutor(1) as thread:
        thread.submit(escalation_services.duty_set, supervisor=supervisor, on_duty=True).result()
    return supervisor


def start(page, reviewer) -> None:
    sign_in(page, reviewer)
    page.click("#start")
    page.wait_for_selector("#editor[data-waveform=drawn]")


def test_a_possible_distress_clip_is_announced_and_starts_quietly(page, reviewer, make_clips):
    make_clips(1, asr_text="somebody help me please")
    start(page, reviewer)

    assert page.is_visible("#distress-warning")
    assert page.evaluate("document.querySelector('audio[data-current]').volume") == pytest.approx(0.3)
    assert_nothing_leaked(page)


def test_a_calm_clip_plays_at_full_volume_without_a_warning(page, reviewer, make_clips):
    make_clips(1)
    start(page, reviewer)

    assert not page.is_visible("#distress-warning")
    assert page.evaluate("document.querySelector('audio[data-current]').volume") == 1


def test_one_key_escalates_then_the_reviewer_continues_with_the_next_clip(page, reviewer, on_duty, make_clips):
    first, second = make_clips(2)
    start(page, reviewer)
    page.wait_for_selector("#editor[data-next=ready]")

    page.keyboard.press("Alt+X")
    page.wait_for_selector("#escalate-dialog[open]")
    page.select_option("#escalate-category", "child_safety")
    page.fill("#escalate-note", "a child crying for help")
    page.click("#escalate-form button[value=escalate]")
    page.wait_for_selector("#escalated:not([hidden])")

    case = Escalation.objects.with_current().get()
    assert (case.clip_id, case.category, case.current_owner_id) == (first.id, "child_safety", on_duty.id)
    assert case.note == "a child crying for help"
    assert first.leases.get().outcome == LeaseOutcome.ESCALATED
    assert "minutes" in page.inner_text("#escalated")

    page.click("#escalated-continue")
    page.wait_for_selector(f"#editor[data-clip='{second.public_id}'][data-waveform=drawn]")
    assert_nothing_leaked(page)


def test_taking_the_offered_break_pauses_the_queue(page, reviewer, on_duty, make_clips):
    make_clips(2)
    start(page, reviewer)

    page.keyboard.press("Alt+X")
    page.wait_for_selector("#escalate-dialog[open]")
    page.click("#escalate-form button[value=escalate]")
    page.wait_for_selector("#take-break")
    page.click("#take-break")
    page.wait_for_url("**/my/escalations")

    assert ReviewerWellbeing.objects.get(reviewer=reviewer).paused_until is not None
