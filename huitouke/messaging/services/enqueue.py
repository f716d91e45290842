"""Enqueueing: every message anywhere in the product is written here, one or many thousands at a time."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.core.bulk import _sqlite_datetime
from huitouke.core.errors import ApplicationError
from huitouke.customers.models import Customer
from huitouke.messaging import rendering
from huitouke.messaging.models import (
    PURPOSE_PRIORITY,
    Channel,
    Message,
    Purpose,
    SourceKind,
    Template,
)
from huitouke.messaging.services.links import LINK_CHANNELS, LinkMaker
from huitouke.messaging.services.writing import write_postgres, write_sqlite


class MessageInvalidError(ApplicationError):
    """One of the messages given to enqueue is not acceptable (names the row and the field)."""


# --- enqueue -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceRef:
    """What caused a message: a kind and, when there is one, the record (content type id + primary key)."""

    kind: str = SourceKind.MANUAL
    type_id: int | None = None
    object_id: int | None = None

    @classmethod
    def of(cls, kind: str, obj: models.Model | None = None) -> SourceRef:
        if obj is None:
            return cls(kind)
        return cls(kind, ContentType.objects.get_for_model(obj).pk, int(obj.pk))


@dataclass(frozen=True)
class OutgoingMessage:
    """One message to enqueue. Either `template_id` (rendered here from `context`) or ready `body`/`subject`.

    `idempotency_key` names the intended send (e.g. "care:12:customer:345:2025-05-17"): enqueueing a key that
    exists adds nothing. `customer_id` may be None only for webhook messages (staff alerts). `to_address`
    overrides the customer's phone/email (alerts); otherwise the address is read at dispatch time.
    `priority` defaults from the purpose (service 0 … marketing 3; lower goes first).
    """

    idempotency_key: str
    channel: str
    purpose: str
    customer_id: int | None = None
    shop_id: int | None = None
    source: SourceRef = SourceRef()
    template_id: int | None = None
    subject: str = ""
    body: str = ""
    context: Mapping[str, Any] = field(default_factory=dict)
    scheduled_at: datetime | None = None
    deadline: datetime | None = None
    priority: int | None = None
    language: str = ""
    to_address: str = ""


_CHANNELS = frozenset(Channel.values)
_PURPOSES = frozenset(Purpose.values)
_KINDS = frozenset(SourceKind.values)

#: Called with the number of rows added once an enqueue commits (jobs.py wakes the dispatcher through it).
_ENQUEUE_LISTENERS: list[Callable[[int], None]] = []


def enqueue_listener_register(listener: Callable[[int], None]) -> None:
    """Call `listener(added)` after every committed enqueue that added rows (the worker's wake-up)."""
    if listener not in _ENQUEUE_LISTENERS:
        _ENQUEUE_LISTENERS.append(listener)


@dataclass(frozen=True)
class _CompiledTemplate:
    template: Template
    body_parts: list[tuple[bool, str]]
    subject_parts: list[tuple[bool, str]]
    variables: tuple[str, ...]


def _compile(template: Template) -> _CompiledTemplate:
    body = rendering.parse(template.body)
    subject = rendering.parse(template.subject) if template.subject else []
    names: dict[str, None] = {}
    for parts in (subject, body):
        for is_var, value in parts:
            if is_var:
                names.setdefault(value, None)
    return _CompiledTemplate(template, body, subject, tuple(names))


def _fill(parts: list[tuple[bool, str]], values: Mapping[str, str]) -> str:
    return "".join(values.get(v, "{" + v + "}") if is_var else v for is_var, v in parts)


class _Enqueuer:
    """Turns OutgoingMessage rows into database tuples: validation, rendering and defaults (no queries except
    loading each template once and filling base variables a template needs and the context lacks)."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.templates: dict[int, _CompiledTemplate] = {}
        self.sqlite = connection.vendor != "postgresql"
        self.links = LinkMaker()

    def template(self, row: int, template_id: int) -> _CompiledTemplate:
        compiled = self.templates.get(template_id)
        if compiled is None:
            template = Template.objects.filter(pk=template_id).first()
            if template is None:
                raise MessageInvalidError(
                    f"messages[{row}].template_id: template {template_id} does not exist", field="template_id"
                )
            compiled = self.templates[template_id] = _compile(template)
        return compiled

    def check(self, row: int, m: OutgoingMessage) -> None:
        def bad(name: str, problem: str) -> MessageInvalidError:
            return MessageInvalidError(f"messages[{row}].{name}: {problem}", field=name)

        key = m.idempotency_key
        if not key or not key.strip() or len(key) > 200:
            raise bad("idempotency_key", "must be 1 to 200 characters")
        if m.channel not in _CHANNELS:
            raise bad("channel", f"unknown channel {m.channel!r}; use one of {', '.join(sorted(_CHANNELS))}")
        if m.purpose not in _PURPOSES:
            raise bad("purpose", f"unknown purpose {m.purpose!r}; use one of {', '.join(sorted(_PURPOSES))}")
        if m.customer_id is None and m.channel != Channel.WEBHOOK:
            raise bad("customer_id", "only webhook messages (staff alerts) may go without a customer")
        if m.source.kind not in _KINDS:
            raise bad("source", f"unknown source kind {m.source.kind!r}")
        if (m.source.type_id is None) != (m.source.object_id is None):
            raise bad("source", "give both the content type and the id of the source, or neither")
        if m.template_id is None and not m.body.strip():
            raise bad("body", "give a template or the text")
        if m.deadline is not None and m.scheduled_at is not None and m.deadline < m.scheduled_at:
            raise bad("deadline", "is before the scheduled time")
        for name in ("scheduled_at", "deadline"):
            value = getattr(m, name)
            if value is not None and timezone.is_naive(value):
                raise bad(name, "needs a time zone")
        if m.priority is not None and not 0 <= m.priority <= 9:
            raise bad("priority", "must be 0 (first) to 9")
        if len(m.subject) > 255:
            raise bad("subject", "has more than 255 characters")
        if len(m.to_address) > 500:
            raise bad("to_address", "has more than 500 characters")

    def row(self, row: int, m: OutgoingMessage, base: Mapping[str, str]) -> tuple[Any, ...]:
        self.check(row, m)
        status, reason, detail = Message.Status.QUEUED, "", ""
        language = m.language
        if m.template_id is not None:
            compiled = self.template(row, m.template_id)
            tpl = compiled.template
            if tpl.channel != m.channel:
                raise MessageInvalidError(
                    f"messages[{row}].template_id: template {tpl.pk} is for {tpl.channel}, not {m.channel}",
                    field="template_id",
                )
            values: dict[str, str] = {}
            missing = []
            for name in compiled.variables:
                raw = m.context.get(name)
                if raw is None or str(raw).strip() == "":
                    raw = base.get(name)
                text = "" if raw is None else str(raw).strip()
                if text:
                    values[name] = text
                else:
                    missing.append(name)
            body = _fill(compiled.body_parts, values)
            subject = _fill(compiled.subject_parts, values) if compiled.subject_parts else m.subject
            params: dict[str, Any] = values
            language = language or tpl.language
            if missing:
                status, reason = Message.Status.SUPPRESSED, Message.Reason.MISSING_VARIABLE
                detail = _("No value for: %(names)s") % {"names": ", ".join(missing)}
        else:
            body, subject = m.body, m.subject
            params = {
                str(k): v if isinstance(v, int | float | bool) or v is None else str(v) for k, v in m.context.items()
            }
        if m.purpose == Purpose.MARKETING and m.customer_id is not None and m.channel in LINK_CHANNELS:
            unsubscribe_url, preferences_url = self.links.links(m.customer_id, m.channel)
            body = rendering.with_marketing_links(
                body,
                channel=m.channel,
                language=language or "zh-hans",
                unsubscribe_url=unsubscribe_url,
                preferences_url=preferences_url,
            )
        if m.channel == Channel.SMS and m.purpose == Purpose.MARKETING:
            body = rendering.sms_with_unsubscribe(body, language or "zh-hans")
        scheduled = m.scheduled_at or self.now
        priority = m.priority if m.priority is not None else PURPOSE_PRIORITY[Purpose(m.purpose)]
        deadline = m.deadline
        created = self.now
        if self.sqlite:
            scheduled_db: Any = _sqlite_datetime(scheduled)
            deadline_db: Any = _sqlite_datetime(deadline) if deadline else None
            created = _sqlite_datetime(created)  # type: ignore[assignment]
        else:
            scheduled_db, deadline_db = scheduled, deadline
        return (
            m.idempotency_key,
            m.customer_id,
            m.shop_id,
            m.channel,
            m.purpose,
            priority,
            m.source.kind,
            m.source.type_id,
            m.source.object_id,
            m.template_id,
            language,
            json.dumps(params, ensure_ascii=False, default=str),
            subject[:255],
            body,
            m.to_address,
            scheduled_db,
            deadline_db,
            status,
            reason,
            detail[:500],
            0,
            scheduled_db,
            0,
            "",
            "",
            created,
            created,
        )


def _base_values(chunk: Sequence[OutgoingMessage], enq: _Enqueuer) -> dict[int, dict[str, str]]:
    """name / nick / shop / level for the customers of rows whose template needs one of them and whose context
    lacks it: one query per variable kind for the whole chunk."""
    from huitouke.messaging.selectors import base_variables

    wanted: dict[int, set[str]] = {}
    shops: dict[int, int | None] = {}
    for i, m in enumerate(chunk):
        if m.template_id is None or m.customer_id is None:
            continue
        try:
            compiled = enq.template(i, m.template_id)
        except MessageInvalidError:
            continue  # reported with its row number by row()
        need = {v for v in compiled.variables if v in ("name", "nick", "shop", "level") and not m.context.get(v)}
        if need:
            wanted.setdefault(m.customer_id, set()).update(need)
            shops[m.customer_id] = m.shop_id
    if not wanted:
        return {}
    return base_variables(wanted=wanted, shops=shops)


def message_enqueue_many(
    *,
    messages: Iterable[OutgoingMessage],
    now: datetime | None = None,
    chunk_size: int = 10_000,
    retry_failed: bool = False,
) -> int:
    """Enqueue many messages at once; returns how many were added (keys that exist already add nothing).

    `retry_failed`: a key whose message failed or expired under another source (a care rule re-activated by an
    edit) is queued again in place — with this row's content, source and times, its attempts reset and its
    `resends` counted up — and counts as added. A key that was sent, is waiting, was suppressed, or came from
    the same source is never touched, so nobody gets a second copy.

    Thousands of rows per statement: PostgreSQL copies them into a temporary table and inserts from it with
    ON CONFLICT (idempotency_key) DO NOTHING; SQLite inserts with the same clause in executemany batches.
    Templates are rendered here; a message whose template needs a variable the context cannot fill is still
    written, as `suppressed` with reason `missing_variable` (it is never sent with a blank). Marketing to a
    customer by SMS, email or manual task carries the customer's unsubscribe and preferences links (services/links.py;
    a line at the end, an email footer), and marketing SMS the unsubscribe hint (回T退订) after them.

    Everything is written in one transaction: a bad row raises MessageInvalidError naming it
    (`messages[12].channel: …`) and nothing is written. The dispatcher is woken once the transaction commits.
    """
    enq = _Enqueuer(now or timezone.now())
    write = write_postgres if connection.vendor == "postgresql" else write_sqlite

    def chunks() -> Iterator[list[tuple[Any, ...]]]:
        offset = 0
        chunk: list[OutgoingMessage] = []
        for m in messages:
            chunk.append(m)
            if len(chunk) >= chunk_size:
                yield _rows(chunk, offset)
                offset += len(chunk)
                chunk = []
        if chunk:
            yield _rows(chunk, offset)

    def _rows(chunk: list[OutgoingMessage], offset: int) -> list[tuple[Any, ...]]:
        base = _base_values(chunk, enq)
        empty: dict[str, str] = {}
        return [enq.row(offset + i, m, base.get(m.customer_id or 0, empty)) for i, m in enumerate(chunk)]

    with transaction.atomic():
        added = write(chunks(), retry_failed)
        if added:
            for listener in _ENQUEUE_LISTENERS:
                transaction.on_commit(partial(listener, added))
    return added


def message_enqueue(
    *,
    idempotency_key: str,
    channel: str,
    purpose: str,
    customer: Customer | None = None,
    shop_id: int | None = None,
    source: SourceRef = SourceRef(),
    template: Template | None = None,
    subject: str = "",
    body: str = "",
    context: Mapping[str, Any] | None = None,
    scheduled_at: datetime | None = None,
    deadline: datetime | None = None,
    priority: int | None = None,
    language: str = "",
    to_address: str = "",
) -> Message:
    """Enqueue one message (the same path as message_enqueue_many); returns its row, the existing one when the
    key was enqueued before."""
    message_enqueue_many(
        messages=[
            OutgoingMessage(
                idempotency_key=idempotency_key,
                channel=channel,
                purpose=purpose,
                customer_id=customer.pk if customer else None,
                shop_id=shop_id,
                source=source,
                template_id=template.pk if template else None,
                subject=subject,
                body=body,
                context=context or {},
                scheduled_at=scheduled_at,
                deadline=deadline,
                priority=priority,
                language=language,
                to_address=to_address,
            )
        ]
    )
    return Message.objects.get(idempotency_key=idempotency_key)
