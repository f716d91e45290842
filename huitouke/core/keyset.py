"""Keyset pagination: a deep page reads on from the last row of the page before it instead of skipping every row
in front of it (OFFSET reads and throws away page × size rows; this reads one page from the sort index).

`rows_after(qs, after_id=…)` takes the list's own order (its `order_by`, else the model's `Meta.ordering`), reads
that row's sort values and narrows `qs` to the rows that come after it. The order must end in the primary key so
that it is total. Sort columns may be NULL only when the order says where NULLs go (`F(...).asc(nulls_last=True)`);
the condition then says the same, so it holds on every database. A list whose order this cannot follow (an
expression, a related field, an unplaced nullable column) gets None back and pages by number as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import F, Q, QuerySet
from django.db.models.expressions import OrderBy

#: ids in "after=" links are at most this many digits (a bigint); anything longer is ignored
MAX_ID_DIGITS = 18


@dataclass(frozen=True)
class _Key:
    field: str
    descending: bool
    nulls_last: bool | None  # None: the order does not place NULLs (the column must not hold any)


def _keys(qs: QuerySet[Any]) -> list[_Key] | None:
    order = list(qs.query.order_by or qs.model._meta.ordering or [])
    keys: list[_Key] = []
    for item in order:
        if isinstance(item, str):
            name = item.lstrip("-")
            keys.append(_Key(name, item.startswith("-"), None))
        elif isinstance(item, OrderBy) and isinstance(item.expression, F):
            nulls_last = True if item.nulls_last else False if item.nulls_first else None
            keys.append(_Key(str(item.expression.name), item.descending, nulls_last))  # type: ignore[attr-defined]
        else:
            return None
    if not keys or keys[-1].field not in ("id", "pk"):
        return None
    opts = qs.model._meta
    for key in keys[:-1]:
        if "__" in key.field:
            return None
        field = opts.get_field(key.field)
        if field.null and key.nulls_last is None:
            return None
    return keys


def after_id(params: Any) -> int | None:
    """The `after` parameter of a page link (the id of the last row on the page before), when it is one."""
    raw = str(params.get("after") or "")
    return int(raw) if raw.isdigit() and len(raw) <= MAX_ID_DIGITS else None


def rows_after(qs: QuerySet[Any], *, after_id: int) -> QuerySet[Any] | None:
    """The rows of `qs`, in its order, that come after the row `after_id`; None when the order is not one keyset
    paging can follow or there is no such row (the caller pages by number then)."""
    keys = _keys(qs)
    if keys is None:
        return None
    names = [k.field for k in keys[:-1]]
    found = qs.model._base_manager.filter(pk=after_id)
    row = found.values(*names).first() if names else ({} if found.exists() else None)
    if row is None:
        return None
    cond = Q(pk__lt=after_id) if keys[-1].descending else Q(pk__gt=after_id)
    # from the last sort column to the first: beyond on this column, or equal on it and beyond on the rest
    for key in reversed(keys[:-1]):
        value = row[key.field]
        if value is None:
            # NULLs come last here (nulls_last) or first: after a NULL only NULLs follow, or every value does
            equal = Q(**{f"{key.field}__isnull": True})
            beyond = Q(pk__in=[]) if key.nulls_last else Q(**{f"{key.field}__isnull": False})
        else:
            equal = Q(**{key.field: value})
            beyond = Q(**{f"{key.field}__{'lt' if key.descending else 'gt'}": value})
            if key.nulls_last:
                beyond |= Q(**{f"{key.field}__isnull": True})
        cond = beyond | (equal & cond)
    narrowed = qs.filter(cond)
    first = keys[0]
    if len(keys) > 1 and row[first.field] is not None and not first.nulls_last:
        # a bound on the first column alone gives the index scan its start
        narrowed = narrowed.filter(**{f"{first.field}__{'lte' if first.descending else 'gte'}": row[first.field]})
    return narrowed
