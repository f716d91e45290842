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
    """The level a customer currently holds in a shop."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="memberships")
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="memberships")
    level = models.ForeignKey(Level, on_delete=models.CASCADE, related_name="memberships")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer", "shop"], name="membership_customer_shop_uniq")]
        indexes = [models.Index(fields=["level", "customer"], name="membership_level_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id}@{self.shop_id}={self.level_id}"
