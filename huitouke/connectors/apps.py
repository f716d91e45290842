from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    name = "huitouke.connectors"
    label = "connectors"
    verbose_name = "Connectors"

    def ready(self) -> None:
        from huitouke.care.registry import register_live_source_check
        from huitouke.connectors import tasks
        from huitouke.connectors.selectors import live_source_connected

        tasks.register()
        register_live_source_check("connectors", live_source_connected)
