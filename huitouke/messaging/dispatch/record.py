"""Writing what was decided and what the channels answered, in as few statements as the database allows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from huitouke.core.bulk import _sqlite_datetime
from huitouke.messaging.channels import Outcome, Result
from huitouke.messaging.dispatch.decide import _Plan
from huitouke.messaging.dispatch.rows import DispatchStats, _Row, backoff_seconds
from huitouke.messaging.models import Message

# --- writing decisions and results ---------------------------------------------------------------------------


def _update_each(
    ids: Sequence[int],
    columns: Sequence[tuple[str, str]],
    values: Sequence[Sequence[Any]],
    common: dict[str, Any],
    *,
    only_sending: bool = False,
) -> None:
    """Set per-row `columns` ((name, sql type), values[i] for ids[i]) plus the `common` values, in one statement
    on PostgreSQL (unnest of arrays) and one executemany on SQLite."""
    if not ids:
        return
    guard = " AND m.status = 'sending'" if only_sending else ""
    names = [c for c, _t in columns]
    common_items = list(common.items())
    if connection.vendor == "postgresql":
        sets = ", ".join([*(f"{n} = v.{n}" for n in names), *(f"{k} = %s" for k, _v in common_items)])
        arrays = ", ".join(f"%s::{t}[]" for _n, t in columns)
        sql = (
            f"UPDATE messaging_message AS m SET {sets} FROM unnest(%s::bigint[], {arrays}) AS v(id, {', '.join(names)})"
            f" WHERE m.id = v.id{guard}"
        )
        params: list[Any] = [v for _k, v in common_items]
        params.append(list(ids))
        for j in range(len(columns)):
            params.append([row[j] for row in values])
        with connection.cursor() as cur:
            cur.execute(sql, params)
        return
    sets = ", ".join([*(f"{n} = %s" for n in names), *(f"{k} = %s" for k, _v in common_items)])
    sql = f"UPDATE messaging_message AS m SET {sets} WHERE m.id = %s{guard}"
    tail = [_sqlite_value(v) for _k, v in common_items]
    batch = [[*(_sqlite_value(x) for x in row), *tail, i] for i, row in zip(ids, values, strict=True)]
    with connection.cursor() as cur:
        cur.executemany(sql, batch)


def _sqlite_value(value: Any) -> Any:
    return _sqlite_datetime(value) if isinstance(value, datetime) else value


def _lease_for(rows: Sequence[_Row], now: datetime) -> dict[int, datetime]:
    """A claim lasts HUITOUKE_MESSAGE_LEASE_SECONDS plus the time the channel's rate limit needs for the rows."""
    lease = int(settings.HUITOUKE_MESSAGE_LEASE_SECONDS)
    per_config: dict[int, int] = defaultdict(int)
    for r in rows:
        if r.config is not None:
            per_config[r.config.pk] += 1
    out = {}
    for r in rows:
        extra = 0.0
        if r.config is not None and r.config.rate_per_second:
            extra = per_config[r.config.pk] / r.config.rate_per_second
        out[r.id] = now + timedelta(seconds=lease + extra)
    return out


def _write_plan(plan: _Plan, now: datetime, worker: str) -> None:
    for (status, reason, until, detail), ids in plan.other.items():
        values: dict[str, Any] = {
            "status": status,
            "reason": reason,
            "detail": detail,
            "lease_until": None,
            "claimed_by": "",
            "updated_at": now,
        }
        if until is not None:
            values["next_attempt_at"] = until
        Message.objects.filter(pk__in=ids).update(**values)
    if plan.send:
        leases = _lease_for(plan.send, now)
        _update_each(
            [r.id for r in plan.send],
            [("to_address", "text"), ("lease_until", "timestamptz"), ("attempts", "smallint")],
            [(r.address[:500], leases[r.id], r.attempts + 1) for r in plan.send],
            {
                "status": Message.Status.SENDING,
                "reason": "",
                "claimed_by": worker[:64],
                "contacted_at": now,
                "updated_at": now,
            },
        )
        for r in plan.send:
            r.attempts += 1


def _record(results: Sequence[Result], rows: dict[int, _Row], stats: DispatchStats, at: datetime | None) -> None:
    """Write the outcome of one sent chunk (only rows still `sending`: a row another worker took over after its
    lease ended is left to that worker)."""
    now = at or timezone.now()
    max_attempts = int(settings.HUITOUKE_SEND_MAX_ATTEMPTS)
    sent = [r for r in results if r.outcome == Outcome.SENT]
    _update_each(
        [r.id for r in sent],
        [("provider_message_id", "text")],
        [(r.provider_id[:128],) for r in sent],
        {"status": Message.Status.SENT, "sent_at": now, "lease_until": None, "detail": "", "updated_at": now},
        only_sending=True,
    )
    stats.sent += len(sent)
    tasks = [r.id for r in results if r.outcome == Outcome.TASK]
    if tasks:
        Message.objects.filter(pk__in=tasks, status=Message.Status.SENDING).update(
            lease_until=None, claimed_by="", updated_at=now
        )
        stats.tasks += len(tasks)
    retry = [r for r in results if r.outcome == Outcome.RETRY and rows[r.id].attempts < max_attempts]
    _update_each(
        [r.id for r in retry],
        [("next_attempt_at", "timestamptz"), ("detail", "text")],
        [(now + timedelta(seconds=backoff_seconds(rows[r.id].attempts)), r.error[:500]) for r in retry],
        {
            "status": Message.Status.QUEUED,
            "reason": Message.Reason.RETRYING,
            "lease_until": None,
            "claimed_by": "",
            "updated_at": now,
        },
        only_sending=True,
    )
    stats.retried += len(retry)
    failed = [
        (r, Message.Reason.REJECTED if r.outcome == Outcome.REJECT else Message.Reason.SEND_ERROR)
        for r in results
        if r.outcome == Outcome.REJECT or (r.outcome == Outcome.RETRY and rows[r.id].attempts >= max_attempts)
    ]
    _update_each(
        [r.id for r, _reason in failed],
        [("reason", "text"), ("detail", "text")],
        [(reason, r.error[:500]) for r, reason in failed],
        {"status": Message.Status.FAILED, "lease_until": None, "claimed_by": "", "updated_at": now},
        only_sending=True,
    )
    stats.failed += len(failed)


def _fail_unconfigured(results: Sequence[Result], stats: DispatchStats, at: datetime | None) -> None:
    now = at or timezone.now()
    _update_each(
        [r.id for r in results],
        [("detail", "text")],
        [(r.error[:500],) for r in results],
        {
            "status": Message.Status.FAILED,
            "reason": Message.Reason.NO_CHANNEL,
            "lease_until": None,
            "claimed_by": "",
            "updated_at": now,
        },
        only_sending=True,
    )
    stats.failed += len(results)
