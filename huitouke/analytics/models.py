"""What the nightly analytics refresh keeps: each customer's current scores, weekly RFM snapshots (for the
movements between segments) and one row per refresh with the fitted models and the shop-wide figures."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from huitouke.customers.models import Customer


class Segment(models.TextChoices):
    """The eleven RFM segments (analytics.rfm.SEGMENTS, same keys and order)."""

    CHAMPIONS = "champions", _("Champions")
    LOYAL = "loyal", _("Loyal")
    POTENTIAL_LOYALIST = "potential_loyalist", _("Potential loyalist")
    NEW = "new", _("New")
    PROMISING = "promising", _("Promising")
    NEED_ATTENTION = "need_attention", _("Need attention")
    ABOUT_TO_SLEEP = "about_to_sleep", _("About to sleep")
    AT_RISK = "at_risk", _("At risk")
    CANT_LOSE = "cant_lose", _("Can't lose them")
    HIBERNATING = "hibernating", _("Hibernating")
    LOST = "lost", _("Lost")


class CustomerScore(models.Model):
    """A buyer's scores as of the last refresh: RFM (from counted orders, as in the customer's stats), the RFM
    segment and, when the CLV models could be fitted, P(alive), expected purchases in the next 90 days, the
    12-month CLV and the day by which a next purchase is even odds. Rewritten as a whole by every refresh;
    customers without a counted order have no row."""

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, primary_key=True, related_name="score")
    recency_days = models.PositiveIntegerField(_("days since last order"))
    frequency = models.PositiveIntegerField(_("orders"))
    monetary = models.DecimalField(_("spent"), max_digits=14, decimal_places=2)
    r_score = models.PositiveSmallIntegerField("R")
    f_score = models.PositiveSmallIntegerField("F")
    m_score = models.PositiveSmallIntegerField("M")
    segment = models.CharField(_("RFM segment"), max_length=20, choices=Segment.choices)
    p_alive = models.FloatField(_("probability still active"), null=True, blank=True)
    expected_purchases = models.FloatField(_("expected orders in 90 days"), null=True, blank=True)
    clv = models.DecimalField(_("12-month value"), max_digits=14, decimal_places=2, null=True, blank=True)
    next_purchase_on = models.DateField(_("next order likely by"), null=True, blank=True)
    computed_at = models.DateTimeField(_("computed"))

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(r_score__range=(1, 5)) & Q(f_score__range=(1, 5)) & Q(m_score__range=(1, 5)),
                name="score_rfm_range",
            ),
        ]
        indexes = [models.Index(fields=["segment"], name="score_segment_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.segment} R{self.r_score}F{self.f_score}M{self.m_score}"


class RfmSnapshot(models.Model):
    """A customer's RFM segment in one week (`week` = its Monday, in the business time zone). Each refresh
    rewrites the current week's rows, so a week keeps its last state; the movements compare two weeks."""

    week = models.DateField(_("week"))
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="rfm_snapshots")
    segment = models.CharField(_("RFM segment"), max_length=20, choices=Segment.choices)
    r_score = models.PositiveSmallIntegerField("R")
    f_score = models.PositiveSmallIntegerField("F")
    m_score = models.PositiveSmallIntegerField("M")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["week", "customer"], name="rfmsnapshot_week_customer_uniq")]
        indexes = [models.Index(fields=["week", "segment"], name="rfmsnapshot_week_segment_idx")]

    def __str__(self) -> str:
        return f"{self.week} {self.customer_id} {self.segment}"


class ScoreRun(models.Model):
    """One analytics refresh: when, how many customers were scored, the fitted models (or why they could not
    be fitted), the RFM distribution and the movements against the previous snapshot week."""

    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"))
    week = models.DateField(_("week"))
    previous_week = models.DateField(_("compared with week"), null=True, blank=True)
    customers = models.PositiveIntegerField(_("customers scored"))
    bgnbd = models.JSONField(null=True, blank=True)
    gamma_gamma = models.JSONField(null=True, blank=True)
    fit_error = models.CharField(_("why no prediction"), max_length=500, blank=True)
    distribution = models.JSONField(default=dict)
    movements = models.JSONField(default=list)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M} {self.customers}"


# --- rollups: daily and monthly aggregates kept current by analytics.rollups --------------------------------------
# Derived rows: no foreign-key constraints in the database (checking every rollup row's shop, product and
# customer at commit cost more than computing them); deleting a shop, product or customer still deletes its
# rollup rows (Django's on_delete), and the nightly rebuild recomputes them all.


class SalesDay(models.Model):
    """One shop's counted orders and their value (paid minus refunded) on one calendar day of the shop's time
    zone. Rewritten for the days an import or the live order feed touched (analytics.rollups)."""

    shop = models.ForeignKey(
        "orders.Shop", on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    day = models.DateField(_("day"))
    orders = models.PositiveIntegerField(_("orders"))
    revenue = models.DecimalField(_("revenue"), max_digits=16, decimal_places=2)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "day"], name="salesday_shop_day_uniq")]
        indexes = [models.Index(fields=["day"], name="salesday_day_idx")]

    def __str__(self) -> str:
        return f"{self.shop_id} {self.day} {self.orders}"


class ProductDay(models.Model):
    """One product's sold lines (not refunded, in counted orders) on one calendar day of its shop's time zone:
    units, line value, orders, and the latest order time of the day (for "last sold")."""

    shop = models.ForeignKey(
        "orders.Shop", on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    day = models.DateField(_("day"))
    product = models.ForeignKey(
        "orders.Product", on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    units = models.PositiveIntegerField(_("units"))
    revenue = models.DecimalField(_("revenue"), max_digits=16, decimal_places=2)
    orders = models.PositiveIntegerField(_("orders"))
    last_at = models.DateTimeField(_("last sold"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "day", "product"], name="productday_shop_day_product_uniq")
        ]
        indexes = [
            models.Index(fields=["day", "product"], name="productday_day_product_idx"),
            models.Index(fields=["product", "-day"], name="productday_product_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.product_id} {self.units}"


class CustomerMonth(models.Model):
    """A buyer's counted orders and their value in one shop in one month of that shop's time zone, with the
    buyer's cohort (the first month with a counted order, over every shop). Rewritten per touched customer."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    shop = models.ForeignKey(
        "orders.Shop", on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    month = models.DateField(_("month"))
    cohort = models.DateField(_("first month"))
    orders = models.PositiveIntegerField(_("orders"))
    revenue = models.DecimalField(_("revenue"), max_digits=16, decimal_places=2)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "shop", "month"], name="customermonth_customer_uniq")
        ]
        indexes = [models.Index(fields=["cohort", "month"], name="customermonth_cohort_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.month} {self.orders}"


class CohortMonth(models.Model):
    """Buyers of one first-purchase month (`cohort`) who bought in `month`, their counted orders and value.
    The cell (cohort, cohort) is the cohort's size; a month's buyers are the sum of its cells."""

    cohort = models.DateField(_("first month"))
    month = models.DateField(_("month"))
    buyers = models.PositiveIntegerField(_("buyers"))
    orders = models.PositiveIntegerField(_("orders"))
    revenue = models.DecimalField(_("revenue"), max_digits=16, decimal_places=2)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cohort", "month"], name="cohortmonth_cell_uniq")]
        indexes = [models.Index(fields=["month"], name="cohortmonth_month_idx")]

    def __str__(self) -> str:
        return f"{self.cohort} {self.month} {self.buyers}"


class CohortSize(models.Model):
    """A first-purchase month's buyers and how many of them have bought two or more times (all time): the
    dashboard's buyers and repeat buyers are the sums over cohorts, without reading every customer."""

    cohort = models.DateField(_("first month"), unique=True)
    buyers = models.PositiveIntegerField(_("buyers"))
    repeaters = models.PositiveIntegerField(_("repeat buyers"))

    def __str__(self) -> str:
        return f"{self.cohort} {self.buyers} {self.repeaters}"


class FigureSnapshot(models.Model):
    """A whole-archive figure that cannot be kept per day (the top 20 % of buyers against the rest, product
    quality with repurchase cycles), computed by the refresh after an import and the nightly job and read by
    every web process. `value` holds the selector's result as pickled dataclasses written by this code only."""

    key = models.CharField(max_length=64, unique=True)
    value = models.BinaryField()
    computed_at = models.DateTimeField(_("computed"))
    seconds = models.FloatField(default=0)

    def __str__(self) -> str:
        return f"{self.key} {self.computed_at:%Y-%m-%d %H:%M}"
