"""Level reads."""

from __future__ import annotations

from django.db.models import QuerySet

from huitouke.loyalty.models import Level


def level_list() -> QuerySet[Level]:
    """Every shop's levels, by shop then rank."""
    return Level.objects.select_related("shop").order_by("shop__name", "rank")
