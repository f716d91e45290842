"""Level reads."""

from __future__ import annotations

from django.db.models import Count, Min, QuerySet

from huitouke.loyalty.models import Level


def level_list() -> QuerySet[Level]:
    """Every shop's levels, by shop then rank."""
    return Level.objects.select_related("shop").order_by("shop__name", "rank")


def level_distribution(*, shop_ids: list[int] | None = None) -> dict[str, int]:
    """Members per level name, lowest rank first, summed over shops (levels without members count 0)."""
    levels = Level.objects.all() if shop_ids is None else Level.objects.filter(shop_id__in=shop_ids)
    rows = levels.values("name").annotate(members=Count("memberships"), rank=Min("rank")).order_by("rank", "name")
    return {row["name"]: row["members"] for row in rows}
