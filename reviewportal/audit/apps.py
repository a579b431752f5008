from django.apps import AppConfig
from django.core import checks


class AuditConfig(AppConfig):
    name = "reviewportal.audit"
    label = "audit"
    verbose_name = "Access trail"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from reviewportal.audit.lanes import forget_heads

        checks.register(trail_is_on, checks.Tags.security, deploy=False)
        # A flush (tests) or migration may remove rows: the lane's head is read again.
        post_migrate.connect(forget_heads, dispatch_uid="audit.forget_lane_heads")


def trail_is_on(app_configs, **kwargs):
    """The trail may be off only on a developer's DEBUG machine; anywhere else manage.py refuses to run."""
    from django.conf import settings

    if settings.AUDIT_ENABLED:
        return []
    if settings.DEBUG:
        return [
            checks.Warning(
                "AUDIT_ENABLED is off: accesses are not recorded.",
                hint="Turn it off only to measure the trail's own cost in bench/; never in production.",
                id="audit.W001",
            )
        ]
    return [
        checks.Error(
            "AUDIT_ENABLED is off with DEBUG off: accesses would not be recorded.",
            hint="Set AUDIT_ENABLED=1. The trail can be switched off only with DEBUG on (bench/ measures its cost "
            "in-process or with the server started without system checks).",
            id="audit.E001",
        )
    ]
