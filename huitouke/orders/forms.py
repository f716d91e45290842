"""Forms of the import pages: the upload and the column mapping of generic files."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from huitouke.orders.importers import GENERIC_FIELDS
from huitouke.orders.importers.generic import REQUIRED_FIELDS
from huitouke.orders.models import ImportMapping

FORMAT_CHOICES = [
    ("auto", _("Recognise automatically")),
    ("taobao", _("Taobao / Tmall order report (订单报表)")),
    ("jd", _("JD POP order export")),
    ("pdd", _("Pinduoduo order export")),
    ("shopify", _("Shopify orders export")),
    ("woocommerce", _("WooCommerce orders export")),
    ("generic", _("Any other table (map the columns)")),
]

#: Short labels of the generic fields, in the UI language.
FIELD_LABELS: dict[str, Any] = {
    "order_no": _("Order number"),
    "buyer_handle": _("Buyer account / customer ID"),
    "ordered_at": _("Order date"),
    "paid_amount": _("Amount paid"),
    "total_amount": _("Order total"),
    "status": _("Order status"),
    "buyer_name": _("Buyer name"),
    "phone": _("Phone"),
    "email": _("Email"),
    "address": _("Full address"),
    "province": _("Province"),
    "city": _("City"),
    "district": _("District"),
    "street": _("Street"),
    "postcode": _("Postcode"),
    "title": _("Product"),
    "sku": _("SKU / seller code"),
    "quantity": _("Quantity"),
    "unit_price": _("Unit price"),
    "line_amount": _("Line amount"),
    "shipping_fee": _("Shipping fee"),
    "refund_amount": _("Refunded amount"),
    "paid_at": _("Payment time"),
    "shipped_at": _("Shipping time"),
    "tracking_no": _("Tracking number"),
    "logistics_company": _("Carrier"),
    "remark": _("Buyer's remark"),
    "seller_memo": _("Seller's memo"),
    "gift": _("Gift"),
    "member_level": _("Member level"),
    "shop_name": _("Shop name"),
    "platform": _("Platform"),
}

MAX_UPLOAD_MB = 512


class UploadForm(forms.Form):
    orders_file = forms.FileField(label=_("Order export (CSV or XLSX)"))
    items_file = forms.FileField(
        label=_("Item report (宝贝报表), Taobao/Tmall only"),
        required=False,
        help_text=_("ExportOrderDetailList…csv: gives each order its product lines."),
    )
    fmt = forms.ChoiceField(label=_("Format"), choices=FORMAT_CHOICES, initial="auto")
    shop = forms.CharField(
        label=_("Shop"),
        required=False,
        max_length=100,
        help_text=_("Leave empty to use the shop named in the file (店铺名称)."),
    )
    saved_mapping = forms.ModelChoiceField(
        label=_("Saved column mapping"), queryset=ImportMapping.objects.all(), required=False
    )
    keep_levels = forms.BooleanField(
        label=_("Keep the member levels in the file"),
        required=False,
        help_text=_(
            "For a file from another tool with a member level column (会员级别): each buyer keeps at least that "
            "level (matched by name to this shop's levels) until a periodic review finds they no longer qualify."
        ),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("orders_file", "items_file"):
            f = data.get(name)
            if f is not None and f.size > MAX_UPLOAD_MB * 1024 * 1024:
                self.add_error(name, _("The file is larger than %(mb)s MB.") % {"mb": MAX_UPLOAD_MB})
        return data


class MappingForm(forms.Form):
    """One select per generic field, offering the file's headers."""

    save_as = forms.CharField(label=_("Save this mapping as"), required=False, max_length=64)

    def __init__(self, *args: Any, headers: list[str], initial_mapping: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "—"), *[(h, h) for h in headers]]
        for key in GENERIC_FIELDS:
            self.fields[f"map_{key}"] = forms.ChoiceField(
                label=FIELD_LABELS.get(key, key),
                choices=choices,
                required=key in REQUIRED_FIELDS,
                initial=initial_mapping.get(key, ""),
            )

    def mapping(self) -> dict[str, str]:
        return {k[4:]: v for k, v in self.cleaned_data.items() if k.startswith("map_") and v}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("map_paid_amount") and not data.get("map_total_amount"):
            self.add_error("map_paid_amount", _("Map the amount paid or the order total."))
        return data
