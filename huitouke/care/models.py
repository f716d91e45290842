"""Customer care (客户关怀): rules that look after customers automatically, their activations, the day-by-day run
record, and the shops' carrier transit days.

A rule says whom to care for (a trigger with its parameters, optionally narrowed to an audience), what to say
(a messaging template on one channel) and when (a send time of day). Its send records are the messaging
`Message` rows whose source is one of its activations: an activation starts whenever the rule is enabled or
its content is edited, so the records of the current activation are shown first and older ones stay
viewable. While a rule is valid (`valid_until`), every login of a shop user moves its validity to that login
+ 7 days (`auto_extend`, on by default), so rules stop on their own when nobody tends the shop.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from huitouke.care.triggers import TRIGGERS
from huitouke.core.models import TimeStampedModel
from huitouke.messaging.models import Channel
from huitouke.orders.models import Shop


class Trigger(models.TextChoices):
    """The trigger catalogue (care/triggers/__init__.py has each one's rhythm, occasion and defaults)."""

    PAID_TODAY = "paid_today", _("Paid today (付款关怀)")
    UNPAID_REMINDER = "unpaid_reminder", _("Unpaid order reminder (催付)")
    SHIPPED = "shipped", _("Order shipped (发货关怀)")
    DELIVERED_FOLLOWUP = "delivered_followup", _("After delivery: satisfaction and review")
    UNCONFIRMED_RECEIPT = "unconfirmed_receipt", _("Received but not confirmed")
    BIRTHDAY = "birthday", _("Birthday (solar or lunar)")
    NO_CONTACT = "no_contact", _("Not contacted for a while")
    DORMANT = "dormant", _("Dormant: win back")
    LEVEL_UP = "level_up", _("Member level up")
    HOLIDAY = "holiday", _("Holiday greetings")
    REPLENISHMENT = "replenishment", _("Replenishment reminder")
    NEW_PRODUCT = "new_product", _("New product notice")


#: how long one activation stays valid without a login, and how far each login moves validity
VALIDITY_DAYS = 7


class CareRule(TimeStampedModel):
    """One care rule: trigger + parameters, optional audience, channel + template, send time, validity.

    `activation` is the number of the current activation (0: never enabled). `levels`/`tags` narrow the
    audience by member level names (any shop) and tags (any of them); `segment` by a saved segment. `shop`
    limits order triggers to one shop and sets the rule's clock (its time zone); without one the business time
    zone applies. `key` marks the suggested rules shipped with Huitouke. A deleted rule is archived, so its send
    records stay traceable.
    """

    name = models.CharField(_("name"), max_length=100)
    trigger = models.CharField(_("trigger"), max_length=24, choices=Trigger.choices)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    shop = models.ForeignKey(
        Shop, null=True, blank=True, on_delete=models.PROTECT, related_name="care_rules", verbose_name=_("shop")
    )
    segment = models.ForeignKey(
        "audiences.Segment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="care_rules",
        verbose_name=_("segment"),
    )
    levels = models.JSONField(_("member levels"), default=list, blank=True)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    template = models.ForeignKey(
        "messaging.Template", on_delete=models.PROTECT, related_name="care_rules", verbose_name=_("template")
    )
    send_time = models.TimeField(_("send time"), null=True, blank=True)
    enabled = models.BooleanField(_("enabled"), default=False)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    auto_extend = models.BooleanField(_("extend validity on login"), default=True)
    activation = models.PositiveIntegerField(_("activation"), default=0)
    key = models.CharField(_("suggested rule"), max_length=32, blank=True)
    archived_at = models.DateTimeField(_("deleted"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["key"], condition=~Q(key="") & Q(archived_at__isnull=True), name="carerule_key_uniq"
            ),
        ]
        indexes = [models.Index(fields=["enabled", "valid_until"], name="carerule_active_idx")]

    def __str__(self) -> str:
        return self.name

    def is_valid_at(self, at: datetime) -> bool:
        """Within its validity at `at` (no end date: always)."""
        return self.valid_until is None or self.valid_until > at

    @property
    def message_purpose(self) -> str:
        """The purpose its messages go out with: the template's, except that a rule whose trigger is marketing by
        nature (win-back of dormant customers, new-product notices) always sends marketing, whatever template it
        uses, so the marketing consent model applies to it."""
        if TRIGGERS[self.trigger].purpose == "marketing":
            return "marketing"
        return str(self.template.purpose)

    def is_active_at(self, at: datetime) -> bool:
        """Enabled, not deleted and valid at `at`: the tick looks at it."""
        return self.enabled and self.archived_at is None and self.activation > 0 and self.is_valid_at(at)

    @property
    def time_zone(self) -> str:
        return self.shop.timezone if self.shop_id and self.shop else settings.TIME_ZONE


class CareActivation(models.Model):
    """One activation of a rule (开启): from being enabled or having its content edited until the next one.

    `snapshot` keeps what the rule said and to whom during this activation (trigger, parameters, audience,
    channel, template text), so older send records can be read against what was meant. Messages point at their
    activation (Message.source), and through it at the rule.
    """

    class Cause(models.TextChoices):
        CREATED = "created", _("Rule created")
        ENABLED = "enabled", _("Switched on")
        EDITED = "edited", _("Content edited")

    rule = models.ForeignKey(CareRule, on_delete=models.CASCADE, related_name="activations")
    number = models.PositiveIntegerField(_("activation"))
    cause = models.CharField(_("why"), max_length=8, choices=Cause.choices)
    started_at = models.DateTimeField(_("started"))
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    snapshot = models.JSONField(_("content"), default=dict)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["rule", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "number"], name="careactivation_rule_number_uniq"),
            models.CheckConstraint(condition=Q(number__gte=1), name="careactivation_number_gte_1"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id}#{self.number}"


class CareRun(models.Model):
    """What the ticks of one shop-local day did for one activation of a rule: how many customers matched (the
    last tick), how many messages were added and how many of those were suppressed at once, by reason.
    A daily trigger's day is `done` after its run, so later ticks that day skip it."""

    rule = models.ForeignKey(CareRule, on_delete=models.CASCADE, related_name="runs")
    activation = models.ForeignKey(CareActivation, on_delete=models.CASCADE, related_name="runs")
    day = models.DateField(_("day"))
    ticks = models.PositiveIntegerField(_("ticks"), default=0)
    matched = models.PositiveIntegerField(_("matched"), default=0)
    enqueued = models.PositiveIntegerField(_("enqueued"), default=0)
    suppressed = models.JSONField(_("suppressed"), default=dict)
    done = models.BooleanField(default=False)
    first_at = models.DateTimeField(_("first tick"))
    last_at = models.DateTimeField(_("last tick"))

    class Meta:
        ordering = ["-day", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["activation", "day"], name="carerun_activation_day_uniq"),
        ]
        indexes = [models.Index(fields=["rule", "-day"], name="carerun_rule_day_idx")]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.day}: {self.enqueued}"


class CarrierTransit(TimeStampedModel):
    """A shop's own figure for how many days a carrier usually takes (the built-in table is in
    care/triggers/receipt.py). `carrier` is a keyword looked for in the order's carrier name; the empty keyword
    is the shop's default for carriers nobody recognises. No shop = every shop without its own row."""

    shop = models.ForeignKey(Shop, null=True, blank=True, on_delete=models.CASCADE, related_name="carrier_transits")
    carrier = models.CharField(_("carrier keyword"), max_length=32, blank=True)
    days = models.PositiveSmallIntegerField(_("usual days in transit"))

    class Meta:
        ordering = ["shop__name", "carrier"]
        constraints = [
            models.UniqueConstraint(Coalesce("shop", Value(0)), "carrier", name="carriertransit_shop_carrier_uniq"),
            models.CheckConstraint(condition=Q(days__gte=1) & Q(days__lte=60), name="carriertransit_days_1_60"),
        ]

    def __str__(self) -> str:
        return f"{self.shop or '*'} {self.carrier or '*'}: {self.days}"


class ProductCycle(models.Model):
    """A product's learned repurchase cycle as replenishment reads it: the median days between one customer's
    purchases of it and how many such intervals it rests on. Rewritten as a whole by the nightly refresh
    (`product_cycles_refresh`, from analytics' repurchase cycles), so a tick reads it instead of scanning two
    years of order lines."""

    product = models.OneToOneField(
        "orders.Product", on_delete=models.CASCADE, primary_key=True, related_name="care_cycle"
    )
    median_days = models.FloatField(_("median days between purchases"))
    intervals = models.PositiveIntegerField(_("repeat purchases"))
    computed_at = models.DateTimeField(_("computed"))

    def __str__(self) -> str:
        return f"{self.product_id}: {self.median_days:.1f} d ({self.intervals})"
