"""has_model_perm(): the role check on every call of the review loop, in one short statement."""

import pytest
from django.contrib.auth.models import Group, Permission

from reviewportal.accounts.permissions import has_model_perm
from reviewportal.accounts.roles import REVIEWERS

pytestmark = pytest.mark.django_db

REVIEW = "annotations.review_clips"


def test_a_reviewer_holds_it_through_the_group(reviewer, django_assert_num_queries):
    has_model_perm(reviewer, REVIEW)  # the first call of a process reads the permission ids

    with django_assert_num_queries(1):
        assert has_model_perm(reviewer, REVIEW)


def test_someone_outside_the_group_does_not(outsider, supervisor):
    assert not has_model_perm(outsider, REVIEW)
    assert not has_model_perm(outsider, "annotations.change_clippool")


def test_a_permission_given_to_the_person_counts(outsider):
    outsider.user_permissions.add(
        Permission.objects.get(content_type__app_label="annotations", codename="review_clips")
    )

    assert has_model_perm(outsider, REVIEW)


def test_leaving_the_group_takes_it_away_at_once(reviewer):
    assert has_model_perm(reviewer, REVIEW)

    reviewer.groups.remove(Group.objects.get(name=REVIEWERS))

    assert not has_model_perm(reviewer, REVIEW)


def test_another_apps_permission_of_the_same_codename_does_not_count(reviewer):
    assert not has_model_perm(reviewer, "escalations.review_clips")
    assert not has_model_perm(reviewer, "annotations.no_such_permission")


def test_an_inactive_person_holds_nothing_and_a_superuser_everything(reviewer, django_user_model):
    reviewer.is_active = False
    root = django_user_model.objects.create_superuser("root", password="x" * 20)

    assert not has_model_perm(reviewer, REVIEW)
    assert has_model_perm(root, REVIEW)
