from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_migrate


class CareConfig(AppConfig):
    name = "huitouke.care"
    label = "care"
    verbose_name = "Care"

    def ready(self) -> None:
        from huitouke.care.library import library_load_after_migrate
        from huitouke.care.services import validity_extend_on_login

        # Infrastructure, not business flow: a login keeps the rules of a tended shop valid (seed 004), and the
        # care templates ship with the code like messaging's library.
        user_logged_in.connect(validity_extend_on_login, dispatch_uid="care-validity-on-login")
        post_migrate.connect(library_load_after_migrate, sender=self)
