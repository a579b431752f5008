from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "reviewportal.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from reviewportal.accounts.permissions import forget_permission_ids
        from reviewportal.accounts.roles import sync_roles_after_migrate
        from reviewportal.precompiled import forget_all

        # A migrate or a flush (tests) can recreate auth_permission rows under new ids.
        post_migrate.connect(forget_permission_ids, dispatch_uid="accounts.forget_permission_ids")
        # Likewise for SQL kept by reviewportal.precompiled: built again after either.
        post_migrate.connect(forget_all, dispatch_uid="accounts.forget_precompiled")

        # Django creates permissions in post_migrate, so roles that hold permissions are synced
        # there too: every migrate (and every test database) ends with the groups in place.
        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="accounts.sync_roles")
