from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "huitouke.analytics"
    label = "analytics"
    verbose_name = "Analytics"

    def ready(self) -> None:
        from huitouke.analytics import extensions, tasks  # noqa: F401  (tasks: the worker's periodic task)

        extensions.register()
