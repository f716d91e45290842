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
        ratelimit_backend_register()
        # Shipping the system templates with the code is infrastructure, like the role groups.
        post_migrate.connect(library_load_after_migrate, sender=self)


def ratelimit_backend_register() -> None:
    """The public pages' per-address limits (core.ratelimit) count in messaging's shared token buckets."""
    import hashlib

    from huitouke.core.ratelimit import backend_register
    from huitouke.messaging.inbound import bucket_take

    def take(key: str, rate: float, burst: float) -> bool:
        if len(key) > 64:  # the bucket's key column; long IPv6 keys are hashed
            key = "h:" + hashlib.sha1(key.encode()).hexdigest()
        return bucket_take(key, rate=rate, burst=burst)

    backend_register(take)
