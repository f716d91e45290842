"""REST endpoints of the messaging engine: send records (list, detail), enqueue one message, resend the failed
and expired of a source, the templates, and the inbound-SMS webhook the gateways call (T/TD/退订 replies).

Thin: parse (schemas) -> check the permission -> one service/selector -> respond; addresses are masked unless
the caller may see contact data.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from huitouke.core.api import Int64, errors, masker_for, require_perms
from huitouke.core.errors import ApplicationError
from huitouke.core.pii import Masker
from huitouke.core.services import audit_unmasked
from huitouke.customers.models import Customer
from huitouke.messaging import inbound, rendering, selectors, services
from huitouke.messaging.models import Message, Template
from huitouke.messaging.schemas import (
    InboundOut,
    MessageIn,
    MessageOut,
    MessagePage,
    ResendIn,
    ResendOut,
    TemplateOut,
)

router = Router(tags=["messages"])

VIEW, ADD, RESEND = "messaging.view_message", "messaging.add_message", "messaging.resend_message"
TEMPLATE_VIEW = "messaging.view_template"
PAGE_SIZE = 100


def _audit(request: HttpRequest, masker: Masker, messages: list[Message], page: str) -> None:
    """The audit entry of a response that shows addresses unmasked (none when masked or without contact data)."""
    ids = selectors.ids_with_contact_data(messages)
    audit_unmasked(actor=request.user, unmasked=masker.unmasked, target_type="message", ids=ids, page=page)


def message_out(m: Message, masker: Masker) -> MessageOut:
    return MessageOut(
        id=m.pk,
        idempotency_key=m.idempotency_key,
        customer_id=m.customer_id,
        shop_id=m.shop_id,
        channel=m.channel,
        purpose=m.purpose,
        priority=m.priority,
        source_kind=m.source_kind,
        source_type=f"{m.source_type.app_label}.{m.source_type.model}" if m.source_type_id and m.source_type else None,
        source_id=m.source_id,
        template_id=m.template_id,
        subject=m.subject,
        body=m.body,
        to_address=masker.to_address(m.channel, m.to_address),
        status=m.status,
        reason=m.reason,
        detail=m.detail,
        attempts=m.attempts,
        scheduled_at=m.scheduled_at,
        deadline=m.deadline,
        next_attempt_at=m.next_attempt_at,
        sent_at=m.sent_at,
        provider_message_id=m.provider_message_id,
        created_at=m.created_at,
    )


@router.get("/messages", response=MessagePage, summary="Send records")
def messages_list(
    request: HttpRequest,
    source_kind: str = "",
    source: str = "",
    channel: str = "",
    status: str = "",
    reason: str = "",
    purpose: str = "",
    date_from: str = "",
    date_to: str = "",
    customer: Int64 | None = None,
    page: int = Query(1, ge=1, le=1_000_000),
) -> MessagePage:
    """Newest first, 100 per page; the same filters as the page (source is `<content type id>:<id>`)."""
    require_perms(request, VIEW)
    params: dict[str, Any] = {
        "source_kind": source_kind,
        "source": source,
        "channel": channel,
        "status": status,
        "reason": reason,
        "purpose": purpose,
        "date_from": date_from,
        "date_to": date_to,
        "customer": str(customer or ""),
    }
    filters = selectors.MessageFilter.from_params(params)
    page = max(page, 1)
    start = (page - 1) * PAGE_SIZE
    rows = list(selectors.message_list(filters=filters).select_related("source_type")[start : start + PAGE_SIZE + 1])
    rows, has_next = rows[:PAGE_SIZE], len(rows) > PAGE_SIZE
    masker = masker_for(request)
    _audit(request, masker, rows, "api_list")
    return MessagePage(items=[message_out(m, masker) for m in rows], page=page, has_next=has_next)


@router.post("/messages/resend", response=ResendOut, summary="Resend the failed and expired of a source")
def messages_resend(request: HttpRequest, payload: ResendIn) -> ResendOut:
    """Queue again the messages of a source that failed or expired; sent ones are never sent twice."""
    require_perms(request, RESEND)
    count = services.messages_resend(
        source_kind=payload.source_kind,
        source_type_id=payload.source_type_id,
        source_id=payload.source_id,
        deadline=payload.deadline,
    )
    return ResendOut(queued=count)


@router.get("/messages/{message_id}", response=MessageOut, summary="One send record")
def messages_get(request: HttpRequest, message_id: Int64) -> MessageOut:
    require_perms(request, VIEW)
    message, masker = selectors.message_get(message_id=message_id), masker_for(request)
    _audit(request, masker, [message], "api_detail")
    return message_out(message, masker)


@router.post("/messages", response={200: MessageOut, 201: MessageOut}, summary="Enqueue a message")
def messages_create(request: HttpRequest, payload: MessageIn) -> Status:
    """Enqueue one message through the engine (policy, quiet hours and budget apply at dispatch). 201 when it was
    added, 200 when the key existed (the existing record is returned)."""
    require_perms(request, ADD)
    customer = None
    if payload.customer_id is not None:
        customer = Customer.objects.filter(pk=payload.customer_id).first()
        if customer is None:
            raise ApplicationError(f"customer {payload.customer_id} not found", field="customer_id")
    existed = Message.objects.filter(idempotency_key=payload.idempotency_key).exists()
    data = payload.dict()
    data.pop("customer_id")
    template_id = data.pop("template_id")
    template = Template.objects.filter(pk=template_id).first() if template_id else None
    if template_id and template is None:
        raise ApplicationError(f"template {template_id} not found", field="template_id")
    message = services.message_enqueue(customer=customer, template=template, **data)
    masker = masker_for(request)
    _audit(request, masker, [message], "api_create")
    return Status(200 if existed else 201, message_out(message, masker))


@router.get("/message-templates", response=list[TemplateOut], summary="Message templates")
def templates_list(request: HttpRequest, channel: str = "", purpose: str = "", language: str = "") -> list[TemplateOut]:
    require_perms(request, TEMPLATE_VIEW)
    out = []
    for t in selectors.template_list(channel=channel, purpose=purpose, language=language):
        try:
            variables = list(rendering.variables_in(f"{t.subject}\n{t.body}"))
        except rendering.TemplateTextError:
            variables = []
        out.append(
            TemplateOut(
                id=t.pk,
                key=t.key,
                system=t.system,
                channel=t.channel,
                purpose=t.purpose,
                language=t.language,
                name=t.name,
                subject=t.subject,
                body=t.body,
                provider_code=t.provider_code,
                variables=variables,
            )
        )
    return out


@router.post(
    "/messages/inbound-sms/{provider}",
    auth=None,
    response=InboundOut,
    url_name="inbound_sms",
    openapi_extra=errors(400, 401, 409, 413, 429),
)
def inbound_sms(request: HttpRequest, provider: str, token: str = "") -> InboundOut:
    """Where an SMS gateway (or a relay) pushes replies (上行短信); T, TD or 退订 opts the sender out of marketing
    SMS — only as a customer of the shop(s) the SMS setting serves. Signed pushes carry X-Huitouke-Channel,
    X-Huitouke-Timestamp, X-Huitouke-Nonce and X-Huitouke-Signature (hex HMAC-SHA256 under the setting's inbound
    secret of `{timestamp}.{nonce}.{raw body}`); Aliyun and Tencent, which cannot sign, use `?token=`. At most
    100 replies and 64 KiB per push; replays are refused (409) or, per reply, counted as duplicates."""
    result = inbound.inbound_sms_receive(
        provider=provider,
        body=request.body,
        headers=request.headers,
        token=token,
        client_ip=str(request.META.get("REMOTE_ADDR", "")),
    )
    return InboundOut(
        received=result.received, opted_out=result.opted_out, duplicates=result.duplicates, stale=result.stale
    )
