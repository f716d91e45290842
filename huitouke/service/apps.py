from django.apps import AppConfig


class ServiceConfig(AppConfig):
    name = "huitouke.service"
    label = "service"
    verbose_name = "Service"

    def ready(self) -> None:
        from huitouke.service import extensions, report_extensions

        extensions.register()
        report_extensions.register()
