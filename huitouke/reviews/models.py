"""Reviews (评价) of orders, the events in their life, the shop's credit settings and the negative-review cases.

A review is unique per (shop, order number, sub-order number, role): `oid` is "" when the review is of the whole
order. Its stored credit ledger (whether it scores, why not, its points) is a `ReviewCredit` row written by
`crediting.credit_recompute` and `crediting.credit_refresh` from the pure rules in `reviews.credit`; it is never
edited by hand, and `Review.scores`, `.not_scored_reason` and `.points` read it (None, "", 0 before the first
computation).
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from huitouke.customers.models import Customer
from huitouke.orders.models import Order, OrderLine, Shop


class Role(models.TextChoices):
    BUYER = "buyer", _("Buyer rates the shop")
    SELLER = "seller", _("Shop rates the buyer")


class Result(models.TextChoices):
    GOOD = "good", _("Good")
    NEUTRAL = "neutral", _("Neutral")
    BAD = "bad", _("Bad")


_DSR = [MinValueValidator(1), MaxValueValidator(5)]
#: the longest alert e-mail list and robot URL a shop's credit settings keep
ALERT_FIELD_MAX = 500


class Review(models.Model):
    """One rating of one order (or one line of it) by the buyer or by the shop."""

    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="reviews", db_index=False)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="reviews", db_index=False)
    order_line = models.ForeignKey(
        OrderLine, null=True, blank=True, on_delete=models.SET_NULL, related_name="reviews", db_index=False
    )
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="reviews", db_index=False)
    role = models.CharField(_("role"), max_length=6, choices=Role.choices, default=Role.BUYER)
    result = models.CharField(_("rating"), max_length=7, choices=Result.choices)
    content = models.TextField(_("text"), blank=True)
    pictures = models.PositiveSmallIntegerField(_("pictures"), default=0)
    created_at = models.DateTimeField(_("rated at"))
    anonymous = models.BooleanField(_("anonymous"), default=False)
    is_default = models.BooleanField(_("default good rating"), default=False)
    follow_up = models.TextField(_("follow-up review"), blank=True)
    follow_up_at = models.DateTimeField(_("follow-up at"), null=True, blank=True)
    reply = models.TextField(_("shop's explanation"), blank=True)
    reply_at = models.DateTimeField(_("explained at"), null=True, blank=True)
    dsr_description = models.PositiveSmallIntegerField(_("as described"), null=True, blank=True, validators=_DSR)
    dsr_service = models.PositiveSmallIntegerField(_("service"), null=True, blank=True, validators=_DSR)
    dsr_logistics = models.PositiveSmallIntegerField(_("delivery"), null=True, blank=True, validators=_DSR)
    tid = models.CharField(_("order number"), max_length=64)
    oid = models.CharField(_("sub-order number"), max_length=64, blank=True, default="")
    num_iid = models.CharField(_("item id"), max_length=64, blank=True)
    item_title = models.CharField(_("item"), max_length=255, blank=True)
    nick = models.CharField(_("buyer nick"), max_length=128, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "tid", "oid", "role"], name="review_shop_line_role_uniq"),
            models.CheckConstraint(
                condition=Q(dsr_description__isnull=True) | Q(dsr_description__gte=1, dsr_description__lte=5),
                name="review_dsr_description_1_5",
            ),
            models.CheckConstraint(
                condition=Q(dsr_service__isnull=True) | Q(dsr_service__gte=1, dsr_service__lte=5),
                name="review_dsr_service_1_5",
            ),
            models.CheckConstraint(
                condition=Q(dsr_logistics__isnull=True) | Q(dsr_logistics__gte=1, dsr_logistics__lte=5),
                name="review_dsr_logistics_1_5",
            ),
        ]
        indexes = [
            # the review list (newest first, one shop or all) and its keyset pages (core.keyset)
            models.Index(fields=["shop", "-created_at", "-id"], name="review_shop_created_idx"),
            models.Index(fields=["-created_at", "-id"], name="review_created_idx"),
            models.Index(fields=["customer", "-created_at"], name="review_customer_idx"),
            models.Index(fields=["order"], name="review_order_idx"),
            # the list across shops filtered by rating, newest first (review_created_idx serves it unfiltered): its
            # first and deep pages read the index in order instead of sorting every review
            models.Index(fields=["result", "-created_at", "-id"], name="review_result_time_idx"),
            # the analytics page's trend of one product (item id or exact title): a bitmap OR of these two reads
            # that product's reviews only, not every review of the shop (630 ms at two million reviews)
            models.Index(fields=["shop", "num_iid"], name="review_shop_item_idx"),
            models.Index(fields=["shop", "item_title"], name="review_shop_title_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.tid}/{self.oid or '-'} {self.role} {self.result}"

    def _credit(self) -> ReviewCredit | None:
        try:
            return self.credit  # the reverse one-to-one of ReviewCredit
        except ReviewCredit.DoesNotExist:
            return None

    @property
    def scores(self) -> bool | None:
        """Whether the review counts in the shop's credit (None: never computed)."""
        credit = self._credit()
        return credit.scores if credit is not None else None

    @property
    def not_scored_reason(self) -> str:
        credit = self._credit()
        return credit.reason if credit is not None else ""

    @property
    def points(self) -> int:
        credit = self._credit()
        return credit.points if credit is not None else 0

    @property
    def is_negative(self) -> bool:
        """A neutral or bad rating, or a shop score of 2 or less in any dimension."""
        low = any(v is not None and v <= 2 for v in (self.dsr_description, self.dsr_service, self.dsr_logistics))
        return self.role == Role.BUYER and (self.result != Result.GOOD or low)


class ReviewCredit(models.Model):
    """The stored credit ledger of one review: whether it scores, why not, its points.

    A table of its own, narrow and with a single index, because a recomputation may rewrite the ledger of every
    review: inserting or updating these four columns costs a fraction of updating wide review rows with five
    indexes. No database foreign key either (the ORM still deletes it with its review): checking one per row
    would lock every review row at commit, which costs more than the write. A row whose review was removed by
    hand in SQL is never read (reads go from the review) and is harmless."""

    review = models.OneToOneField(
        Review, primary_key=True, on_delete=models.CASCADE, related_name="credit", db_constraint=False
    )
    scores = models.BooleanField(_("scores"))
    reason = models.CharField(_("why it does not score"), max_length=40, blank=True)
    points = models.SmallIntegerField(_("points"), default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(points__gte=-1, points__lte=1), name="reviewcredit_points_pm1")
        ]

    def __str__(self) -> str:
        return f"{self.review_id} {self.points:+d} {self.reason}"


class ReviewEvent(models.Model):
    """Something that happened to a review: rated, rating changed (中差评 → 好评 is an event, not a new review),
    follow-up, explanation, and the steps of a negative-review case."""

    class Kind(models.TextChoices):
        RATED = "rated", _("Rated")
        RESULT_CHANGED = "result_changed", _("Rating changed")
        FOLLOW_UP = "follow_up", _("Follow-up review")
        EXPLAINED = "explained", _("Shop explained")
        CONTACTED = "contacted", _("Customer contacted")
        CASE_OPENED = "case_opened", _("Negative review case opened")
        CASE_CLOSED = "case_closed", _("Negative review case closed")

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="events", db_index=False)
    kind = models.CharField(_("event"), max_length=16, choices=Kind.choices)
    old = models.CharField(_("from"), max_length=20, blank=True)
    new = models.CharField(_("to"), max_length=20, blank=True)
    at = models.DateTimeField(_("at"))
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        ordering = ["review", "at", "id"]
        indexes = [models.Index(fields=["review", "at"], name="reviewevent_review_at_idx")]

    def __str__(self) -> str:
        return f"{self.review_id} {self.kind} {self.old}→{self.new}"


class ReviewCase(models.Model):
    """The handling of one negative review (中差评处理): the ticket it opened, the outcome and how long it took."""

    class Outcome(models.TextChoices):
        OPEN = "open", _("Being handled")
        EXPLAINED = "explained", _("Explained")
        CONTACTED = "contacted", _("Customer contacted")
        CHANGED = "changed_to_good", _("Rating changed to good")
        UNCHANGED = "unchanged", _("Unchanged")

    review = models.OneToOneField(Review, on_delete=models.CASCADE, related_name="case")
    opened_at = models.DateTimeField(_("opened"))
    ticket_id = models.BigIntegerField(_("ticket"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, default=Outcome.OPEN)
    outcome_at = models.DateTimeField(_("outcome at"), null=True, blank=True)
    #: when the managers' e-mail / group-robot alert was claimed for this case (sent at most once)
    alerted_at = models.DateTimeField(_("managers alerted at"), null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]

    def __str__(self) -> str:
        return f"case {self.review_id} {self.outcome}"

    @property
    def took_seconds(self) -> int | None:
        if self.outcome_at is None:
            return None
        return int((self.outcome_at - self.opened_at).total_seconds())


class CreditSettings(models.Model):
    """The credit rule numbers of one shop: a preset (`course` or `taobao`) with editable numbers; and where its
    negative reviews are announced to the managers (e-mail, group robot)."""

    class Preset(models.TextChoices):
        COURSE = "course", _("Course (345-day period, default good after 45 days)")
        TAOBAO = "taobao", _("Taobao today (15-day period, default good after 15 days)")

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="credit_settings")
    preset = models.CharField(_("rules"), max_length=8, choices=Preset.choices, default=Preset.COURSE)
    rating_period_days = models.PositiveSmallIntegerField(_("rating period (days)"), default=345)
    default_good_after_days = models.PositiveSmallIntegerField(_("default good rating after (days)"), default=45)
    monthly_cap = models.PositiveSmallIntegerField(_("monthly cap per buyer (points)"), default=6)
    same_item_days = models.PositiveSmallIntegerField(_("same item counted once within (days)"), default=14)
    tmall = models.BooleanField(
        _("Tmall shop (天猫): its orders carry no credit points, only shop scores"), default=False
    )
    #: where a negative review is announced besides the in-app notification (staff only: contact data masked)
    alert_email = models.CharField(
        _("alert e-mail addresses"),
        max_length=ALERT_FIELD_MAX,
        blank=True,
        help_text=_("Separate several addresses with commas."),
    )
    alert_robot_url = models.URLField(
        _("alert group robot URL (WeCom / DingTalk)"),
        max_length=ALERT_FIELD_MAX,
        blank=True,
        help_text=_("The webhook address of a WeCom (企业微信) or DingTalk (钉钉) group robot, with its key."),
    )

    class Meta:
        verbose_name = _("credit settings")

    def __str__(self) -> str:
        return f"{self.shop_id} {self.preset}"
