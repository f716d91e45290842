from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "huitouke.campaigns"
    label = "campaigns"
    verbose_name = "Campaigns"

    def ready(self) -> None:
        from django.utils.translation import gettext_lazy as _

        from huitouke.campaigns import library, tasks
        from huitouke.customers.registry import BulkAction, register_bulk_action
        from huitouke.messaging.library import library_register

        tasks.register()
        from huitouke.analytics.snapshots import register_refresher
        from huitouke.campaigns.selectors import campaign_figures_refresh

        register_refresher("campaigns.orders", campaign_figures_refresh)
        register_bulk_action(
            BulkAction(
                key="send-message",
                label=_("Send a message"),
                url_name="campaigns:one-off",
                permission="campaigns.add_campaign",
            )
        )
        library_register("campaigns", library.library_rows)
