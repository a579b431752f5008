"""Issue 4: every change saved in the admin leaves an event (type, id, what happened; never values)."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from annotations.models import ClipPool, ClipPoolGroupObjectPermission
from reviewportal.audit import trail
from reviewportal.audit.models import AccessEvent, Action
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db
POOLS = "/admin/annotations/clippool/"
SECRET_WORDS = "Confidential pool for the Hofstede household"


@pytest.fixture
def admin_browser(supervisor):
    return signed_in(supervisor, Client)


def changes() -> list[AccessEvent]:
    return list(AccessEvent.objects.filter(action=Action.ADMIN_CHANGED).order_by("sequence"))


def test_adding_a_pool_is_recorded_with_its_id_and_no_values(admin_browser, supervisor):
    response = admin_browser.post(
        f"{POOLS}add/", {"name": "Dutch", "slug": "dutch", "description": SECRET_WORDS, "is_restricted": "on"}
    )

    assert response.status_code == 302
    pool = ClipPool.objects.get(slug="dutch")
    [added] = changes()
    assert (added.actor_user_id, added.object_type, added.object_id) == (
        supervisor.pk,
        "annotations.clippool",
        str(pool.pk),
    )
    assert added.detail == {"change": "added", "path": f"{POOLS}add/"}
    assert "Dutch" not in str(added.detail) and "Hofstede" not in str(added.detail)


def test_changing_a_pool_records_which_fields_changed_but_not_to_what(admin_browser):
    pool = ClipPool.objects.create(slug="dutch", name="Dutch")

    admin_browser.post(f"{POOLS}{pool.pk}/change/", {"name": "Dutch", "slug": "dutch", "description": SECRET_WORDS})

    [changed] = changes()
    assert changed.object_id == str(pool.pk) and changed.detail["change"] == "changed"
    assert changed.detail["fields"] == "Description"
    assert "Hofstede" not in str(changed.detail)


def test_granting_a_pool_to_a_group_is_recorded_as_a_permission_change(admin_browser):
    pool = ClipPool.objects.create(slug="dutch", name="Dutch")
    reviewers = Group.objects.get(name="reviewers")

    response = admin_browser.post(
        f"{POOLS}{pool.pk}/permissions/group-manage/{reviewers.pk}/", {"permissions": ["review_pool"]}
    )

    assert response.status_code == 302
    assert ClipPoolGroupObjectPermission.objects.filter(content_object=pool, group=reviewers).exists()
    [granted] = changes()
    assert (granted.object_type, granted.object_id) == ("annotations.clippool", str(pool.pk))
    assert granted.detail["change"] == "permissions"
    assert granted.detail["group"] == str(reviewers.pk) and granted.detail["permissions"] == "review_pool"


def test_changing_someones_groups_and_deleting_a_pool_are_recorded(django_user_model, reviewer):
    root = django_user_model.objects.create_superuser("root")
    admin = signed_in(root, Client)
    supervisors = Group.objects.get(name="supervisors")
    user_form = {
        "username": "rita",
        "is_active": "on",
        "groups": [group.pk for group in reviewer.groups.all()] + [supervisors.pk],
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "09:00:00",
    }
    assert admin.post(f"/admin/accounts/user/{reviewer.pk}/change/", user_form).status_code == 302
    pool = ClipPool.objects.create(slug="empty", name="Empty")
    assert admin.post(f"{POOLS}{pool.pk}/delete/", {"post": "yes"}).status_code == 302

    promoted, deleted = changes()
    assert (promoted.object_type, promoted.object_id) == ("accounts.user", str(reviewer.pk))
    assert promoted.detail["change"] == "changed" and "Groups" in promoted.detail["fields"]
    assert (deleted.object_type, deleted.object_id, deleted.detail["change"]) == (
        "annotations.clippool",
        str(pool.pk),
        "deleted",
    )


def test_a_form_with_errors_changes_nothing_and_records_no_change(admin_browser):
    response = admin_browser.post(f"{POOLS}add/", {"name": "", "slug": ""})

    assert response.status_code == 200
    assert changes() == []


def test_an_admin_change_and_its_event_commit_together(admin_browser, monkeypatch):
    def broken_seal(row):
        raise RuntimeError("HMAC key unavailable")

    monkeypatch.setattr(trail, "_hmac", broken_seal)
    admin_browser.raise_request_exception = False

    response = admin_browser.post(f"{POOLS}add/", {"name": "Dutch", "slug": "dutch"})

    assert response.status_code == 500
    assert not ClipPool.objects.filter(slug="dutch").exists()
