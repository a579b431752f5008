from django.apps import AppConfig
from django.core import checks


class AuditConfig(AppConfig):
    name = "reviewportal.audit"
    label = "audit"
    verbose_name = "Access trail"

    def ready(self) -> None:
        checks.register(trail_is_on, checks.Tags.security, deploy=False)


def trail_is_on(app_configs, **kwargs):
    from django.conf import settings

    if settings.AUDIT_ENABLED:
        return []
    return [
        checks.Warning(
            "AUDIT_ENABLED is off: accesses are not recorded.",
            hint="Turn it off only to measure the trail's own cost in bench/; never in production.",
            id="audit.W001",
        )
    ]
