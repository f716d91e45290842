"""Shared pieces of the analytics reads: what a purchase is and is worth, business-time-zone days and months,
shares, and integer rows fetched into arrays."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from django.db import connection
from django.db.models import (
    DecimalField,
    ExpressionWrapper,
    F,
    QuerySet,
)
from django.utils import timezone

from huitouke.orders.models import Order, OrderLine

MONEY = DecimalField(max_digits=14, decimal_places=2)
ZERO = Decimal("0.00")


def _counted() -> QuerySet[Order]:
    return Order.objects.filter(status__in=Order.COUNTED)


def _value() -> ExpressionWrapper:
    return ExpressionWrapper(F("paid_amount") - F("refund_amount"), output_field=MONEY)


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _money(value: Any) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))


def _share(part: float | int | Decimal, whole: float | int | Decimal) -> float | None:
    return float(part) / float(whole) if whole else None


def fetch_int_rows(sql: str, params: list[Any], *, width: int, chunk: int = 50_000) -> np.ndarray:
    """Run a query whose columns are all integers and return its rows as an (n, width) int64 array, converting
    `chunk` rows at a time (a few million rows never exist as Python tuples all at once)."""
    parts = []
    with connection.cursor() as cur:
        cur.execute(sql, params)
        while batch := cur.fetchmany(chunk):
            parts.append(np.array(batch, dtype=np.int64).reshape(-1, width))
    return np.concatenate(parts) if parts else np.zeros((0, width), dtype=np.int64)


def local_day_sql(column: str = "o.ordered_at") -> tuple[str, list[Any]]:
    """SQL for the business-time-zone calendar day of a timestamp column as days since 1970-01-01, and its
    parameters."""
    tz = timezone.get_current_timezone()
    if connection.vendor == "postgresql":
        return f"(({column} AT TIME ZONE %s)::date - DATE '1970-01-01')", [str(tz)]
    # SQLite has no time-zone database: shift by the zone's current UTC offset (exact for zones without summer
    # time such as Asia/Shanghai; elsewhere orders within an hour of midnight may land on the neighbour day).
    offset = timezone.now().astimezone(tz).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    return f"CAST(julianday({column}, %s) - 2440587.5 AS INTEGER)", [f"{minutes:+d} minutes"]


def _as_date(value: date | datetime) -> date:
    if isinstance(value, datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


def _sold_lines() -> QuerySet[OrderLine]:
    return OrderLine.objects.filter(product__isnull=False, order__status__in=Order.COUNTED).exclude(
        refund_state=OrderLine.RefundState.REFUNDED
    )
