"""What `loyalty` adds to the customer archive: the level column and filter, and the merge hook."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.utils.translation import gettext_lazy as _

from huitouke.customers.models import Customer
from huitouke.customers.registry import (
    Annotation,
    DetailPanel,
    ListFilter,
    register_annotation,
    register_filter,
    register_merge_hook,
    register_panel,
)


def _level_annotate(qs: QuerySet[Customer]) -> QuerySet[Customer]:
    from huitouke.loyalty.models import Membership

    best = Membership.objects.filter(customer=OuterRef("pk")).order_by("-level__rank", "level_id")
    return qs.annotate(level=Subquery(best.values("level__name")[:1]))


def _level_choices() -> list[tuple[str, str]]:
    from huitouke.loyalty.selectors import level_list

    levels = list(level_list())
    many_shops = len({lv.shop_id for lv in levels}) > 1
    return [(str(lv.pk), f"{lv.shop.name} · {lv.name}" if many_shops else lv.name) for lv in levels]


def _level_filter(qs: QuerySet[Customer], value: str) -> QuerySet[Customer]:
    from huitouke.loyalty.models import Membership

    if not value.isdigit():
        return qs.none()
    return qs.filter(Exists(Membership.objects.filter(customer=OuterRef("pk"), level_id=int(value))))


def _merge_memberships(source: Customer, target: Customer) -> None:
    from huitouke.loyalty.models import LevelChange
    from huitouke.loyalty.services import levels_regrade_report

    source.memberships.all().delete()
    levels_regrade_report(customer_ids=[target.pk], reason=LevelChange.Reason.MERGE)


def _level_context(customer: Customer, request: Any) -> dict[str, Any]:
    from huitouke.loyalty.selectors import customer_level_status

    return {"statuses": customer_level_status(customer=customer)}


def register() -> None:
    register_panel(
        DetailPanel(
            key="level",
            title=_("Member level"),
            template="loyalty/_customer_level.html",
            context=_level_context,
            order=5,
        )
    )
    register_annotation(Annotation(key="level", label=_("Level"), annotate=_level_annotate))
    register_filter(ListFilter(key="level", label=_("Level"), choices=_level_choices, apply=_level_filter))
    register_merge_hook("loyalty", _merge_memberships)
