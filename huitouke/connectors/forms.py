"""The store connection form of the sources page."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from huitouke.orders.models import Shop


class StoreForm(forms.Form):
    """A Shopify or WooCommerce store of one shop. Secrets left empty keep the stored ones."""

    shop = forms.ModelChoiceField(queryset=Shop.objects.all(), label=_("Shop"))
    address = forms.CharField(
        label=_("Store address"),
        max_length=255,
        help_text=_("Shopify: your-store.myshopify.com; WooCommerce: https://your-site.example"),
    )
    access_token = forms.CharField(label=_("Admin API access token"), required=False, widget=forms.PasswordInput)
    consumer_key = forms.CharField(label=_("Consumer key"), required=False, widget=forms.PasswordInput)
    consumer_secret = forms.CharField(label=_("Consumer secret"), required=False, widget=forms.PasswordInput)
    webhook_secret = forms.CharField(label=_("Webhook secret"), required=False, widget=forms.PasswordInput)
    silence_minutes = forms.IntegerField(
        label=_("Alert after silence (minutes)"), min_value=0, max_value=10080, initial=0, required=False,
        help_text=_("0: never"),
    )  # fmt: skip
    alert_email = forms.EmailField(label=_("Alert e-mail"), required=False)
    alert_robot_url = forms.URLField(
        label=_("Alert robot URL"), required=False, max_length=200, assume_scheme="https",
        help_text=_("A WeCom or DingTalk group robot's webhook address"),
    )  # fmt: skip
