"""Campaign (网络营销, 新品通知, promotions, win-back), its recipients with the holdout split, channel prices."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from huitouke.audiences.models import Segment
from huitouke.core.models import TimeStampedModel
from huitouke.customers.models import Customer
from huitouke.messaging.models import Channel, Template
from huitouke.orders.models import Shop


class Campaign(TimeStampedModel):
    """One send to a segment through one channel with one template, with a holdout group for measuring it.

    Its members are fixed when it is launched (a CampaignRecipient row each, with the holdout draw); the treated
    ones get a message through the messaging engine with the key campaign:<id>:<customer>, so launching twice
    never messages anyone twice.
    """

    class Kind(models.TextChoices):
        NEW_PRODUCTS = "new_products", _("New-product notice")
        PROMOTION = "promotion", _("Promotion")
        WINBACK = "winback", _("Win-back")
        ANNOUNCEMENT = "announcement", _("Announcement")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        LAUNCHING = "launching", _("Launching")
        SENT = "sent", _("Sent")
        PAUSED = "paused", _("Paused")
        CANCELLED = "cancelled", _("Cancelled")

    #: Kinds that only ever reach the customers who agreed to new-product and promotion notices.
    CONSENT_KINDS = (Kind.NEW_PRODUCTS, Kind.PROMOTION)

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("type"), max_length=16, choices=Kind.choices, default=Kind.PROMOTION)
    segment = models.ForeignKey(
        Segment, null=True, blank=True, on_delete=models.PROTECT, related_name="campaigns", verbose_name=_("segment")
    )
    shop = models.ForeignKey(
        Shop, null=True, blank=True, on_delete=models.PROTECT, related_name="campaigns", verbose_name=_("shop")
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices, default=Channel.SMS)
    template = models.ForeignKey(
        Template, null=True, blank=True, on_delete=models.PROTECT, related_name="campaigns", verbose_name=_("template")
    )
    context = models.JSONField(_("template values"), default=dict, blank=True)  # e.g. {"product": "…", "coupon": "…"}
    scheduled_at = models.DateTimeField(_("send at"), null=True, blank=True)  # None: at once
    holdout_share = models.DecimalField(
        _("holdout share"),
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.10"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("0.5"))],
    )
    attribution_days = models.PositiveSmallIntegerField(
        _("attribution window (days)"), default=7, validators=[MinValueValidator(1), MaxValueValidator(90)]
    )
    seed = models.PositiveIntegerField(_("split seed"), default=0)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    launched_at = models.DateTimeField(_("launched"), null=True, blank=True)
    targeted = models.PositiveIntegerField(_("targeted"), default=0)
    held_out = models.PositiveIntegerField(_("held out"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    #: A one-off send to customers picked on the customer list (no segment): `selection` holds either
    #: {"ids": [...]} (the ticked customers) or {"filters": {...}} (the list's filters, "everyone listed").
    one_off = models.BooleanField(_("one-off send"), default=False)
    selection = models.JSONField(_("picked customers"), default=dict, blank=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(holdout_share__gte=0) & Q(holdout_share__lte=Decimal("0.5")), name="campaign_holdout_0_50"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CampaignRecipient(models.Model):
    """A customer the campaign selected at launch, and which side of the split they fell on."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipients", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="campaign_memberships")
    holdout = models.BooleanField(_("held out"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "customer"], name="campaign_recipient_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.customer_id}{' (holdout)' if self.holdout else ''}"


class ChannelPrice(TimeStampedModel):
    """What one message costs on a channel (an SMS is charged per part), for the campaign's cost and ROI."""

    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices, unique=True)
    price = models.DecimalField(_("price (¥)"), max_digits=8, decimal_places=4, default=Decimal("0"))

    class Meta:
        verbose_name = _("channel price")
        verbose_name_plural = _("channel prices")

    def __str__(self) -> str:
        return f"{self.channel}: {self.price}"


#: Prices used until the shop sets its own: a typical price per SMS part in mainland China.
DEFAULT_PRICES = {Channel.SMS: Decimal("0.045"), Channel.EMAIL: Decimal("0"), Channel.MANUAL: Decimal("0")}
