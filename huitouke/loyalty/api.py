"""REST endpoints of member levels: read and replace a shop's ordered level list.

Thin: resolve the shop -> check the permission -> call the loyalty services/selectors -> respond. Errors of the
level rules come back as {code, message, field} with field ``levels[i].<field>`` (mapped once in huitouke/api.py).
"""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest
from ninja import Query, Router

from huitouke.core.api import Int64, errors, require_perms
from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.loyalty import selectors, services
from huitouke.loyalty.schemas import (
    AtRiskCustomer,
    AtRiskFilter,
    AtRiskOut,
    AtRiskPageOut,
    LevelCount,
    LevelIn,
    LevelOut,
    LevelsOut,
    ShopRef,
)
from huitouke.orders.models import Shop
from huitouke.orders.selectors import shop_list

router = Router(tags=["levels"])

VIEW, CHANGE = "loyalty.view_level", "loyalty.change_level"


def _shop(shop_id: int | None) -> Shop:
    """The shop named by ?shop=ID; may be omitted when there is exactly one shop."""
    if shop_id is not None:
        shop = shop_list().filter(pk=shop_id).first()
        if shop is None:
            raise NotFoundError(f"no shop {shop_id}", field="shop")
        return shop
    shops = list(shop_list()[:2])
    if len(shops) != 1:
        raise ApplicationError("several shops (or none): say which one with ?shop=ID", field="shop")
    return shops[0]


def _levels_out(shop: Shop) -> LevelsOut:
    levels = list(selectors.level_list().filter(shop=shop))
    counts = selectors.level_distribution(shop_ids=[shop.pk])
    return LevelsOut(
        shop=ShopRef(id=shop.pk, name=shop.name),
        levels=[
            LevelOut(
                rank=lv.rank,
                name=lv.name,
                min_amount=f"{lv.min_amount:.2f}",
                min_orders=lv.min_orders,
                discount=lv.discount,
                benefits=lv.benefits,
            )
            for lv in levels
        ],
        distribution=[LevelCount(name=lv.name, members=counts.get(lv.name, 0)) for lv in levels],
    )


@router.get("/levels", response=LevelsOut, summary="A shop's member levels", openapi_extra=errors(404))
def levels_get(request: HttpRequest, shop: Query[Int64 | None] = None) -> LevelsOut:
    """The shop's levels, lowest first, with the number of members at each level."""
    require_perms(request, VIEW)
    return _levels_out(_shop(shop))


@router.put("/levels", response=LevelsOut, summary="Replace a shop's member levels", openapi_extra=errors(404, 409))
def levels_put(
    request: HttpRequest,
    levels: list[LevelIn],
    shop: Query[Int64 | None] = None,
    confirm_remove_all: Query[bool] = False,
) -> LevelsOut:
    """Replace the shop's levels by the whole ordered list (lowest first). When thresholds change, every customer
    of the shop is graded afresh against them (members may move down as well as up, each move kept as history);
    renaming or changing discounts moves nobody. Thresholds must rise with the level; the first problem comes back
    naming ``levels[i].<field>``. An empty list removes every level and drops every membership: refused with 409
    (code conflict) unless ``confirm_remove_all=true``. Every replacement is written to the audit log."""
    require_perms(request, CHANGE)
    target = _shop(shop)
    specs = [
        services.LevelSpec(
            name=lv.name, min_amount=lv.min_amount, min_orders=lv.min_orders, discount=lv.discount, benefits=lv.benefits
        )
        for lv in levels
    ]
    with transaction.atomic():  # grades the shop afresh when thresholds change
        services.levels_set(shop=target, specs=specs, actor=request.user, remove_all=confirm_remove_all)
    return _levels_out(target)


@router.get("/levels/at-risk", response=AtRiskPageOut, summary="Members who drop at the next review")
def levels_at_risk(request: HttpRequest, filters: Query[AtRiskFilter]) -> AtRiskPageOut:
    """Members of a shop that drops members at a review who no longer reach the level they hold: what they must
    spend or how many orders they must place, and by when, to keep it. Soonest deadline first. A shop that never
    drops members answers `reviewing: false` and no items."""
    require_perms(request, VIEW)
    target = _shop(filters.shop)
    size = filters.page_size
    data = selectors.members_at_risk(shop=target, offset=(filters.page - 1) * size, limit=size)
    return AtRiskPageOut(
        shop=ShopRef(id=target.pk, name=target.name),
        reviewing=data.reviewing,
        grace_days=data.grace_days,
        window_months=data.window_months,
        count=data.count,
        items=[
            AtRiskOut(
                customer=AtRiskCustomer(id=m.customer.pk, name=m.customer.name),
                level=m.level.name,
                amount=f"{m.amount:.2f}",
                orders=m.orders,
                amount_needed=f"{m.amount_needed:.2f}",
                orders_needed=m.orders_needed,
                deadline=m.deadline,
            )
            for m in data.members
        ],
    )
