from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    name = "huitouke.connectors"
    label = "connectors"
    verbose_name = "Connectors"

    def ready(self) -> None:
        from huitouke.connectors import tasks

        tasks.register()
