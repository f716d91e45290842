from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Project-level tooling that builds a realistic demo shop across every app (no models of its own)."""

    name = "huitouke.demo"
    label = "demo"
    verbose_name = "Demo shop"
