from django.apps import AppConfig
from django.core import checks


class EscalationsConfig(AppConfig):
    name = "escalations"
    verbose_name = "Escalations"

    def ready(self) -> None:
        checks.register(distress_phrases_load)


def distress_phrases_load(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """A broken phrase file stops start-up, instead of failing every ingest later."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    from escalations import prescreen

    try:
        prescreen.load(str(settings.DISTRESS_PHRASES_FILE))
    except ImproperlyConfigured as error:
        return [checks.Error(str(error), id="escalations.E001")]
    return []
