from django.apps import AppConfig


class LoyaltyConfig(AppConfig):
    name = "huitouke.loyalty"
    label = "loyalty"
    verbose_name = "Loyalty"

    def ready(self) -> None:
        from huitouke.loyalty import extensions

        extensions.register()
