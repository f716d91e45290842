"""Writes of the canned-reply library: replies (create, change, delete, use), their pictures, a shop's wording
rules, the starter library, and "reply to this customer" as a manual task for Qianniu/Wangwang.

Who may do what: every agent (service.change_ticket) keeps personal replies; shop replies are the managers'
(service.configure_service); the shipped ones are read-only (copy one to change it)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from huitouke.core.audit import record
from huitouke.core.errors import ApplicationError, PermissionDeniedError
from huitouke.core.models import AuditEntry
from huitouke.customers.models import Customer
from huitouke.messaging.models import Channel, Message, Purpose, SourceKind
from huitouke.messaging.services import SourceRef, message_enqueue
from huitouke.orders.models import Shop
from huitouke.service.models import TicketType
from huitouke.service.replies import variables, wording
from huitouke.service.replies.models import CannedReply, ReplyCategory, ReplyImage, ReplyLanguage, WordingRules
from huitouke.service.replies.search import initials
from huitouke.service.replies.selectors import ReplyTarget, reply_context
from huitouke.service.replies.starter import STARTERS
from huitouke.service.services.attachments import _clean_name, sniff

AGENT_PERM, MANAGER_PERM = "service.change_ticket", "service.configure_service"
TITLE_MAX, BODY_MAX = 100, 2000
IMAGES_MAX = 4
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
SCOPES = ("personal", "shop")


def image_max_bytes() -> int:
    return int(getattr(settings, "HUITOUKE_REPLY_IMAGE_MAX_BYTES", 2 * 1024 * 1024))


def can_edit(reply: CannedReply, user: Any) -> bool:
    """Personal replies: their owner; shop replies: managers; shipped ones: nobody."""
    if reply.owner_id:
        return bool(reply.owner_id == user.pk and user.has_perm(AGENT_PERM))
    return bool(reply.shop_id and user.has_perm(MANAGER_PERM))


def _check_scope(actor: Any, scope: str, shop: Shop | None) -> None:
    if scope not in SCOPES:
        raise ApplicationError(f"scope: unknown value {scope!r}; use personal or shop", field="scope")
    if scope == "shop":
        if not actor.has_perm(MANAGER_PERM):
            raise PermissionDeniedError("only managers keep the shop's replies; save it as a personal one")
        if shop is None:
            raise ApplicationError("a shop reply needs its shop", field="shop")
    elif not actor.has_perm(AGENT_PERM):
        raise PermissionDeniedError(f"you lack the permission {AGENT_PERM}")


def _clean_fields(*, language: str, category: str, ticket_type: str, title: str, body: str) -> dict[str, str]:
    title, body = (title or "").strip(), (body or "").strip()
    if not title:
        raise ApplicationError("title: required", field="title")
    if len(title) > TITLE_MAX:
        raise ApplicationError(f"title: at most {TITLE_MAX} characters", field="title")
    if not body:
        raise ApplicationError("body: required", field="body")
    if len(body) > BODY_MAX:
        raise ApplicationError(f"body: at most {BODY_MAX} characters", field="body")
    try:
        variables.variables_of(body)
    except variables.TemplateTextError as exc:
        raise ApplicationError(f"body: {exc.message}", field="body") from exc
    if language not in ReplyLanguage.values:
        raise ApplicationError(f"language: unknown value {language!r}", field="language")
    if category not in ReplyCategory.values:
        raise ApplicationError(f"category: unknown value {category!r}", field="category")
    if ticket_type and ticket_type not in TicketType.values:
        raise ApplicationError(f"ticket_type: unknown value {ticket_type!r}", field="ticket_type")
    return {
        "language": language,
        "category": category,
        "ticket_type": ticket_type,
        "title": title,
        "body": body,
        "initials": initials(title),
    }


def canned_reply_create(
    *,
    actor: Any,
    scope: str,
    title: str,
    body: str,
    category: str,
    language: str = "zh-hans",
    ticket_type: str = "",
    shop: Shop | None = None,
) -> CannedReply:
    """A personal reply (scope "personal", optionally for one shop) or a shop reply (managers). The text may use
    only the library's variables; a stray brace or unknown variable is refused naming its position."""
    _check_scope(actor, scope, shop)
    fields = _clean_fields(language=language, category=category, ticket_type=ticket_type, title=title, body=body)
    owner = actor if scope == "personal" else None
    reply = CannedReply(shop=shop, owner=owner, **fields)
    reply.full_clean()
    reply.save()
    return reply


def canned_reply_update(
    *,
    reply: CannedReply,
    actor: Any,
    title: str,
    body: str,
    category: str,
    language: str,
    ticket_type: str = "",
) -> CannedReply:
    """Change a reply the actor may edit (see `can_edit`); usage counts stay."""
    if not can_edit(reply, actor):
        raise PermissionDeniedError("you may not change this reply; copy it to your own replies instead")
    fields = _clean_fields(language=language, category=category, ticket_type=ticket_type, title=title, body=body)
    for name, value in fields.items():
        setattr(reply, name, value)
    reply.full_clean()
    reply.save(update_fields=[*fields, "updated_at"])
    return reply


def canned_reply_delete(*, reply: CannedReply, actor: Any) -> None:
    """Delete a reply the actor may edit, with its pictures (files too, after the commit)."""
    if not can_edit(reply, actor):
        raise PermissionDeniedError("you may not delete this reply")
    names = [(img.file.storage, img.file.name) for img in reply.images.all() if img.file.name]
    with transaction.atomic():
        record(actor=actor, action=AuditEntry.Action.DELETE, target_type="canned_reply", target_id=reply.pk)
        reply.delete()
        transaction.on_commit(lambda: _delete_files(names))


def canned_reply_use(
    *,
    reply: CannedReply,
    target: ReplyTarget,
    agent: Any,
    values: Mapping[str, str] | None = None,
) -> variables.Filled:
    """Fill the reply for `target` from the live context (read now) and what the agent typed. A complete text
    counts one use (usage_count + 1, last_used now); a reply with a variable left blank is refused (no text,
    `missing` names it) and not counted. Typed values: library variables only, each at most VALUE_MAX long."""
    typed: dict[str, str] = {}
    for key, value in (values or {}).items():
        if key not in variables.REPLY_VARIABLES:
            raise ApplicationError(
                f"values: unknown variable {key!r}; use one of {', '.join(variables.REPLY_VARIABLES)}",
                field=f"values.{key}"[:100],
            )
        text = str(value if value is not None else "")
        if len(text) > variables.VALUE_MAX:
            raise ApplicationError(f"values.{key}: at most {variables.VALUE_MAX} characters", field=f"values.{key}")
        typed[key] = text
    context = reply_context(target=target, agent=agent, language=reply.language)
    filled = variables.fill(reply.body, context, typed)
    if filled.text is not None:
        CannedReply.objects.filter(pk=reply.pk).update(usage_count=F("usage_count") + 1, last_used=timezone.now())
    return filled


def _delete_files(names: list[tuple[Any, str]]) -> None:
    for storage, name in names:
        storage.delete(name)


def reply_image_add(*, reply: CannedReply, actor: Any, name: str, content: bytes) -> ReplyImage:
    """Attach a picture to a reply the actor may edit: JPEG, PNG, GIF or WebP by its bytes, at most
    HUITOUKE_REPLY_IMAGE_MAX_BYTES (2 MB by default), at most IMAGES_MAX per reply."""
    if not can_edit(reply, actor):
        raise PermissionDeniedError("you may not change this reply")
    limit = image_max_bytes()
    if not content:
        raise ApplicationError("image: the file is empty", field="image")
    if len(content) > limit:
        raise ApplicationError(f"image: larger than {limit // 1024} KB", field="image")
    kind = sniff(content[:512])
    if kind not in IMAGE_TYPES:
        raise ApplicationError("image: only JPEG, PNG, GIF or WebP pictures are accepted", field="image")
    clean = _clean_name(name)
    image = ReplyImage(reply=reply, name=clean, content_type=kind, size=len(content))
    try:
        with transaction.atomic():
            CannedReply.objects.select_for_update().filter(pk=reply.pk).first()
            if reply.images.count() >= IMAGES_MAX:
                raise ApplicationError(f"image: a reply holds at most {IMAGES_MAX} pictures", field="image")
            image.file.save(clean, ContentFile(content), save=False)
            image.save()
    except BaseException:
        if image.file.name:
            image.file.storage.delete(image.file.name)
        raise
    return image


def reply_images_attach(*, reply: CannedReply, ticket: Any, actor: Any) -> int:
    """Put the reply's pictures on the ticket as attachments (to send with the reply in Qianniu/Wangwang and keep
    with the case); returns how many. Each goes through the ticket's own attachment checks."""
    from huitouke.service.services.attachments import attachment_add

    if not actor.has_perm(AGENT_PERM):
        raise PermissionDeniedError(f"you lack the permission {AGENT_PERM}")
    count = 0
    for image in reply.images.all():
        with image.file.open("rb") as handle:
            content = handle.read(image_max_bytes() + 1)
        attachment_add(ticket=ticket, name=image.name, content=content, actor=actor)
        count += 1
    return count


def reply_image_delete(*, image: ReplyImage, actor: Any) -> None:
    if not can_edit(image.reply, actor):
        raise PermissionDeniedError("you may not change this reply")
    storage, name = image.file.storage, image.file.name
    with transaction.atomic():
        record(actor=actor, action=AuditEntry.Action.DELETE, target_type="reply_image", target_id=image.pk)
        image.delete()
        if name:
            transaction.on_commit(lambda: storage.delete(name))


def wording_rules_set(
    *, shop: Shop, actor: Any, enabled: bool, greeting: str, banned: str | list[str], sms_limit: int
) -> WordingRules:
    """A shop's wording check (managers). `banned` as a list or as text separated by commas/、/lines."""
    if not actor.has_perm(MANAGER_PERM):
        raise PermissionDeniedError(f"you lack the permission {MANAGER_PERM}")
    words = wording.banned_from_text(banned) if isinstance(banned, str) else wording.banned_from_text("\n".join(banned))
    if any(len(w) > 20 for w in words):
        raise ApplicationError("banned: a word may have at most 20 characters", field="banned")
    if not 0 <= sms_limit <= 1000:
        raise ApplicationError("sms_limit: between 0 (off) and 1000", field="sms_limit")
    greeting = (greeting or "").strip()
    if len(greeting) > 20:
        raise ApplicationError("greeting: at most 20 characters", field="greeting")
    rules, _ = WordingRules.objects.update_or_create(
        shop=shop,
        defaults={"enabled": enabled, "greeting": greeting, "banned": list(words), "sms_limit": sms_limit},
    )
    return rules


def replies_starter_load(**kwargs: Any) -> int:
    """Create the shipped replies that are missing and bring the others to the library's text (they are not
    editable); returns how many rows were written. Runs after every migrate."""
    written = 0
    with transaction.atomic():
        existing = {(r.key, r.language): r for r in CannedReply.objects.filter(shop__isnull=True, owner__isnull=True)}
        for s in STARTERS:
            for language, title, body in (("zh-hans", s.zh_title, s.zh), ("en", s.en_title, s.en)):
                want = {
                    "category": s.category,
                    "ticket_type": s.ticket_type,
                    "title": title,
                    "body": body,
                    "initials": initials(title),
                }
                row = existing.get((s.key, language))
                if row is None:
                    CannedReply.objects.create(key=s.key, language=language, **want)
                    written += 1
                elif any(getattr(row, k) != v for k, v in want.items()):
                    for k, v in want.items():
                        setattr(row, k, v)
                    row.save(update_fields=[*want, "updated_at"])
                    written += 1
    return written


def reply_task_create(*, customer: Customer, shop: Shop | None, body: str, actor: Any) -> Message:
    """ "Reply to this customer" from the 360 page: a manual task (purpose service) with the text, for an agent to
    send by hand in Qianniu/Wangwang; it appears in the manual task queue. Refused while a library variable is
    still a {placeholder} in the text."""
    if not actor.has_perm(AGENT_PERM):
        raise PermissionDeniedError(f"you lack the permission {AGENT_PERM}")
    text = (body or "").strip()
    if not text:
        raise ApplicationError("body: required", field="body")
    if len(text) > BODY_MAX:
        raise ApplicationError(f"body: at most {BODY_MAX} characters", field="body")
    left = variables.placeholders_left(text)
    if left:
        raise ApplicationError(f"body: fill in {{{left[0]}}} before sending", field="body")
    return message_enqueue(
        idempotency_key=f"service:canned:{uuid.uuid4().hex}",
        channel=Channel.MANUAL,
        purpose=Purpose.SERVICE,
        customer=customer,
        shop_id=shop.pk if shop else None,
        source=SourceRef.of(SourceKind.MANUAL),
        body=text,
        scheduled_at=timezone.now(),
    )
