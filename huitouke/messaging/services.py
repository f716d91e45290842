"""Writes of the messaging engine: enqueueing (one or many thousands), templates, channel settings, the contact
policy, unsubscribing, manual tasks and resending. The dispatcher (sending) is in dispatch.py.

Every message anywhere in the product goes through `message_enqueue_many` (or `message_enqueue`, the same path
for one): it writes Message rows in the caller's transaction, ignores keys that exist already, and wakes the
dispatcher once the transaction commits. Nothing here talks to a provider.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from functools import partial
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core import signing
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _

from huitouke.core.bulk import _sqlite_datetime
from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.customers.models import Consent, Customer
from huitouke.customers.services import consent_set, phone_normalise
from huitouke.messaging import rendering
from huitouke.messaging.channels import ADAPTERS, CHANNEL_PROVIDERS, ChannelConfigError
from huitouke.messaging.models import (
    PURPOSE_PRIORITY,
    Channel,
    ChannelConfig,
    ContactPolicy,
    Message,
    Purpose,
    SourceKind,
    Template,
)
from huitouke.messaging.registry import InboundReply, registry
from huitouke.messaging.secrets import ChannelSecretError, secret_resolve, secrets_decrypt, secrets_encrypt


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


#: The columns enqueue writes, in this order (every NOT NULL column of Message except the primary key).
ENQUEUE_COLUMNS = (
    "idempotency_key",
    "customer_id",
    "shop_id",
    "channel",
    "purpose",
    "priority",
    "source_kind",
    "source_type_id",
    "source_id",
    "template_id",
    "language",
    "params",
    "subject",
    "body",
    "to_address",
    "scheduled_at",
    "deadline",
    "status",
    "reason",
    "detail",
    "attempts",
    "next_attempt_at",
    "resends",
    "claimed_by",
    "provider_message_id",
    "created_at",
    "updated_at",
)

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


#: named after its columns, so a connection that outlived a migration never reuses a stale one
_STAGE = "messaging_enqueue_" + hashlib.sha256(",".join(ENQUEUE_COLUMNS).encode()).hexdigest()[:10]


def _write_postgres(chunks: Iterator[list[tuple[Any, ...]]]) -> int:
    cols = ", ".join(ENQUEUE_COLUMNS)
    with connection.cursor() as cur:
        # a session-local staging table (kept for the connection's life, emptied before each use): COPY cannot
        # skip duplicates, INSERT … SELECT … ON CONFLICT can
        cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} AS SELECT {cols} FROM messaging_message WITH NO DATA")
        cur.execute(f"TRUNCATE {_STAGE}")
        # one COPY per chunk: a chunk is prepared (templates, archive variables) before its COPY starts, since
        # no other statement may run on the connection while a COPY is open
        for chunk in chunks:
            with cur.cursor.copy(f"COPY {_STAGE} ({cols}) FROM STDIN") as copy:
                for row in chunk:
                    copy.write_row(row)
        cur.execute(
            f"INSERT INTO messaging_message ({cols}) SELECT {cols} FROM {_STAGE}"
            " ON CONFLICT (idempotency_key) DO NOTHING"
        )
        added = cur.rowcount
        cur.execute(f"TRUNCATE {_STAGE}")
    return int(added)


def _write_sqlite(chunks: Iterator[list[tuple[Any, ...]]]) -> int:
    cols = ", ".join(ENQUEUE_COLUMNS)
    marks = ", ".join(["%s"] * len(ENQUEUE_COLUMNS))
    sql = f"INSERT INTO messaging_message ({cols}) VALUES ({marks}) ON CONFLICT (idempotency_key) DO NOTHING"
    raw = connection.connection
    before = raw.total_changes
    with connection.cursor() as cur:
        for chunk in chunks:
            cur.executemany(sql, chunk)
    return int(raw.total_changes - before)


def message_enqueue_many(
    *, messages: Iterable[OutgoingMessage], now: datetime | None = None, chunk_size: int = 10_000
) -> int:
    """Enqueue many messages at once; returns how many were added (keys that exist already add nothing).

    Thousands of rows per statement: PostgreSQL copies them into a temporary table and inserts from it with
    ON CONFLICT (idempotency_key) DO NOTHING; SQLite inserts with the same clause in executemany batches.
    Templates are rendered here; a message whose template needs a variable the context cannot fill is still
    written, as `suppressed` with reason `missing_variable` (it is never sent with a blank). Marketing SMS get
    the unsubscribe hint (回T退订) at the end.

    Everything is written in one transaction: a bad row raises MessageInvalidError naming it
    (`messages[12].channel: …`) and nothing is written. The dispatcher is woken once the transaction commits.
    """
    enq = _Enqueuer(now or timezone.now())
    write = _write_postgres if connection.vendor == "postgresql" else _write_sqlite

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
        added = write(chunks())
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


# --- templates -----------------------------------------------------------------------------------------------


class TemplateInvalidError(ApplicationError):
    pass


def _template_check(*, channel: str, purpose: str, language: str, name: str, subject: str, body: str) -> None:
    if channel not in _CHANNELS:
        raise TemplateInvalidError(f"unknown channel {channel!r}", field="channel")
    if purpose not in _PURPOSES:
        raise TemplateInvalidError(f"unknown purpose {purpose!r}", field="purpose")
    if language not in ("zh-hans", "en"):
        raise TemplateInvalidError(f"unknown language {language!r}; use zh-hans or en", field="language")
    if not name.strip():
        raise TemplateInvalidError(_("The template needs a name."), field="name")
    if not body.strip():
        raise TemplateInvalidError(_("The template text is empty."), field="body")
    if channel == Channel.EMAIL and not subject.strip():
        raise TemplateInvalidError(_("An email template needs a subject."), field="subject")
    for field_name, text in (("subject", subject), ("body", body)):
        try:
            rendering.parse(text)
        except rendering.TemplateTextError as exc:
            raise TemplateInvalidError(exc.message, field=field_name) from exc


def template_save(
    *,
    template: Template | None = None,
    channel: str,
    purpose: str,
    language: str,
    name: str,
    subject: str = "",
    body: str,
    provider_code: str = "",
) -> Template:
    """Create a template (template=None) or change one. System templates from the library cannot be changed:
    copy them (template_copy). Raises TemplateInvalidError naming the field (an unknown {variable} names it)."""
    if template is not None and template.system:
        raise TemplateInvalidError(_("System templates cannot be changed; make a copy first."), field="template")
    _template_check(channel=channel, purpose=purpose, language=language, name=name, subject=subject, body=body)
    tpl = template or Template()
    tpl.channel, tpl.purpose, tpl.language = channel, purpose, language
    tpl.name, tpl.subject, tpl.body, tpl.provider_code = (
        name.strip(),
        subject.strip(),
        body.strip(),
        provider_code.strip(),
    )
    tpl.full_clean(exclude=["key"])
    tpl.save()
    return tpl


def template_copy(*, template: Template) -> Template:
    """An editable copy of a template (typically a system one), named "… (copy)"."""
    return Template.objects.create(
        channel=template.channel,
        purpose=template.purpose,
        language=template.language,
        name=(_("%(name)s (copy)") % {"name": template.name})[:100],
        subject=template.subject,
        body=template.body,
        provider_code=template.provider_code,
    )


# --- channel settings and the contact policy -----------------------------------------------------------------


class ChannelSettingsError(ApplicationError):
    pass


def channel_config_save(
    *,
    shop_id: int | None,
    channel: str,
    provider: str,
    options: Mapping[str, str],
    secrets_new: Mapping[str, str] | None = None,
    secrets_clear: Iterable[str] = (),
    enabled: bool = True,
    rate_per_second: float | None = None,
) -> ChannelConfig:
    """Set how a shop (None: every shop without its own) sends on a channel.

    Secrets given in `secrets_new` replace the stored ones (an empty value keeps what is stored); names in
    `secrets_clear` are removed. `env:HUITOUKE_SECRET_X` stores only the reference. The settings are checked by
    building the provider's adapter: a missing required setting raises ChannelSettingsError naming it."""
    if channel not in CHANNEL_PROVIDERS:
        raise ChannelSettingsError(f"unknown channel {channel!r}", field="channel")
    if provider not in CHANNEL_PROVIDERS[channel]:
        choices = ", ".join(CHANNEL_PROVIDERS[channel])
        raise ChannelSettingsError(f"{provider!r} cannot send {channel}; choose {choices}", field="provider")
    if rate_per_second is not None and rate_per_second <= 0:
        raise ChannelSettingsError(_("The rate limit must be more than 0 (or empty for none)."), field="rate")
    adapter_cls = ADAPTERS[provider]
    known_options = {s.name for s in adapter_cls.OPTIONS}
    known_secrets = {s.name for s in adapter_cls.SECRETS}
    for name in options:
        if name not in known_options:
            raise ChannelSettingsError(f"{provider} has no setting {name!r}", field=name)
    with transaction.atomic():
        config = ChannelConfig.objects.select_for_update().filter(shop=shop_id, channel=channel).order_by().first()
        config = config or ChannelConfig(shop_id=shop_id, channel=channel)
        stored = (
            secrets_decrypt(config.secrets_encrypted)
            if config.secrets_encrypted and config.provider == provider
            else {}
        )
        for name, value in (secrets_new or {}).items():
            if name not in known_secrets:
                raise ChannelSettingsError(f"{provider} has no secret {name!r}", field=name)
            if value:
                stored[name] = value.strip()
        for name in secrets_clear:
            stored.pop(name, None)
        try:
            resolved = {name: secret_resolve(name, value) for name, value in stored.items()}
            adapter = adapter_cls(options=options, secrets=resolved)
            adapter.close()
        except ChannelConfigError as exc:
            raise ChannelSettingsError(exc.message, field=exc.setting or "options") from exc
        except ChannelSecretError as exc:
            raise ChannelSettingsError(exc.message, field=exc.field) from exc
        config.provider = provider
        config.options = {k: str(v).strip() for k, v in options.items() if str(v).strip()}
        config.secrets_encrypted = secrets_encrypt(stored)
        config.enabled = enabled
        config.rate_per_second = rate_per_second
        if channel == Channel.SMS and not config.inbound_token:
            config.inbound_token = secrets.token_urlsafe(24)
        config.full_clean(exclude=["shop"])
        config.save()
    return config


def contact_policy_save(
    *,
    shop_id: int | None,
    quiet_start: time,
    quiet_end: time,
    budget_days: int,
    budget_marketing: int,
    budget_care: int,
    marketing_requires_opt_in: bool = False,
    negative_review_days: int = 30,
) -> ContactPolicy:
    """Set a shop's (None: the default) quiet hours and contact budget. Takes effect at the next dispatch."""
    if budget_days < 1 or budget_days > 365:
        raise ApplicationError(_("The budget period is 1 to 365 days."), field="budget_days")
    for name, value in (("budget_marketing", budget_marketing), ("budget_care", budget_care)):
        if value < 0 or value > 100:
            raise ApplicationError(_("A budget is 0 to 100 messages."), field=name)
    if negative_review_days < 0 or negative_review_days > 365:
        raise ApplicationError(_("The review period is 0 to 365 days."), field="negative_review_days")
    policy = ContactPolicy.objects.filter(shop=shop_id).first() or ContactPolicy(shop_id=shop_id)
    policy.quiet_start, policy.quiet_end = quiet_start, quiet_end
    policy.budget_days, policy.budget_marketing, policy.budget_care = budget_days, budget_marketing, budget_care
    policy.marketing_requires_opt_in = marketing_requires_opt_in
    policy.negative_review_days = negative_review_days
    policy.save()
    return policy


# --- unsubscribe ---------------------------------------------------------------------------------------------

#: Message channel -> the Consent channel it asks (webhooks have none: any "no" for the purpose counts).
CONSENT_CHANNEL = {
    Channel.SMS: Consent.Channel.SMS,
    Channel.EMAIL: Consent.Channel.EMAIL,
    Channel.MANUAL: Consent.Channel.IM,
}
#: Message purpose -> the Consent purposes an unsubscribe answers "no" to.
OPT_OUT_PURPOSES = {
    Purpose.MARKETING: (Consent.Purpose.MARKETING, Consent.Purpose.NEW_PRODUCTS),
    Purpose.CARE: (Consent.Purpose.CARE,),
}
_SIGNER = signing.Signer(salt="huitouke.messaging.unsubscribe", algorithm="sha256")
_TOKEN_SIG = 12
_TOKEN = re.compile(r"^([0-9a-z]{1,13})\.([A-Za-z0-9_-]{12})$")


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def unsubscribe_token(message_id: int) -> str:
    """A short signed token for one message's unsubscribe link (fits an SMS): base-36 id + 12 signature
    characters (django.core.signing, HMAC-SHA256 with the secret key)."""
    value = _b36(message_id)
    return f"{value}.{_SIGNER.signature(value)[:_TOKEN_SIG]}"


def unsubscribe_message(*, token: str) -> Message:
    """The message a token was made for; raises NotFoundError for a token that is malformed or forged."""
    match = _TOKEN.match(token or "")
    if not match or not constant_time_compare(match.group(2), _SIGNER.signature(match.group(1))[:_TOKEN_SIG]):
        raise NotFoundError("this unsubscribe link is not valid", field="token")
    message = Message.objects.select_related("customer", "shop").filter(pk=int(match.group(1), 36)).first()
    if message is None or message.customer is None:
        raise NotFoundError("this unsubscribe link is not valid", field="token")
    return message


def customer_opt_out(*, customer: Customer, channel: str, purpose: str, source: str) -> int:
    """Record a customer's no for one channel and purpose (the Consent rows of customers) and suppress their
    messages of that kind that are still waiting (queued, held, or in the agents' task queue), so the no holds
    before the next dispatch. Returns how many waiting messages were suppressed."""
    purposes = OPT_OUT_PURPOSES.get(Purpose(purpose), OPT_OUT_PURPOSES[Purpose.MARKETING])
    consent_channel = CONSENT_CHANNEL.get(Channel(channel)) if channel in _CHANNELS else None
    channels = [consent_channel] if consent_channel else list(Consent.Channel.values)
    with transaction.atomic():
        for ch in channels:
            for p in purposes:
                consent_set(customer=customer, channel=ch, purpose=p, granted=False, source=source)
        message_purposes = [purpose] if purpose in (Purpose.MARKETING, Purpose.CARE) else [Purpose.MARKETING]
        waiting = Message.objects.filter(customer=customer, purpose__in=message_purposes).filter(
            models.Q(status__in=Message.PENDING) | models.Q(status=Message.Status.SENDING, lease_until__isnull=True)
        )
        if consent_channel:
            waiting = waiting.filter(channel=channel)
        return waiting.update(
            status=Message.Status.SUPPRESSED,
            reason=Message.Reason.OPTED_OUT,
            claimed_by="",
            updated_at=timezone.now(),
        )


def unsubscribe_by_token(*, token: str) -> Message:
    """The customer clicked the link in a message: no more messages of its purpose on its channel."""
    message = unsubscribe_message(token=token)
    assert message.customer is not None  # unsubscribe_message checked it
    purpose = message.purpose if message.purpose in (Purpose.MARKETING, Purpose.CARE) else Purpose.MARKETING
    customer_opt_out(customer=message.customer, channel=message.channel, purpose=purpose, source="unsubscribe_link")
    return message


#: Replies that mean "stop sending me marketing SMS" (compared without spaces and punctuation, any case).
OPT_OUT_REPLIES = frozenset({"T", "TD", "退订"})
_REPLY_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


def is_opt_out_reply(text: str) -> bool:
    """T, TD or 退订 (any case, surrounding spaces and punctuation ignored: " td。" counts, "TDX" does not)."""
    return _REPLY_NOISE.sub("", text or "").upper() in OPT_OUT_REPLIES


def sms_reply_receive(*, phone: str, text: str) -> int:
    """An inbound SMS reply (上行短信). T/TD/退订 opts every customer with that phone out of marketing SMS; any
    other reply goes to the registered inbound hooks (the service desk's tickets). Returns how many customers
    were opted out."""
    number = phone_normalise(phone)
    if number.startswith("86") and len(number) == 13:
        number = number[2:]
    if not number:
        return 0
    if not is_opt_out_reply(text):
        if registry.inbound_hooks and (text or "").strip():
            ids = tuple(
                Customer.objects.filter(phone=number, merged_into__isnull=True)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            if ids:
                reply = InboundReply(phone=number, text=text.strip(), customer_ids=ids)
                for hook in registry.inbound_hooks.values():
                    hook(reply)
        return 0
    customers = list(Customer.objects.filter(phone=number, merged_into__isnull=True))
    for customer in customers:
        customer_opt_out(customer=customer, channel=Channel.SMS, purpose=Purpose.MARKETING, source="sms_reply")
    return len(customers)


def inbound_token_valid(token: str) -> bool:
    """Whether `token` is the inbound token of some SMS channel setting (gateways cannot send our API tokens)."""
    if not token:
        return False
    tokens = (
        ChannelConfig.objects.filter(channel=Channel.SMS)
        .exclude(inbound_token="")
        .values_list("inbound_token", flat=True)
    )
    return any(constant_time_compare(token, t) for t in tokens)


# --- manual tasks and resending ------------------------------------------------------------------------------


def _manual_task(message_id: int) -> Message:
    message = Message.objects.select_for_update().filter(pk=message_id).first()
    if message is None:
        raise NotFoundError(f"message {message_id} not found", field="message")
    if not message.is_manual_task:
        raise ApplicationError(_("This message is not waiting in the task queue."), field="message")
    return message


def manual_task_mark_sent(*, message_id: int, actor: Any) -> Message:
    """An agent sent the text by hand (千牛/旺旺, phone): the message is sent, by them, now."""
    with transaction.atomic():
        message = _manual_task(message_id)
        now = timezone.now()
        message.status = Message.Status.SENT
        message.sent_at = now
        message.contacted_at = message.contacted_at or now
        message.claimed_by = str(getattr(actor, "username", "") or "")[:64]
        message.save(update_fields=["status", "sent_at", "contacted_at", "claimed_by", "updated_at"])
    return message


def manual_task_skip(*, message_id: int, actor: Any) -> Message:
    """An agent decided not to send a task: it ends as suppressed, reason cancelled, with who decided."""
    with transaction.atomic():
        message = _manual_task(message_id)
        message.status = Message.Status.SUPPRESSED
        message.reason = Message.Reason.CANCELLED
        message.detail = (_("Skipped by %(user)s") % {"user": getattr(actor, "username", "")})[:500]
        message.claimed_by = ""
        message.save(update_fields=["status", "reason", "detail", "claimed_by", "updated_at"])
    return message


def messages_resend(
    *,
    source_kind: str,
    source_type_id: int | None = None,
    source_id: int | None = None,
    message_ids: Sequence[int] | None = None,
    deadline: datetime | None = None,
) -> int:
    """Queue again the messages of one source (or the given ids) that failed or expired; nothing that was sent
    (or is still waiting) is touched, so nobody gets a second copy. Each comes back with its attempts reset,
    the new `deadline` (None: no deadline) and the policy checked afresh at dispatch. Returns how many."""
    if source_kind not in _KINDS:
        raise ApplicationError(f"unknown source kind {source_kind!r}", field="source_kind")
    if (source_type_id is None) != (source_id is None):
        raise ApplicationError("give both the source type and id, or neither", field="source")
    now = timezone.now()
    if deadline is not None and deadline <= now:
        raise ApplicationError(_("The new deadline must be in the future."), field="deadline")
    qs = Message.objects.filter(source_kind=source_kind, status__in=Message.RESENDABLE)
    if source_type_id is not None:
        qs = qs.filter(source_type_id=source_type_id, source_id=source_id)
    if message_ids is not None:
        qs = qs.filter(pk__in=list(message_ids))
    with transaction.atomic():
        count = qs.update(
            status=Message.Status.QUEUED,
            reason="",
            detail="",
            attempts=0,
            next_attempt_at=now,
            deadline=deadline,
            lease_until=None,
            claimed_by="",
            resends=models.F("resends") + 1,
            updated_at=now,
        )
        if count:
            for listener in _ENQUEUE_LISTENERS:
                transaction.on_commit(partial(listener, count))
    return count


def messages_merge(*, source: Customer, target: Customer) -> int:
    """Move every message of a merged customer to the one it was merged into (the send record follows)."""
    return Message.objects.filter(customer=source).update(customer=target, updated_at=timezone.now())
