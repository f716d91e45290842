from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "huitouke.customers"
    label = "customers"
    verbose_name = "Customers"
