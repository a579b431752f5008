from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AnnotationsConfig(AppConfig):
    name = "annotations"
    verbose_name = "Annotations"

    def ready(self):
        from annotations.grants import forget_permission_ids

        # A migrate or a flush (tests) can recreate auth_permission rows under new ids.
        post_migrate.connect(forget_permission_ids, dispatch_uid="annotations.forget_permission_ids")
