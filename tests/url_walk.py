"""Filler values for the URL parameters no walk cares about: admin object ids, app labels, slugs.

Walks over every route (tests/security, tests/privacy) add the parameters they do care about
(clip, lease, case, token, user) from objects they made.
"""

FILLER_KWARGS = {
    "object_id": "1",
    "id": "1",
    "pk": "1",
    "object_pk": "1",
    "group_id": "1",
    "app_label": "annotations",
    "content_type_id": "1",
    "url": "nothing-here",
    "pool_slug": "locale-en-us",
}
