"""The shop's credit settings."""

from __future__ import annotations

import logging

from django.db import transaction

from huitouke.core.errors import ApplicationError
from huitouke.orders.models import Shop
from huitouke.reviews.crediting import credit_recompute
from huitouke.reviews.models import CreditSettings

log = logging.getLogger(__name__)


def credit_settings_set(
    *,
    shop: Shop,
    preset: str,
    rating_period_days: int,
    default_good_after_days: int,
    monthly_cap: int,
    same_item_days: int,
    tmall: bool | None = None,
) -> CreditSettings:
    """Set the shop's credit rule numbers (each bounded; a preset names the level table) and whether it is a
    Tmall shop (None: unchanged), and recompute the stored credit ledger under them."""
    from huitouke.reviews.credit import rules_with

    try:
        rules_with(
            preset,
            rating_period_days=rating_period_days,
            default_good_after_days=default_good_after_days,
            monthly_cap=monthly_cap,
            same_item_days=same_item_days,
        )
    except ValueError as exc:
        field = str(exc).split(":", 1)[0]
        raise ApplicationError(str(exc), field=field) from None
    with transaction.atomic():
        obj, _created = CreditSettings.objects.select_for_update().get_or_create(shop=shop)
        obj.preset = preset
        obj.rating_period_days = rating_period_days
        obj.default_good_after_days = default_good_after_days
        obj.monthly_cap = monthly_cap
        obj.same_item_days = same_item_days
        if tmall is not None:
            obj.tmall = tmall
        obj.full_clean()
        obj.save()
    credit_recompute(shop=shop)
    return obj
