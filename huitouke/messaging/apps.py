from django.apps import AppConfig
from django.db.models.signals import post_migrate


class MessagingConfig(AppConfig):
    name = "huitouke.messaging"
    label = "messaging"
    verbose_name = "Messaging"

    def ready(self) -> None:
        from huitouke.messaging import extensions, tasks  # noqa: F401  (tasks: the worker's Huey tasks)
        from huitouke.messaging.library import library_load_after_migrate

        extensions.register()
        # Shipping the system templates with the code is infrastructure, like the role groups.
        post_migrate.connect(library_load_after_migrate, sender=self)
