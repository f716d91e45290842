from django.apps import AppConfig


class ProjectConfig(AppConfig):
    """The project itself as an app: it owns the cross-app orchestration (jobs.py) and the worker command."""

    name = "huitouke"
    label = "huitouke_project"
    verbose_name = "Huitouke"

    def ready(self) -> None:
        import huitouke.jobs  # noqa: F401  (registers the background tasks)
        from huitouke import extensions, metrics
        from huitouke.core.fleet import queue_ping
        from huitouke.core.health import queue_probe_register

        extensions.register()
        metrics.register()
        queue_probe_register("tasks", queue_ping)
