"""The customer archive (客户档案): who the buyers are, how to reach them and what the shop knows about them."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from huitouke.core.models import TimeStampedModel
from huitouke.core.pii_fields import DigestField, EncryptedTextField

#: The encrypted columns of a customer and, for those that are searched, their digest columns.
ENCRYPTED_FIELDS = ("real_name", "phone", "email", "address")
DIGEST_FIELDS = {
    "phone": ("phone_digest", "phone_last4_digest"),
    "email": ("email_digest",),
    "real_name": ("real_name_digest",),
}


class Platform(models.TextChoices):
    TAOBAO = "taobao", _("Taobao / Tmall")
    JD = "jd", _("JD")
    PDD = "pdd", _("Pinduoduo")
    SHOPIFY = "shopify", _("Shopify")
    WOOCOMMERCE = "woocommerce", _("WooCommerce")
    OTHER = "other", _("Other")


class PhoneLast4(models.Func):
    """RIGHT(phone, 4): the expression of the last-4 index of migration 0004, from before phones were encrypted
    (the last four digits are now found through `Customer.phone_last4_digest`). Kept for that migration."""

    template = "RIGHT(%(expressions)s, 4)"
    arity = 1
    output_field = models.CharField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return self.as_sql(compiler, connection, template="SUBSTR(%(expressions)s, -4)", **extra_context)


class Customer(TimeStampedModel):
    """One person who bought from the business, reached through one or more platform identities.

    Stats (first/last order, order count, total spent) are denormalised from orders by
    `orders.services.customer_stats_refresh`; never edit them by hand. A merged customer keeps its row with
    `merged_into` set so that history stays traceable; it no longer appears in lists.
    """

    class Gender(models.TextChoices):
        UNKNOWN = "", _("Unknown")
        FEMALE = "f", _("Female")
        MALE = "m", _("Male")

    class Calendar(models.TextChoices):
        SOLAR = "solar", _("Solar (Gregorian)")
        LUNAR = "lunar", _("Lunar")

    class ChoiceStyle(models.TextChoices):
        UNKNOWN = "", _("Not known yet")
        ALONE = "alone", _("Prefers to choose alone")
        RECOMMEND = "recommend", _("Wants recommendations")

    class DecisionSpeed(models.TextChoices):
        UNKNOWN = "", _("Not known yet")
        QUICK = "quick", _("Decides quickly")
        SLOW = "slow", _("Takes time to decide")

    class PriceAttitude(models.TextChoices):
        UNKNOWN = "", _("Not known yet")
        EASY = "easy", _("Relaxed about price")
        STRICT = "strict", _("Careful about price")

    class Knowledge(models.TextChoices):
        UNKNOWN = "", _("Not known yet")
        NOVICE = "novice", _("Novice")
        PARTIAL = "partial", _("Knows a little")
        EXPERT = "expert", _("Expert")

    name = models.CharField(_("display name"), max_length=128)
    # Personal data, encrypted at rest (core.pii_crypto); searched through the digests below, never in SQL.
    real_name = EncryptedTextField(_("real name"), max_length=64, blank=True)
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, blank=True, default="")
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    birthday_calendar = models.CharField(
        _("birthday kept by"), max_length=5, choices=Calendar.choices, default=Calendar.SOLAR
    )
    phone = EncryptedTextField(_("phone"), max_length=32, blank=True)
    email = EncryptedTextField(_("email"), max_length=254, blank=True, email=True)
    province = models.CharField(_("province"), max_length=32, blank=True)
    city = models.CharField(_("city"), max_length=32, blank=True)
    district = models.CharField(_("district"), max_length=32, blank=True)
    address = EncryptedTextField(_("street address"), max_length=255, blank=True)
    #: keyed digests (core.pii_crypto) of the whole phone, its last four digits, the email and the real name
    phone_digest = DigestField(source="phone", kind="phone")
    phone_last4_digest = DigestField(source="phone", kind="last4")
    email_digest = DigestField(source="email", kind="email")
    real_name_digest = DigestField(source="real_name", kind="name")

    pref_choice = models.CharField(
        _("choosing style"), max_length=10, choices=ChoiceStyle.choices, blank=True, default=""
    )
    pref_decision = models.CharField(
        _("decision speed"), max_length=5, choices=DecisionSpeed.choices, blank=True, default=""
    )
    pref_price = models.CharField(
        _("price attitude"), max_length=6, choices=PriceAttitude.choices, blank=True, default=""
    )
    pref_knowledge = models.CharField(
        _("product knowledge"), max_length=7, choices=Knowledge.choices, blank=True, default=""
    )

    first_order_at = models.DateTimeField(_("first order"), null=True, blank=True)
    # The stats are indexed by the list's sort indexes below (active customers: every query of them filters
    # merged_into IS NULL), not on their own: every order written rewrites its buyer's stats, and the update
    # maintains each index of the table.
    last_order_at = models.DateTimeField(_("last order"), null=True, blank=True)
    order_count = models.PositiveIntegerField(_("orders"), default=0)
    total_spent = models.DecimalField(_("total spent"), max_digits=14, decimal_places=2, default=0)
    last_contacted_at = models.DateTimeField(_("last contacted"), null=True, blank=True)

    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_from"
    )
    #: Set when the customer's personal data was erased on request: nothing may be sent to them any more,
    #: not even service messages (messaging's policy reads it).
    erased_at = models.DateTimeField(_("erased"), null=True, blank=True)
    tags: models.ManyToManyField[Tag, CustomerTag] = models.ManyToManyField(
        "Tag", through="CustomerTag", related_name="customers", blank=True
    )

    class Meta:
        ordering = ["-last_order_at", "-id"]
        permissions = [
            ("merge_customers", "Can merge two customers"),
            ("pipl_customer", "Can export or erase a customer's personal data on request"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(total_spent__gte=0), name="customer_total_spent_gte_0"),
            models.CheckConstraint(condition=~Q(merged_into=models.F("id")), name="customer_not_merged_into_self"),
        ]
        # Search is exact-or-prefix (LIKE 'q%') over active customers. On PostgreSQL these are pattern-ops
        # indexes that carry the id, so each search branch is an index-only scan; `customer_cover_idx` lets the
        # page sort the matches by last order without visiting the table. SQLite builds plain indexes from them.
        indexes = [
            models.Index(fields=["-created_at"], name="customer_created_idx"),
            # equality and IN only (list filter, audiences): no pattern-ops twin as db_index would add
            models.Index(fields=["province"], name="customer_province_idx"),
            *[
                models.Index(
                    fields=[f],
                    name=f"customer_{f}_search_idx",
                    opclasses=["varchar_pattern_ops"],
                    include=["id"],
                    condition=Q(merged_into__isnull=True),
                )
                for f in ("name",)
            ],
            models.Index(fields=["id"], name="customer_cover_idx", include=["last_order_at", "merged_into"]),
            # Contact data is encrypted: it is found by equality of its keyed digests (whole phone, last four
            # digits, email, real name), each on its own index.
            *[
                models.Index(
                    fields=[f],
                    name=f"customer_{f.removesuffix('_digest')}_dg_idx",
                    include=["id"],
                    condition=Q(merged_into__isnull=True),
                )
                for f in ("phone_digest", "phone_last4_digest", "email_digest", "real_name_digest")
            ],
            # The list's sorts (selectors.SORTS) read these in order and stop after a page, instead of sorting a
            # million rows per view; a large first import builds them after the load (orders.indexes). The default
            # sort's index carries the amount and order count: a page filtered on them picks its ids from the
            # index alone (customer_page_rows), where checking each row in the table read 48,000 scattered rows
            # (0.3-0.8 s at a million customers for "spent from 500", whose recent buyers mostly spent less).
            *[
                models.Index(
                    fields=fields,
                    name=f"customer_sort_{key}_idx",
                    condition=Q(merged_into__isnull=True),
                    include=include,
                )
                for key, fields, include in (
                    ("last_order", ["-last_order_at", "-id"], ["total_spent", "order_count"]),
                    ("spent", ["-total_spent", "-id"], []),
                    ("orders", ["-order_count", "-id"], []),
                    ("name", ["name", "id"], []),
                )
            ],
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Saving an encrypted field saves its digests too (they are computed from it by `DigestField`)."""
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            extra = [d for f in update_fields if f in DIGEST_FIELDS for d in DIGEST_FIELDS[f]]
            kwargs["update_fields"] = [*update_fields, *(d for d in extra if d not in update_fields)]
        super().save(*args, **kwargs)

    @property
    def phone_is_masked(self) -> bool:
        """Platform exports often mask phones (138****5678); such a number is kept but never used to send."""
        return "*" in self.phone

    @property
    def region(self) -> str:
        return f"{self.province}{self.city}{self.district}"

    @property
    def full_address(self) -> str:
        return f"{self.region}{self.address}"


class CustomerIdentity(TimeStampedModel):
    """A buyer handle on one platform (淘宝会员名, JD pin, Shopify customer id/email). Unique per platform."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identities")
    platform = models.CharField(_("platform"), max_length=16, choices=Platform.choices)
    handle = models.CharField(_("buyer handle"), max_length=128)

    class Meta:
        ordering = ["platform", "handle"]
        constraints = [
            models.UniqueConstraint(fields=["platform", "handle"], name="identity_platform_handle_uniq"),
            models.CheckConstraint(condition=~Q(handle=""), name="identity_handle_not_empty"),
        ]
        indexes = [
            models.Index(
                fields=["handle"],
                name="identity_handle_search_idx",
                opclasses=["varchar_pattern_ops"],
                include=["customer"],
            )
        ]

    def __str__(self) -> str:
        return f"{self.platform}:{self.handle}"


class Tag(TimeStampedModel):
    """A label the shop puts on customers (interests, satisfaction, VIP handling …)."""

    name = models.CharField(_("name"), max_length=32, unique=True)
    color = models.CharField(_("colour"), max_length=7, default="#64748b")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CustomerTag(models.Model):
    """The link between a customer and a tag, with when it was added."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="customer_tags")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="customer_tags")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer", "tag"], name="customertag_uniq")]
        indexes = [models.Index(fields=["tag", "customer"], name="customertag_tag_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id}:{self.tag_id}"


class Note(TimeStampedModel):
    """A sticky note (记事贴) on a customer, with its author, and optionally a follow-up: a day (in business time)
    on which a member of staff (`follow_up_owner`) is to get back to the customer. The follow-up shows in that
    person's list and on the dashboard from that day on until it is marked done (`follow_up_done_at`)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    body = models.TextField(_("note"), max_length=4000)
    pinned = models.BooleanField(_("pinned"), default=False)
    follow_up_on = models.DateField(_("follow up on"), null=True, blank=True)
    follow_up_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="follow_up_notes",
        verbose_name=_("follow-up by"),
    )
    follow_up_done_at = models.DateTimeField(_("follow-up done"), null=True, blank=True)

    class Meta:
        ordering = ["-pinned", "-created_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="note_customer_idx"),
            # the open follow-ups of one person, by day (the "my follow-ups" list and the dashboard)
            models.Index(
                fields=["follow_up_owner", "follow_up_on"],
                name="note_follow_up_open_idx",
                condition=Q(follow_up_on__isnull=False, follow_up_done_at__isnull=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(body=""), name="note_body_not_empty"),
            models.CheckConstraint(
                condition=Q(follow_up_on__isnull=False)
                | Q(follow_up_owner__isnull=True, follow_up_done_at__isnull=True),
                name="note_follow_up_needs_day",
            ),
        ]

    def __str__(self) -> str:
        return self.body[:40]

    @property
    def follow_up_open(self) -> bool:
        return self.follow_up_on is not None and self.follow_up_done_at is None


class Consent(TimeStampedModel):
    """Whether a customer agreed to (or refused) messages on one channel for one purpose, and from where."""

    class Channel(models.TextChoices):
        SMS = "sms", _("SMS")
        EMAIL = "email", _("Email")
        IM = "im", _("Platform chat (旺旺/咚咚)")
        PHONE = "phone", _("Phone call")

    class Purpose(models.TextChoices):
        CARE = "care", _("Care messages")
        MARKETING = "marketing", _("Marketing")
        NEW_PRODUCTS = "new_products", _("New products and promotions")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consents")
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices)
    granted = models.BooleanField(_("granted"))
    source = models.CharField(_("source"), max_length=32, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "channel", "purpose"], name="consent_customer_channel_purpose")
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.channel}/{self.purpose}={'yes' if self.granted else 'no'}"
