"""Member levels (会员等级) per shop and each customer's current level in each shop."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from huitouke.core.models import TimeStampedModel
from huitouke.customers.models import Customer
from huitouke.orders.models import Shop


class Level(TimeStampedModel):
    """A member level of one shop. Reaching either threshold (paid amount OR completed orders) qualifies."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="levels")
    rank = models.PositiveSmallIntegerField(_("rank"))
    name = models.CharField(_("name"), max_length=32)
    min_amount = models.DecimalField(_("minimum paid amount"), max_digits=12, decimal_places=2, default=0)
    min_orders = models.PositiveIntegerField(_("minimum orders"), default=0)
    discount = models.PositiveSmallIntegerField(
        _("discount"), default=100, help_text=_("What the member pays, out of 100: 95 means 9.5折")
    )
    benefits = models.TextField(_("benefits"), blank=True)

    class Meta:
        ordering = ["shop", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "rank"], name="level_shop_rank_uniq"),
            models.UniqueConstraint(fields=["shop", "name"], name="level_shop_name_uniq"),
            models.CheckConstraint(condition=Q(discount__gte=1) & Q(discount__lte=100), name="level_discount_1_100"),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(TimeStampedModel):
    """The level a customer currently holds in a shop.

    `qualified_at` is the grace clock of a shop that drops members at a review: when the member last qualified
    for the level held (set when they join or move, refreshed by every grading of such a shop that finds them
    still qualifying). Empty = unknown, which counts as "grace passed"."""

    # Memberships are derived data: the grading (the only writer) derives them from the shop's orders, whose
    # customers the database already holds to their key (orders protect their customer), and a first grading
    # writes one row per member. So the table keeps only the indexes its reads need (the unique (customer, shop)
    # and (level, customer) indexes lead with customer and level; the shop is the level's shop) and the database
    # checks only the level key: a customer key check locks and rewrites every customer row a grading touches
    # (measured 6 s per million members). Django still cascades deletes of customers and shops.
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="memberships", db_index=False, db_constraint=False
    )
    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="memberships", db_index=False, db_constraint=False
    )
    level = models.ForeignKey(Level, on_delete=models.CASCADE, related_name="memberships", db_index=False)
    qualified_at = models.DateTimeField(
        _("last qualified"), null=True, blank=True, help_text=_("When the member last qualified for this level")
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer", "shop"], name="membership_customer_shop_uniq")]
        indexes = [models.Index(fields=["level", "customer"], name="membership_level_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id}@{self.shop_id}={self.level_id}"


class LevelPolicy(TimeStampedModel):
    """How a shop qualifies its members: over the lifetime (default) or a rolling window of N months, and whether
    members ever drop (never, the default, or at a periodic review once a grace period has passed)."""

    class Downgrade(models.TextChoices):
        NEVER = "never", _("Never")
        REVIEW = "review", _("At the periodic review")

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="level_policy")
    window_months = models.PositiveSmallIntegerField(
        _("window (months)"), null=True, blank=True, help_text=_("Count orders of the last N months; empty = lifetime")
    )
    downgrade = models.CharField(_("downgrade"), max_length=8, choices=Downgrade.choices, default=Downgrade.NEVER)
    grace_days = models.PositiveSmallIntegerField(
        _("grace days"), default=30, help_text=_("Days a member keeps a level after last qualifying for it")
    )
    last_review_at = models.DateTimeField(_("last review"), null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(window_months__isnull=True) | Q(window_months__gte=1), name="levelpolicy_window_gte_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.shop_id}: {self.downgrade}"


class LevelChange(models.Model):
    """One change of a customer's level in a shop (level history). No level = null (joined / dropped out).
    Names and ranks are kept as they were, so the history survives a redefinition of the levels.

    An append-only log written in bulk by the grading statements (a first grading writes one row per member):
    its references are not enforced by the database (db_constraint=False; Django still cascades and nulls them
    on delete) and carry no single-column indexes, so a million rows cost one insert each and no key checks.
    The ids come from rows joined in the same statement."""

    class Reason(models.TextChoices):
        REGRADE = "regrade", _("Regrade")
        REVIEW = "review", _("Periodic review")
        MERGE = "merge", _("Customers merged")
        MANUAL = "manual", _("Set by hand")
        LEVELS = "levels", _("Levels redefined")
        IMPORT = "import", _("Level kept from an import")

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="level_changes", db_constraint=False, db_index=False
    )
    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="level_changes", db_constraint=False, db_index=False
    )
    from_level = models.ForeignKey(
        Level, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_constraint=False, db_index=False
    )
    to_level = models.ForeignKey(
        Level, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_constraint=False, db_index=False
    )
    from_name = models.CharField(_("from"), max_length=32, blank=True)
    to_name = models.CharField(_("to"), max_length=32, blank=True)
    from_rank = models.PositiveSmallIntegerField(_("from rank"), null=True, blank=True)
    to_rank = models.PositiveSmallIntegerField(_("to rank"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=8, choices=Reason.choices)
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="levelchange_customer_idx"),
            models.Index(fields=["shop", "-created_at"], name="levelchange_shop_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}@{self.shop_id}: {self.from_name or '-'} -> {self.to_name or '-'}"

    @property
    def is_upgrade(self) -> bool:
        """True for a move up (joining a first level included); the care app can trigger on these."""
        return (self.to_rank or 0) > (self.from_rank or 0)
