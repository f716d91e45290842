from django.apps import AppConfig


class AudiencesConfig(AppConfig):
    name = "huitouke.audiences"
    label = "audiences"
    verbose_name = "Audiences"

    def ready(self) -> None:
        from huitouke.audiences import extensions

        extensions.register()
