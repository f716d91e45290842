"""Member levels a seller brings from another tool (issue #14 item 21): an order import that keeps the levels
(`huitouke import-orders --keep-levels`, the upload page's box) hands each buyer's imported level (会员级别) to
`level_floors_import`, which keeps it as a floor.

The floor is the membership itself, marked as qualified at the import: the regrade only ever moves members up,
so nobody drops below the imported level through a regrade; a shop that drops members at its periodic review
drops them from the first review whose grace period (grace days after the import) has passed, when they do not
qualify for the level by their orders. A shop that never drops members keeps the level for good (members only
move up). A redefinition of the levels grades everyone afresh, imported levels included.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from huitouke.core.bulk import values_in
from huitouke.loyalty.models import Level, LevelChange, Membership
from huitouke.orders.models import Shop

CHUNK = 5000


def _key(name: str) -> str:
    """Level names match ignoring case and spacing (金卡 = ' 金卡 ', Gold = gold)."""
    return " ".join(name.split()).casefold()


@dataclass
class FloorsResult:
    """What became of the imported levels of one shop: raised to the imported level (`kept`), already at or above
    it (`already`), and the (row, level name, reason) of each name the shop has no level for (`unknown`)."""

    kept: int = 0
    already: int = 0
    unknown: list[tuple[int, str, str]] = field(default_factory=list)


def level_floors_import(
    *, shop: Shop, levels: Mapping[int, tuple[str, int]], now: datetime | None = None
) -> FloorsResult:
    """Keep imported levels as floors: every customer in `levels` ({customer id: (level name, row number)}) whose
    level in `shop` is below the named one (or who has none) gets it, qualified now, with a level change of reason
    "import". Names the shop has no level for are reported per row, nothing is written for them. One transaction."""
    now = now or timezone.now()
    result = FloorsResult()
    shop_levels = list(Level.objects.filter(shop=shop).order_by("rank"))
    by_name = {_key(level.name): level for level in shop_levels}
    wanted: dict[int, Level] = {}
    for cid, (name, row_no) in sorted(levels.items(), key=lambda item: item[1][1]):
        level = by_name.get(_key(name))
        if level is None:
            known = "、".join(lv.name for lv in shop_levels) or "—"
            reason = f"member level {name!r} is not one of the levels of shop {shop.name} ({known}); not kept"
            result.unknown.append((row_no, name, reason))
        else:
            wanted[cid] = level
    ids = sorted(wanted)
    with transaction.atomic():
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            held = {
                cid: (level_id, name, rank)
                for cid, level_id, name, rank in Membership.objects.filter(
                    shop=shop, customer_id__in=values_in(chunk, "bigint")
                ).values_list("customer_id", "level_id", "level__name", "level__rank")
            }
            raise_to = [cid for cid in chunk if held.get(cid, (None, "", 0))[2] < wanted[cid].rank]
            result.already += len(chunk) - len(raise_to)
            if not raise_to:
                continue
            Membership.objects.bulk_create(
                [
                    Membership(
                        customer_id=cid, shop=shop, level=wanted[cid], qualified_at=now, created_at=now, updated_at=now
                    )
                    for cid in raise_to
                ],
                update_conflicts=True,
                unique_fields=["customer", "shop"],
                update_fields=["level", "qualified_at", "updated_at"],
            )
            LevelChange.objects.bulk_create(
                [
                    LevelChange(
                        customer_id=cid,
                        shop=shop,
                        from_level_id=held[cid][0] if cid in held else None,
                        from_name=held[cid][1] if cid in held else "",
                        from_rank=held[cid][2] if cid in held else None,
                        to_level=wanted[cid],
                        to_name=wanted[cid].name,
                        to_rank=wanted[cid].rank,
                        reason=LevelChange.Reason.IMPORT,
                    )
                    for cid in raise_to
                ]
            )
            result.kept += len(raise_to)
    return result
