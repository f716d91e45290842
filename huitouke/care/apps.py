from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in


class CareConfig(AppConfig):
    name = "huitouke.care"
    label = "care"
    verbose_name = "Care"

    def ready(self) -> None:
        from huitouke.analytics.snapshots import register_refresher
        from huitouke.care import follow_ups
        from huitouke.care.library import library_rows
        from huitouke.care.reach import KEY, reach_refresh
        from huitouke.care.services import validity_extend_on_login
        from huitouke.messaging.library import library_register

        # Infrastructure, not business flow: a login keeps the rules of a tended shop valid (seed 004), and the
        # care templates ship with the code, loaded with messaging's library after every migrate.
        user_logged_in.connect(validity_extend_on_login, dispatch_uid="care-validity-on-login")
        library_register("care", library_rows)
        # the stored reach of marketing rules is counted again with analytics' stored figures (after imports, nightly)
        register_refresher(KEY, reach_refresh)
        # and the follow-ups of the rules' messages (the care tick counts again only those that changed)
        register_refresher(follow_ups.KEY, follow_ups.follow_ups_nightly)
