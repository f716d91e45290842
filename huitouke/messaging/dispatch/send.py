"""Sending: the adapters of a run, the shared rate limit, and handing each channel its batches."""

from __future__ import annotations

import time as clock
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.urls import reverse

from huitouke.messaging import rendering
from huitouke.messaging.channels import ADAPTERS, Adapter, ChannelConfigError, Outcome, Outgoing, Result
from huitouke.messaging.dispatch.decide import _Plan
from huitouke.messaging.dispatch.record import _fail_unconfigured, _record
from huitouke.messaging.dispatch.rows import DispatchStats, _Row, log
from huitouke.messaging.models import Channel, ChannelConfig, Purpose, RateBucket
from huitouke.messaging.secrets import ChannelSecretError, secrets_resolved
from huitouke.messaging.services import unsubscribe_token

# --- sending -------------------------------------------------------------------------------------------------


def rate_acquire(key: str, rate: float, count: int) -> None:
    """Take `count` sends from the token bucket `key` (refilled at `rate` per second, holding at most one
    second's worth), waiting as long as needed. Shared by every worker through one row; autocommitted."""
    cap = max(rate, 1.0)
    count = max(1, min(count, int(cap)))
    least = "LEAST" if connection.vendor == "postgresql" else "MIN"
    refill = f"{least}(%s, tokens + (%s - updated) * %s)"
    while True:
        now = clock.time()
        with connection.cursor() as cur:
            cur.execute(
                f"UPDATE messaging_ratebucket SET tokens = {refill} - %s, updated = %s"
                f" WHERE key = %s AND {refill} >= %s",
                [cap, now, rate, count, now, key, cap, now, rate, count],
            )
            if cur.rowcount == 1:
                return
            cur.execute("SELECT tokens, updated FROM messaging_ratebucket WHERE key = %s", [key])
            found = cur.fetchone()
        if found is None:
            RateBucket.objects.get_or_create(key=key, defaults={"tokens": cap, "updated": now})
            continue
        available = min(cap, found[0] + (now - found[1]) * rate)
        clock.sleep(min(max((count - available) / rate, 0.005), 5.0))


def _public_url(path: str) -> str:
    return f"{settings.HUITOUKE_PUBLIC_URL}{path}"


class _Adapters:
    """The adapters of one dispatch run, built once per channel setting (None when the setting is broken)."""

    def __init__(self) -> None:
        self._built: dict[int, Adapter | str] = {}
        self._orders: dict[int, tuple[str, ...]] = {}

    def get(self, config: ChannelConfig) -> Adapter | str:
        built = self._built.get(config.pk)
        if built is None:
            try:
                built = ADAPTERS[config.provider](
                    options=config.options or {}, secrets=secrets_resolved(config.secrets_encrypted)
                )
            except (ChannelConfigError, ChannelSecretError, KeyError) as exc:
                built = str(getattr(exc, "message", exc))
            self._built[config.pk] = built
        return built

    def param_order(self, r: _Row) -> tuple[str, ...]:
        if r.template_id is None or not r.template_body:
            return ()
        order = self._orders.get(r.template_id)
        if order is None:
            try:
                order = rendering.variables_in(r.template_body)
            except rendering.TemplateTextError:
                order = ()
            self._orders[r.template_id] = order
        return order

    def close(self) -> None:
        for adapter in self._built.values():
            if isinstance(adapter, Adapter):
                adapter.close()
        self._built.clear()


#: The adapter set a dispatch run uses; a caller may pass its own (the demo's stand-in gateway).
ChannelAdapters = _Adapters


def _unsubscribe_url(message_id: int) -> str:
    """The signed one-click link (only email carries it: SMS say 回T退订)."""
    return _public_url(reverse("messaging:unsubscribe", args=[unsubscribe_token(message_id)]))


def _outgoing(r: _Row, adapters: _Adapters) -> Outgoing:
    unsubscribe = ""
    if r.channel == Channel.EMAIL and r.customer_id is not None and r.purpose in (Purpose.MARKETING, Purpose.CARE):
        unsubscribe = _unsubscribe_url(r.id)
    return Outgoing(
        id=r.id,
        key=r.idempotency_key,
        to=r.address,
        body=r.body,
        purpose=r.purpose,
        subject=r.subject,
        params=r.params or {},
        param_order=adapters.param_order(r),
        provider_code=r.provider_code or "",
        unsubscribe_url=unsubscribe,
        customer_id=r.customer_id,
        source_kind=r.source_kind,
        language=r.language,
    )


def _chunks(items: Sequence[_Row], size: int) -> Iterator[Sequence[_Row]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _send(plan: _Plan, adapters: _Adapters, stats: DispatchStats, at: datetime | None) -> None:
    by_config: dict[int, list[_Row]] = defaultdict(list)
    configs: dict[int, ChannelConfig] = {}
    for r in plan.send:
        assert r.config is not None  # rows without a setting were failed while deciding
        by_config[r.config.pk].append(r)
        configs[r.config.pk] = r.config
    rows = {r.id: r for r in plan.send}
    for pk, group in by_config.items():
        config = configs[pk]
        adapter = adapters.get(config)
        if isinstance(adapter, str):
            failed = [Result(r.id, Outcome.REJECT, error=adapter) for r in group]
            _fail_unconfigured(failed, stats, at)
            continue
        size = adapter.max_batch
        if config.rate_per_second:
            size = max(1, min(size, int(max(config.rate_per_second, 1.0))))
        for chunk in _chunks(group, size):
            if config.rate_per_second:
                rate_acquire(f"channel:{pk}", config.rate_per_second, len(chunk))
            batch = [_outgoing(r, adapters) for r in chunk]
            try:
                results = adapter.send(batch)
            except ChannelConfigError as exc:  # e.g. the endpoint now resolves to an address the operator refused
                results = [Result(m.id, Outcome.REJECT, error=exc.message[:300]) for m in batch]
            except Exception as exc:  # an adapter bug must not lose the rows: they are retried
                log.exception("channel %s failed on a batch of %s", config, len(batch))
                results = [Result(m.id, Outcome.RETRY, error=f"{type(exc).__name__}: {exc}"[:300]) for m in batch]
            _record(results, rows, stats, at)
