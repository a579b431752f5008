from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "reviewportal.integrations"
    label = "integrations"
    verbose_name = "Integrations"
