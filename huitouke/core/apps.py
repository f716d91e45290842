from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "huitouke.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        import huitouke.core.converters  # noqa: F401  (registers the <id:…> URL converter)
        from huitouke.core.roles import roles_sync_after_migrate

        # Keeping role groups in step with the code is infrastructure, not business flow.
        post_migrate.connect(roles_sync_after_migrate, sender=self)
