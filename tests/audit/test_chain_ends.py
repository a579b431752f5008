"""Issue 4: deleting the oldest or the newest rows shows, and a legitimate purge does not."""

import io

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import transaction

from reviewportal.audit import trail
from reviewportal.audit.models import AccessEvent, Action
from tests.audit.test_tamper_evidence import Terminal, _age, _tamper, verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain(django_capture_on_commit_callbacks):
    """Five events, each committed, so the high-water mark follows them as it does in production."""
    for n in range(5):
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            trail.record(Action.ADMIN_VIEWED, object_type="admin", object_id=f"/admin/{n}", detail={"n": n})
    return list(AccessEvent.objects.order_by("sequence"))


def test_the_high_water_mark_follows_the_newest_committed_row(chain):
    assert trail.high_water()[chain[4].lane] == (5, chain[4].hash)


def test_deleting_the_oldest_rows_without_a_purge_is_caught(chain):
    _tamper("DELETE FROM audit_accessevent WHERE sequence <= 2", [])

    code, message = verify()

    assert code == 1
    assert "Broken at sequence 1: missing: rows 1–2 are gone but nothing was purged" in message


def test_deleting_more_than_the_purge_removed_is_caught(chain):
    _age(2)
    call_command("purge_audit_log", stdout=io.StringIO())
    assert verify()[0] == 0
    _tamper("DELETE FROM audit_accessevent WHERE sequence = 3", [])

    code, message = verify()

    assert code == 1
    assert "Broken at sequence 3: missing: rows 3–3 are gone but the last purge removed rows up to 2" in message


def test_deleting_the_purge_record_itself_is_caught(chain):
    _age(2)
    call_command("purge_audit_log", stdout=io.StringIO())
    with transaction.atomic():
        trail.record(Action.ADMIN_VIEWED, object_type="admin", object_id="/admin/after")
    _tamper("DELETE FROM audit_accessevent WHERE action = 'audit_purged'", [])

    code, message = verify()

    assert code == 1
    assert "Broken at sequence 1: missing: rows 1–2 are gone but nothing was purged" in message


def test_a_purge_refuses_to_cover_up_rows_already_deleted_from_the_start(chain):
    _tamper("DELETE FROM audit_accessevent WHERE sequence = 1", [])
    _age(3)

    with pytest.raises(CommandError, match="Not purging: the trail is broken at sequence 1"):
        call_command("purge_audit_log", stdout=io.StringIO())

    assert AccessEvent.objects.count() == 4


def test_a_purge_refuses_to_cover_up_a_gap_among_the_old_rows(chain):
    _tamper("DELETE FROM audit_accessevent WHERE sequence = 2", [])
    _age(3)

    with pytest.raises(CommandError, match=r"rows 1–3 of lane \d+ should all go \(3\), but 2 of them are there"):
        call_command("purge_audit_log", stdout=io.StringIO())

    assert AccessEvent.objects.count() == 4


def test_deleting_the_newest_rows_is_caught_by_the_high_water_mark(chain):
    _tamper("DELETE FROM audit_accessevent WHERE sequence >= 4", [])

    code, message = verify()

    assert code == 1
    assert "Broken at sequence 4: missing: rows 4–5 were recorded but are gone" in message


def test_without_the_mark_a_head_kept_from_an_earlier_run_catches_it(chain):
    out = io.StringIO()
    call_command("verify_audit_log", stdout=out, stderr=io.StringIO())
    head = out.getvalue().split("--expect-head ")[1].split()[0]
    assert head == f"{chain[4].lane}:5:{chain[4].hash}"
    _tamper("DELETE FROM audit_accessevent WHERE sequence >= 5", [])
    cache.clear()  # whoever deleted the rows also emptied Redis

    with pytest.raises(CommandError, match="Broken at sequence 5: missing: rows 5–5 were recorded"):
        call_command("verify_audit_log", "--expect-head", head, stdout=io.StringIO(), stderr=io.StringIO())


def test_a_newest_row_replaced_with_a_stolen_key_does_not_match_the_mark(chain):
    row = AccessEvent.objects.filter(sequence=5).values().get()
    row["detail"] = {"n": 99}
    _tamper("UPDATE audit_accessevent SET detail = %s, hash = %s WHERE sequence = 5", ['{"n": 99}', trail.seal(row)])

    code, message = verify()

    assert code == 1
    assert "Broken at sequence 5: it is not the row recorded with this sequence" in message


def test_verify_records_itself_with_the_head_it_saw(chain):
    verify()

    verified = AccessEvent.objects.get(action=Action.AUDIT_VERIFIED)
    assert verified.sequence == 6 and verified.actor_label.startswith("manage.py verify_audit_log by ")
    assert verified.detail == {"checked": 5, "intact": True, "heads": {str(chain[4].lane): [5, chain[4].hash]}}


def test_verify_draws_a_progress_bar(chain):
    err = Terminal()
    call_command("verify_audit_log", "--chunk-size", "2", stdout=io.StringIO(), stderr=err)

    bar = err.getvalue()
    assert "verifying" in bar and "5/5" in bar and "100%" in bar


def test_a_bad_expected_head_is_refused_naming_the_option(chain):
    with pytest.raises(CommandError, match="--expect-head"):
        call_command("verify_audit_log", "--expect-head", "five", stdout=io.StringIO(), stderr=io.StringIO())


def test_the_commands_refuse_a_chunk_size_under_one_naming_the_option():
    for command in ("verify_audit_log", "purge_audit_log"):
        with pytest.raises(CommandError, match="--chunk-size"):
            call_command(command, "--chunk-size", "0", stdout=io.StringIO(), stderr=io.StringIO())
