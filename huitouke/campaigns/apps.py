from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "huitouke.campaigns"
    label = "campaigns"
    verbose_name = "Campaigns"

    def ready(self) -> None:
        from huitouke.campaigns import tasks

        tasks.register()
