from django.apps import AppConfig


class VisitsConfig(AppConfig):
    name = "huitouke.visits"
    label = "visits"
    verbose_name = "Visits"

    def ready(self) -> None:
        from huitouke.visits import extensions

        extensions.register()
