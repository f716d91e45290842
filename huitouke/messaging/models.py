"""Messages (the outbox and the permanent send record), templates, channel settings and the contact policy.

Every message anywhere in the product is one `Message` row, written by `message_enqueue(_many)` and drained by
the dispatcher; rows are never deleted (所有发送记录都有保存). A row says what was meant to be sent to whom, through
which channel and why, what happened to it, and why it was held or not sent.
"""

from __future__ import annotations

from datetime import time

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from huitouke.core.models import TimeStampedModel
from huitouke.customers.models import Customer
from huitouke.orders.models import Shop


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")
    WEBHOOK = "webhook", _("Webhook")
    MANUAL = "manual", _("Manual task")


class Purpose(models.TextChoices):
    """Why a message is sent; decides consent, quiet hours, the contact budget and the default priority."""

    SERVICE = "service", _("Service")
    TRANSACTIONAL = "transactional", _("Transactional")
    CARE = "care", _("Care")
    MARKETING = "marketing", _("Marketing")


#: Lower is more urgent: service > transactional > care > marketing.
PURPOSE_PRIORITY = {Purpose.SERVICE: 0, Purpose.TRANSACTIONAL: 1, Purpose.CARE: 2, Purpose.MARKETING: 3}


class SourceKind(models.TextChoices):
    """What caused a message. The exact record (a care activation, a campaign …) is the generic `source`."""

    CARE = "care", _("Care activation")
    CAMPAIGN = "campaign", _("Campaign")
    VISIT = "visit", _("Return visit")
    TICKET = "ticket", _("After-sales ticket")
    MANUAL = "manual", _("Manual")
    ALERT = "alert", _("Staff alert")


class Message(models.Model):
    """One intended send to one customer (or, for staff alerts, to one webhook) through one channel.

    Status moves queued → sending → sent (→ delivered), or to held (waits: quiet hours, contact budget, retry)
    and back, or ends as suppressed (not sent, with the reason), expired (its deadline passed while it waited)
    or failed (the channel refused it or every attempt failed). `reason` says why for every hold, suppression,
    expiry and failure. `next_attempt_at` is when the dispatcher may next look at it; `lease_until` how long a
    worker's claim lasts (a killed worker's rows come back when it ends). `idempotency_key` is UNIQUE: enqueueing
    the same key twice adds nothing, and channels that support one pass it to the provider.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        HELD = "held", _("Held")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")
        SUPPRESSED = "suppressed", _("Suppressed")
        EXPIRED = "expired", _("Expired")

    class Reason(models.TextChoices):
        NONE = "", _("—")
        OPTED_OUT = "opted_out", _("Customer opted out")
        NO_OPT_IN = "no_opt_in", _("Did not agree to marketing (the shop's consent model is opt-in)")
        ERASED = "erased", _("Customer's data was erased")
        NO_ADDRESS = "no_address", _("No usable phone, email or address")
        MISSING_VARIABLE = "missing_variable", _("A template variable had no value")
        QUIET_HOURS = "quiet_hours", _("Quiet hours")
        CONTACT_BUDGET = "contact_budget", _("Contact budget used up")
        OPEN_TICKET = "open_ticket", _("Open after-sales ticket")
        NEGATIVE_REVIEW = "negative_review", _("Recent negative review")
        DEADLINE_PASSED = "deadline_passed", _("Deadline passed")
        RETRYING = "retrying", _("Temporary error, will retry")
        SEND_ERROR = "send_error", _("Every attempt failed")
        REJECTED = "rejected", _("Refused by the provider")
        NO_CHANNEL = "no_channel", _("Channel not set up for this shop")
        MERGED = "merged", _("Customer merged into another")
        CANCELLED = "cancelled", _("Cancelled by staff")

    #: Statuses the dispatcher still has to act on.
    PENDING = (Status.QUEUED, Status.HELD)
    #: Statuses that used up a contact (they count against the budget).
    CONTACTED = (Status.SENDING, Status.SENT, Status.DELIVERED)
    #: Statuses "resend" may bring back.
    RESENDABLE = (Status.FAILED, Status.EXPIRED)

    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="messages", db_index=False
    )
    shop = models.ForeignKey(
        Shop, null=True, blank=True, on_delete=models.PROTECT, related_name="messages", db_index=False
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices)
    priority = models.PositiveSmallIntegerField(_("priority"), default=2)

    source_kind = models.CharField(_("source"), max_length=16, choices=SourceKind.choices, default=SourceKind.MANUAL)
    source_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    source_id = models.BigIntegerField(null=True, blank=True)
    source = GenericForeignKey("source_type", "source_id")

    template = models.ForeignKey(
        "Template", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages", db_index=False
    )
    language = models.CharField(_("language"), max_length=8, blank=True)
    params = models.JSONField(_("variables"), default=dict, blank=True)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    body = models.TextField(_("text"), blank=True)
    to_address = models.CharField(_("sent to"), max_length=500, blank=True)

    scheduled_at = models.DateTimeField(_("scheduled for"))
    deadline = models.DateTimeField(_("deadline"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices, blank=True, default="")
    detail = models.CharField(_("detail"), max_length=500, blank=True)

    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"))
    lease_until = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=64, blank=True)
    provider_message_id = models.CharField(_("provider id"), max_length=128, blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=200)
    resends = models.PositiveSmallIntegerField(default=0)

    contacted_at = models.DateTimeField(_("contacted"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("send_manual", "Can work the manual message tasks"),
            ("resend_message", "Can resend failed or expired messages"),
        ]
        constraints = [
            # a constraint rather than unique=True: no second (LIKE-pattern) index on PostgreSQL to maintain
            models.UniqueConstraint(fields=["idempotency_key"], name="message_idempotency_key_uniq"),
            models.CheckConstraint(
                condition=Q(customer__isnull=False) | Q(channel="webhook"), name="message_customer_or_webhook"
            ),
            models.CheckConstraint(
                condition=Q(source_type__isnull=True, source_id__isnull=True)
                | Q(source_type__isnull=False, source_id__isnull=False),
                name="message_source_complete",
            ),
        ]
        # Every status change rewrites a row and adds an entry to each index whose condition the new row meets
        # (no HOT update: status is in index conditions), twice per message. So: few indexes, and partial ones
        # where a filter only ever looks for a few rows.
        indexes = [
            # what the dispatcher claims: due work in priority order
            models.Index(
                fields=["priority", "next_attempt_at", "id"],
                name="message_due_idx",
                condition=Q(status__in=["queued", "held"]),
            ),
            # claims that a killed worker left behind
            models.Index(fields=["lease_until"], name="message_lease_idx", condition=Q(status="sending")),
            # the contact budget and the 360 timeline
            models.Index(fields=["customer", "-contacted_at"], name="message_customer_idx"),
            # one source's messages newest first (a care activation's or a campaign's send records, the list
            # filtered to a source, keyset pages) and, by its prefix, all of them (resend)
            models.Index(
                fields=["source_type", "source_id", "-created_at", "-id"],
                name="message_source_created_idx",
                condition=Q(source_id__isnull=False),
            ),
            # the send records list, newest first, and its keyset pages (core.keyset: created_at, then id)
            models.Index(fields=["-created_at", "-id"], name="message_created_id_idx"),
            # the ones that need looking at: held, failed, suppressed, expired (sent and waiting rows stay out)
            models.Index(
                fields=["status", "reason"],
                name="message_problem_idx",
                condition=Q(status__in=["held", "failed", "suppressed", "expired"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel}/{self.purpose} #{self.pk} {self.status}"

    @property
    def is_pending(self) -> bool:
        return self.status in self.PENDING

    @property
    def is_manual_task(self) -> bool:
        """A manual message handed to the agents' queue, waiting for someone to send it and mark it sent."""
        return self.channel == Channel.MANUAL and self.status == self.Status.SENDING and self.lease_until is None


class MessageTally(models.Model):
    """How many messages of one source (a care activation, a campaign …) have one purpose, status and reason: the
    counts pages show, kept rather than recounted (issue 22: ten million messages).

    Kept by database triggers on `messaging_message` (migration 0008), so every path that writes messages —
    the ORM, set-based UPDATEs, INSERT … SELECT, COPY, raw SQL — keeps it without knowing about it. A row is a
    delta or a folded total: the count of a key is the SUM of its rows. On PostgreSQL a statement-level
    trigger appends one delta row per key a statement changed (append-only: concurrent dispatch workers never
    wait on, or deadlock over, a shared counter row) and `tallies_fold` (every minute) folds the deltas into
    the one folded row per key; on SQLite (one writer at a time) the row triggers add to the folded row at once.
    Messages without a source are not counted. `messaging.tallies` reads, folds, checks and rebuilds.

    SQLite rebuilds a table to alter it, dropping its triggers: a migration that alters messaging_message must
    install them again (test_tallies.py fails until it does). Django's `flush` on SQLite deletes the tables in no
    fixed order and may leave negative rows of sources that are gone; `tallies_rebuild` clears them.
    """

    source_type = models.ForeignKey(
        ContentType, on_delete=models.DO_NOTHING, related_name="+", db_index=False, db_constraint=False
    )
    source_id = models.BigIntegerField()
    purpose = models.CharField(max_length=16)
    status = models.CharField(max_length=10)
    reason = models.CharField(max_length=20, blank=True)
    n = models.BigIntegerField()
    folded = models.BooleanField(default=True)

    class Meta:
        constraints = [
            # the one folded total per key (the target of the fold's and SQLite's triggers' upsert)
            models.UniqueConstraint(
                fields=["source_type", "source_id", "purpose", "status", "reason"],
                condition=Q(folded=True),
                name="messagetally_folded_uniq",
            ),
        ]
        indexes = [
            # the deltas still to fold
            models.Index(fields=["id"], name="messagetally_unfolded_idx", condition=Q(folded=False)),
            # one source's rows, folded or not (what a page reads)
            models.Index(fields=["source_type", "source_id"], name="messagetally_source_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.source_type_id}:{self.source_id} {self.purpose}/{self.status}/{self.reason} {self.n:+d}"


class Template(TimeStampedModel):
    """A message text with {variables} for one channel, purpose and language.

    System templates come from the library (`messaging/library.py`, keyed by `key`) and are not edited in place:
    copy one to change it. `provider_code` is the template id an SMS gateway approved (Aliyun TemplateCode,
    Tencent TemplateId); gateways send that template with the variables, not free text.
    """

    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices)
    language = models.CharField(_("language"), max_length=8, default="zh-hans")
    name = models.CharField(_("name"), max_length=100)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    body = models.TextField(_("text"))
    provider_code = models.CharField(_("SMS template code"), max_length=64, blank=True)
    key = models.CharField(_("library key"), max_length=64, blank=True)
    system = models.BooleanField(_("system template"), default=False)

    class Meta:
        ordering = ["purpose", "channel", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["key", "channel", "language"], condition=~Q(key=""), name="template_library_key_uniq"
            ),
            models.CheckConstraint(condition=~Q(body=""), name="template_body_not_empty"),
        ]

    def __str__(self) -> str:
        return self.name


class ChannelConfig(TimeStampedModel):
    """How one shop (or, with no shop, every shop without its own) reaches people on one channel.

    `options` holds what may be shown (endpoint, sign name, sender address …); `secrets_encrypted` the keys and
    passwords, encrypted with Fernet (`messaging/secrets.py`) and never shown back. A secret written as
    `env:NAME` is read from the environment variable NAME (see settings.HUITOUKE_CHANNEL_SECRETS).
    """

    class Provider(models.TextChoices):
        SMTP = "smtp", _("Email (SMTP)")
        ALIYUN = "aliyun", _("Aliyun SMS")
        TENCENT = "tencent", _("Tencent Cloud SMS")
        WEBHOOK = "webhook", _("Webhook (JSON)")
        WECOM = "wecom", _("WeCom group robot")
        DINGTALK = "dingtalk", _("DingTalk group robot")
        FEISHU = "feishu", _("Feishu group robot")
        MANUAL = "manual", _("Manual tasks for agents")

    shop = models.ForeignKey(Shop, null=True, blank=True, on_delete=models.CASCADE, related_name="channel_configs")
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    provider = models.CharField(_("provider"), max_length=10, choices=Provider.choices)
    enabled = models.BooleanField(_("enabled"), default=True)
    options = models.JSONField(_("settings"), default=dict, blank=True)
    secrets_encrypted = models.TextField(blank=True)
    rate_per_second = models.FloatField(_("messages per second"), null=True, blank=True)
    inbound_token = models.CharField(_("inbound token"), max_length=64, blank=True)
    #: The key of the HMAC-SHA256 signature a reply push carries (messaging/inbound.py); SMS settings only.
    inbound_secret = models.CharField(_("inbound signing secret"), max_length=64, blank=True)

    class Meta:
        ordering = ["shop__name", "channel"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "channel"], name="channelconfig_shop_channel_uniq"),
            models.UniqueConstraint(
                fields=["channel"], condition=Q(shop__isnull=True), name="channelconfig_default_uniq"
            ),
            models.CheckConstraint(
                condition=Q(rate_per_second__isnull=True) | Q(rate_per_second__gt=0), name="channelconfig_rate_gt_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.shop or '*'} {self.channel}:{self.provider}"


class ContactPolicy(TimeStampedModel):
    """When and how often a shop (or, with no shop, every shop without its own) may contact a customer.

    Quiet hours (shop time) hold care and marketing until they end; start == end turns them off. The budget
    caps care and marketing messages per customer across channels over `budget_days`; over-budget messages
    wait (by priority) until the budget frees or their deadline passes. `marketing_consent` is the shop's
    consent model for marketing: opt-in (only customers who agreed; the default) or opt-out.
    """

    shop = models.OneToOneField(Shop, null=True, blank=True, on_delete=models.CASCADE, related_name="contact_policy")
    quiet_start = models.TimeField(_("quiet hours start"), default=time(21, 0))
    quiet_end = models.TimeField(_("quiet hours end"), default=time(9, 0))
    budget_days = models.PositiveSmallIntegerField(_("budget period (days)"), default=7)
    budget_marketing = models.PositiveSmallIntegerField(_("marketing messages per period"), default=1)
    budget_care = models.PositiveSmallIntegerField(_("care messages per period"), default=2)

    class MarketingConsent(models.TextChoices):
        OPT_IN = "opt_in", _("Opt-in: only customers who agreed")
        OPT_OUT = "opt_out", _("Opt-out: everyone who has not said no")

    marketing_consent = models.CharField(
        _("marketing consent model"),
        max_length=8,
        choices=MarketingConsent.choices,
        default=MarketingConsent.OPT_IN,
        help_text=_(
            "Opt-in (the default): marketing (campaigns, win-back and new-product care rules, bulk sends) reaches only "
            "customers who agreed to it, for example by joining the new products and promotions group. Choose "
            "opt-out only where the law of the shop's market allows marketing to everyone who has not said no. "
            "Every change is written to the audit log."
        ),
    )
    negative_review_days = models.PositiveSmallIntegerField(
        _("no marketing after a negative review (days)"), default=30
    )

    class Meta:
        constraints = [
            # one default row (no shop): NULLs are distinct in a plain unique constraint
            models.UniqueConstraint(Coalesce("shop", Value(0)), name="contactpolicy_one_per_shop"),
            models.CheckConstraint(condition=Q(budget_days__gte=1), name="contactpolicy_budget_days_gte_1"),
        ]

    def __str__(self) -> str:
        return f"policy {self.shop or '*'}"


class InboundNonce(models.Model):
    """A reply push (or one reply of a gateway's batch) already taken in, per channel setting: a signed request's
    nonce, or the gateway's own id of the reply (Aliyun's sequence_id, a digest of Tencent's mobile/time/text).
    UNIQUE, so a replay is refused however many workers receive it at once. Rows older than two days go."""

    config = models.ForeignKey(ChannelConfig, on_delete=models.CASCADE, related_name="+", db_index=False)
    nonce = models.CharField(max_length=80)
    received_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["config", "nonce"], name="inboundnonce_config_nonce_uniq")]

    def __str__(self) -> str:
        return f"{self.config_id}:{self.nonce}"


class RateBucket(models.Model):
    """A token bucket shared by every worker process: one row per rate-limited channel setting."""

    key = models.CharField(max_length=64, unique=True)
    tokens = models.FloatField(default=0)
    updated = models.FloatField(default=0)  # epoch seconds of the last refill

    def __str__(self) -> str:
        return f"{self.key}: {self.tokens:.1f}"
