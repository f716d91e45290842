"""Live order sources of a shop (push token, Shopify, WooCommerce, watched folder), what they delivered, and the
webhooks and files waiting for the worker."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from huitouke.core.models import TimeStampedModel
from huitouke.orders.models import Shop


class Source(TimeStampedModel):
    """One live source of a shop's orders. A push source appears on the shop's first push; Shopify and
    WooCommerce are set up on the settings page (their secrets encrypted like channel secrets); a watched folder
    on its first run. `key` is the random part of the webhook URL; `cursor` is where a backfill stopped."""

    class Kind(models.TextChoices):
        PUSH = "push", _("Order push API")
        SHOPIFY = "shopify", _("Shopify")
        WOOCOMMERCE = "woocommerce", _("WooCommerce")
        FOLDER = "folder", _("Watched folder")

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="order_sources")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    #: the store's address (Shopify: shop.myshopify.com; WooCommerce: https://…), or the folder's path
    address = models.CharField(_("address"), max_length=255, blank=True)
    key = models.CharField(max_length=32, unique=True)
    secrets_encrypted = models.TextField(blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    #: alert when nothing arrived for this many minutes (0: never)
    silence_minutes = models.PositiveIntegerField(_("alert after silence (minutes)"), default=0)
    alert_email = models.EmailField(_("alert e-mail"), blank=True)
    #: a WeCom / DingTalk group robot's webhook address for the silence alert
    alert_robot_url = models.URLField(_("alert robot URL"), blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True)
    silence_alerted_at = models.DateTimeField(null=True, blank=True)
    cursor = models.TextField(blank=True)
    sync_since = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["shop__name", "kind"]
        constraints = [models.UniqueConstraint(fields=["shop", "kind"], name="connectors_source_shop_kind_uniq")]

    def __str__(self) -> str:
        return f"{self.shop} · {self.get_kind_display()}"

    @property
    def is_live(self) -> bool:
        """Delivers orders as they happen (everything but a folder nobody watches is live once enabled)."""
        return self.enabled


class SourceEvent(models.Model):
    """What one delivery brought (a push batch, a webhook, a file, a backfill page): how many orders, and why it
    failed when it did. The health page counts these."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(db_index=True)
    ok = models.BooleanField(default=True)
    orders = models.PositiveIntegerField(default=0)
    reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["source", "-at"], name="connectors_event_source_idx")]

    def __str__(self) -> str:
        return f"{self.source_id} {self.at:%Y-%m-%d %H:%M} {'ok' if self.ok else self.reason}"


class WebhookDelivery(TimeStampedModel):
    """A verified webhook, stored as received and acknowledged at once; the worker maps and writes it. Unique by
    the platform's delivery id, so a replayed or re-sent webhook is stored (and processed) once."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        DONE = "done", _("Processed")
        FAILED = "failed", _("Failed")

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="deliveries")
    delivery_id = models.CharField(max_length=128)
    topic = models.CharField(max_length=64)
    body = models.TextField()
    #: the order's id at the store and its "updated at" there: an older state never overwrites a newer one
    order_ref = models.CharField(max_length=64, blank=True)
    remote_updated_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    error = models.CharField(max_length=500, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["source", "delivery_id"], name="connectors_delivery_uniq"),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="connectors_delivery_status_idx")]

    def __str__(self) -> str:
        return f"{self.topic} {self.delivery_id}"


class WatchedFile(TimeStampedModel):
    """A file (or Taobao pair) a watched folder took, by the SHA-256 of its content: the same content is never
    imported twice, whatever it is called and whichever folder it is dropped into."""

    class Status(models.TextChoices):
        DONE = "done", _("Imported")
        FAILED = "failed", _("Failed")

    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="files")
    sha256 = models.CharField(max_length=64, unique=True)
    folder = models.CharField(max_length=500)
    name = models.CharField(max_length=255)
    status = models.CharField(max_length=8, choices=Status.choices)
    result = models.JSONField(default=dict)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name
