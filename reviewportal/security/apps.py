from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "reviewportal.security"
    label = "security"
    verbose_name = "Security"
