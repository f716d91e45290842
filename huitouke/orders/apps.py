from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "huitouke.orders"
    label = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        from huitouke.orders import extensions

        extensions.register()
