"""Shops, products, orders and order lines: the history every customer's archive is built from."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from huitouke.core.models import TimeStampedModel
from huitouke.core.pii_fields import EncryptedTextField
from huitouke.customers.models import Customer, Platform


class Shop(TimeStampedModel):
    """One storefront on one platform. A business may run several; times are shown in the shop's time zone."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    platform = models.CharField(_("platform"), max_length=16, choices=Platform.choices)
    timezone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    is_demo = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Product(TimeStampedModel):
    """A product the shop sells, keyed by the platform's item id or the seller's own code (商家编码)."""

    # No single-column index on shop: the unique (shop, external id) index leads with it. A second index on shop
    # alone also misleads the planner, before the table has statistics, into reading every product of the shop for
    # each key a write looks up (`core.bulk.keyed_ids`).
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="products", db_index=False)
    external_id = models.CharField(_("item id / code"), max_length=64)
    title = models.CharField(_("title"), max_length=255)
    category = models.CharField(_("category"), max_length=64, blank=True, db_index=True)
    price = models.DecimalField(_("price"), max_digits=12, decimal_places=2, default=0)

    class Meta:
        ordering = ["title"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "external_id"], name="product_shop_external_uniq"),
            models.CheckConstraint(condition=Q(price__gte=0), name="product_price_gte_0"),
        ]

    def __str__(self) -> str:
        return self.title


class Order(TimeStampedModel):
    """A platform order, unique by (shop, order number). Amounts are in the shop's currency; times in UTC."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting payment")
        PAID = "paid", _("Paid")
        SHIPPED = "shipped", _("Shipped")
        DELIVERED = "delivered", _("Delivered")
        COMPLETED = "completed", _("Completed")
        CLOSED = "closed", _("Closed")
        REFUNDED = "refunded", _("Refunded")

    #: Orders that count as a purchase in the customer's stats (paid and not closed or fully refunded).
    COUNTED = (Status.PAID, Status.SHIPPED, Status.DELIVERED, Status.COMPLETED)

    # No single-column indexes on shop and customer: the composite indexes below lead with them, and each extra
    # index is maintained on every imported row.
    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="orders", db_index=False)
    order_no = models.CharField(_("order number"), max_length=64)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders", db_index=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    goods_amount = models.DecimalField(_("goods"), max_digits=12, decimal_places=2, default=0)
    shipping_fee = models.DecimalField(_("shipping"), max_digits=10, decimal_places=2, default=0)
    total_amount = models.DecimalField(_("total"), max_digits=12, decimal_places=2, default=0)
    paid_amount = models.DecimalField(_("paid"), max_digits=12, decimal_places=2, default=0)
    refund_amount = models.DecimalField(_("refunded"), max_digits=12, decimal_places=2, default=0)
    ordered_at = models.DateTimeField(_("ordered"))
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    logistics_company = models.CharField(_("carrier"), max_length=64, blank=True)
    tracking_no = models.CharField(_("tracking number"), max_length=64, blank=True)
    gift = models.CharField(_("gift"), max_length=255, blank=True)
    buyer_remark = models.CharField(_("buyer's message"), max_length=1000, blank=True)
    seller_memo = models.CharField(_("seller memo"), max_length=1000, blank=True)
    # the delivery details are personal data, encrypted at rest (core.pii_crypto); `fixed`: equal values give equal
    # tokens, so that the import's SQL can tell an unchanged order
    receiver_name = EncryptedTextField(_("receiver"), max_length=64, blank=True, fixed=True)
    receiver_phone = EncryptedTextField(_("receiver phone"), max_length=32, blank=True, fixed=True)
    receiver_address = EncryptedTextField(_("delivery address"), max_length=255, blank=True, fixed=True)
    # A digest of the order as an import last wrote it (its fields but the customer, and its lines with their
    # product keys: `feed.order_fingerprint`). A re-import whose parsed order has the same digest and customer
    # skips it without reading its lines. Empty when unknown (orders written before it existed, by the demo, or
    # whose archived lines an order summary kept): such an order is compared field by field, and the import
    # stores the digest then. Any other code that changes an order's imported fields or its lines must empty it.
    fingerprint = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-ordered_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "order_no"], name="order_shop_order_no_uniq"),
            models.CheckConstraint(
                condition=Q(goods_amount__gte=0)
                & Q(shipping_fee__gte=0)
                & Q(total_amount__gte=0)
                & Q(paid_amount__gte=0)
                & Q(refund_amount__gte=0),
                name="order_amounts_gte_0",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-ordered_at"], name="order_customer_idx"),
            models.Index(fields=["shop", "-ordered_at"], name="order_shop_time_idx"),
            # each customer's counted orders in time order (first order since a date, bought again within a
            # window: the recovery report), read without a sort; the statuses are COUNTED
            models.Index(
                fields=["customer", "ordered_at", "id"],
                name="order_counted_customer_idx",
                condition=Q(status__in=["paid", "shipped", "delivered", "completed"]),
            ),
        ]

    def __str__(self) -> str:
        return self.order_no

    @property
    def counts_as_purchase(self) -> bool:
        return self.status in self.COUNTED


class OrderLine(models.Model):
    """One product line of an order (宝贝/子订单)."""

    class RefundState(models.TextChoices):
        NONE = "", _("No refund")
        REQUESTED = "requested", _("Refund requested")
        REFUNDED = "refunded", _("Refunded")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", db_index=False)  # unique below
    line_no = models.PositiveSmallIntegerField(default=1)
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="lines", db_index=False
    )  # indexed by orderline_product_idx
    title = models.CharField(_("title"), max_length=255)
    sku = models.CharField(_("SKU"), max_length=128, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    unit_price = models.DecimalField(_("unit price"), max_digits=12, decimal_places=2, default=0)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2, default=0)
    refund_state = models.CharField(_("refund"), max_length=10, choices=RefundState.choices, blank=True, default="")

    class Meta:
        ordering = ["order", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_no"], name="orderline_order_line_uniq"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="orderline_quantity_gte_1"),
            models.CheckConstraint(condition=Q(unit_price__gte=0) & Q(amount__gte=0), name="orderline_amounts_gte_0"),
        ]
        indexes = [models.Index(fields=["product"], name="orderline_product_idx")]

    def __str__(self) -> str:
        return f"{self.order_id}#{self.line_no} {self.title}"


class ImportMapping(TimeStampedModel):
    """A saved column mapping for generic CSV/XLSX files ({our field: their header}), reused on later uploads."""

    name = models.CharField(_("name"), max_length=64, unique=True)
    mapping = models.JSONField(_("mapping"), default=dict)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
