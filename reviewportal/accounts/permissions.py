import functools

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import connection, models
from rest_framework.permissions import BasePermission

# (app label, model name, codename) -> auth_permission id. See permission_id().
_permission_ids: dict[tuple[str, str, str], int] = {}


def _load_permission_ids() -> dict[tuple[str, str, str], int]:
    if not _permission_ids:
        rows = Permission.objects.values_list("pk", "content_type__app_label", "content_type__model", "codename")
        _permission_ids.update({(app_label, model, codename): pk for pk, app_label, model, codename in rows})
    return _permission_ids


def permission_id(model: type[models.Model], codename: str) -> int:
    """The id of one of `model`'s permissions, read from the database once per process.

    The review loop grants and checks permissions on every claim, save and submit; looking the
    same row up each time cost a query (or a join) per call. auth_permission rows are written by
    migrate and never change while the app runs; forget_permission_ids() empties this after every
    migrate or flush (tests), which is when they can be recreated with other ids.
    """
    return _load_permission_ids()[(model._meta.app_label, model._meta.model_name, codename)]


@functools.cache
def _permission_ids_named(perm: str) -> tuple[int, ...]:
    """The ids of every permission "app_label.codename" names (of any of the app's models)."""
    app_label, codename = perm.split(".")
    return tuple(pk for (app, _, name), pk in _load_permission_ids().items() if (app, name) == (app_label, codename))


def forget_permission_ids(**kwargs) -> None:
    """post_migrate receiver: permissions may have been recreated under new ids."""
    _permission_ids.clear()
    _permission_ids_named.cache_clear()


def grant_sql(own_grants: type[models.Model], group_grants: type[models.Model], *, column: str = "") -> str:
    """One statement for "granted to the user, or to one of their groups", on any pair of grant tables.

    `own_grants` has `user` and `permission` fields, `group_grants` `group` and `permission` (the
    user and group permission tables, or guardian's per-object ones). It selects `column` of each
    matching row, or 1. Parameters: user id, permission id, user id, permission id. Written from
    the models' names; the hot paths cache it once per process (each cost about 1.4 ms of ORM CPU
    a call, on every claim, save and submit).
    """
    quote = connection.ops.quote_name
    own, via_group = own_grants._meta, group_grants._meta
    membership = get_user_model().groups.through._meta

    def name(meta, field: str) -> str:
        return quote(meta.get_field(field).column)

    return (
        f"SELECT {name(own, column) if column else 1} FROM {quote(own.db_table)} "  # noqa: S608  names from the models
        f"WHERE {name(own, 'user')} = %s AND {name(own, 'permission')} = %s "
        f"UNION SELECT {f'g.{name(via_group, column)}' if column else 1} FROM {quote(via_group.db_table)} g "
        f"JOIN {quote(membership.db_table)} m ON m.{name(membership, 'group')} = g.{name(via_group, 'group')} "
        f"WHERE m.{name(membership, 'user')} = %s AND g.{name(via_group, 'permission')} = %s"
    )


@functools.cache
def _holds_permission_sql() -> str:
    return grant_sql(get_user_model().user_permissions.through, Group.permissions.through)


def has_model_perm(user, perm: str) -> bool:
    """user.has_perm() for one model permission in one query, where Django loads all of them in two.

    For checks on every request of a hot path (the claim). Superusers hold every permission.
    """
    if not (user.is_authenticated and user.is_active):
        return False
    if user.is_superuser:
        return True
    with connection.cursor() as cursor:
        for pk in _permission_ids_named(perm):
            cursor.execute(_holds_permission_sql(), [user.pk, pk, user.pk, pk])
            if cursor.fetchone() is not None:
                return True
    return False


class IsOTPVerified(BasePermission):
    """Signed in with a password AND a second factor in this session. The API's default."""

    message = "Sign in with your second factor first"

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and getattr(user, "is_verified", lambda: False)())


# Every person-facing API view starts its permission_classes with this list and adds its role
# check after it: `permission_classes = [*PERSON, CanReview]`. Replacing the DRF default with a
# list of one's own must never drop the second factor (tests/security/test_api_second_factor.py
# walks every view to hold that). Only token-authenticated integration views go without it.
PERSON = [IsOTPVerified]
