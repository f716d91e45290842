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

        # The sign-in audit hears Django's own sign-in signals (infrastructure, like the role sync above).
        from django.contrib.auth import signals

        from huitouke.core import signin

        signals.user_logged_in.connect(signin.on_logged_in, dispatch_uid="huitouke_audit_login")
        signals.user_logged_out.connect(signin.on_logged_out, dispatch_uid="huitouke_audit_logout")
        signals.user_login_failed.connect(signin.on_login_failed, dispatch_uid="huitouke_audit_login_failed")
