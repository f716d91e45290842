from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "huitouke.campaigns"
    label = "campaigns"
    verbose_name = "Campaigns"

    def ready(self) -> None:
        from huitouke.campaigns import library, tasks
        from huitouke.messaging.library import library_register

        tasks.register()
        library_register("campaigns", library.library_rows)
