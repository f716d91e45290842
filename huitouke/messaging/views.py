"""Messaging pages: the send records (filters, detail, resend), the agents' manual-task queue, templates with a
live preview, channel settings and the contact policy per shop, and the customer's unsubscribe page.

Thin: parse -> one selector/service -> render. Phones and emails go through the viewer's Masker.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from django_htmx.middleware import HtmxDetails

from huitouke.core.audit import record
from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.core.models import AuditEntry
from huitouke.core.pii import UNMASK_PERMISSION, Masker
from huitouke.core.ratelimit import public_page_limited
from huitouke.core.services import audit_unmasked
from huitouke.customers.models import Customer
from huitouke.customers.pii import phone_match
from huitouke.customers.selectors import CustomerFilter
from huitouke.customers.services import contact_search_record
from huitouke.messaging import selectors, services
from huitouke.messaging.channels import CHANNEL_PROVIDERS
from huitouke.messaging.forms import ChannelForm, PolicyForm, TemplateForm
from huitouke.messaging.inbound import UNSIGNED_PROVIDERS
from huitouke.messaging.models import Channel, ChannelConfig, Message, Purpose, Template
from huitouke.messaging.registry import task_links
from huitouke.messaging.rendering import VARIABLES
from huitouke.messaging.secrets import secrets_decrypt
from huitouke.orders.models import Shop

VIEW = "messaging.view_message"
SEND_MANUAL = "messaging.send_manual"
RESEND = "messaging.resend_message"
TEMPLATE_VIEW, TEMPLATE_CHANGE = "messaging.view_template", "messaging.change_template"
CHANNEL_CHANGE, POLICY_CHANGE = "messaging.change_channelconfig", "messaging.change_contactpolicy"

PAGE_SIZE = 50
FILTER_PARAMS = ("source_kind", "source", "channel", "status", "reason", "purpose", "date_from", "date_to", "customer")
#: sample values the template preview uses for variables the archive does not hold
SAMPLE_CONTEXT = {
    "order_no": "2024061812345678",
    "product": "明前龙井 250g",
    "amount": "168.00",
    "tracking_no": "SF1234567890",
    "carrier": "顺丰速运",
    "coupon": "满100减10元券",
    "date": "2025-06-18",
    "link": "https://example.com/tips",
}


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _masker(request: HttpRequest) -> Masker:
    return Masker(unmasked=request.user.has_perm(UNMASK_PERMISSION))


def _audit(request: HttpRequest, masker: Masker, messages: list[Message], page: str) -> None:
    """The audit entry of a page that shows addresses unmasked (none when masked or without contact data)."""
    ids = selectors.ids_with_contact_data(messages)
    audit_unmasked(actor=request.user, unmasked=masker.unmasked, target_type="message", ids=ids, page=page)


def _partial(request: HtmxHttpRequest) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


# --- manual tasks --------------------------------------------------------------------------------------------


@login_required
@permission_required(SEND_MANUAL, raise_exception=True)
@require_GET
def task_list(request: HttpRequest) -> HttpResponse:
    """Manual messages waiting for an agent: copy the text, send it in 千牛/旺旺 or by phone, mark it sent."""
    tasks = list(selectors.manual_task_list()[:200])
    masker = _masker(request)
    _audit(request, masker, tasks, "tasks")
    for task in tasks:
        task.helper_links = task_links(task, request.user)  # type: ignore[attr-defined]  # for the template only
    return render(request, "messaging/task_list.html", {"tasks": tasks, "masker": masker})


def _task_action(request: HtmxHttpRequest, pk: int, sent: bool) -> HttpResponse:
    try:
        if sent:
            message = services.manual_task_mark_sent(message_id=pk, actor=request.user)
            text = _("Marked as sent.")
        else:
            message = services.manual_task_skip(message_id=pk, actor=request.user)
            text = _("Skipped: it will not be sent.")
    except ApplicationError as exc:
        if _partial(request):
            return HttpResponse(f'<tr id="task-{pk}"><td colspan="5" class="error">{escape(exc.message)}</td></tr>')
        messages.error(request, exc.message)
        return redirect("messaging:tasks")
    if _partial(request):
        return render(request, "messaging/task_list.html#task-done", {"m": message, "text": text})
    messages.success(request, text)
    return redirect("messaging:tasks")


@login_required
@permission_required(SEND_MANUAL, raise_exception=True)
@require_POST
def task_mark_sent(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _task_action(request, pk, sent=True)


@login_required
@permission_required(SEND_MANUAL, raise_exception=True)
@require_POST
def task_skip(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _task_action(request, pk, sent=False)


# --- templates -----------------------------------------------------------------------------------------------


@login_required
@permission_required(TEMPLATE_VIEW, raise_exception=True)
@require_GET
def template_list(request: HttpRequest) -> HttpResponse:
    channel = request.GET.get("channel", "") if request.GET.get("channel") in Channel.values else ""
    purpose = request.GET.get("purpose", "") if request.GET.get("purpose") in Purpose.values else ""
    language = request.GET.get("language", "") if request.GET.get("language") in ("zh-hans", "en") else ""
    templates = list(selectors.template_list(channel=channel, purpose=purpose, language=language))
    context = {
        "templates": templates,
        "values": {"channel": channel, "purpose": purpose, "language": language},
        "channels": Channel.choices,
        "purposes": Purpose.choices,
    }
    return render(request, "messaging/template_list.html", context)


def _preview_customer(query: str, user: Any) -> tuple[Customer | None, str]:
    """The customer a preview is rendered for: by id, exact name or whole phone number; and an error to show.
    A phone lookup by someone who may not see phones is a contact search like the list's: audited and
    rate-limited (customers.services.contact_search_record), never a free oracle for guessed numbers."""
    qs = Customer.objects.filter(merged_into__isnull=True)
    if query.isdigit() and len(query) < 10:
        return qs.filter(pk=int(query)).first(), ""
    found = qs.filter(name=query).first()
    if found is not None:
        return found, ""
    try:
        contact_search_record(
            actor=user, filters=CustomerFilter(search=query, contact_prefix=user.has_perm(UNMASK_PERMISSION))
        )
    except ApplicationError as exc:
        return None, exc.message
    return qs.filter(phone_match(query)).first(), ""


def _preview_context(data: Any, user: Any) -> dict[str, Any]:
    """Preview of the text in `data` (form fields plus `customer` = id, name or phone and `shop`). Without a
    text (a read-only system template sends none: disabled fields are not submitted) the stored `template`'s."""
    template_id = str(data.get("template") or "")
    if not data.get("body") and template_id.isdigit():
        stored = Template.objects.filter(pk=int(template_id)).first()
        if stored is not None:
            data = {
                **{f: getattr(stored, f) for f in ("channel", "purpose", "language", "subject", "body")},
                "customer": data.get("customer"),
                "shop": data.get("shop"),
            }
    customer, lookup_error = None, ""
    query = str(data.get("customer") or "").strip()
    if query:
        customer, lookup_error = _preview_customer(query, user)
    shop_id = str(data.get("shop") or "")
    shop = Shop.objects.filter(pk=int(shop_id)).first() if shop_id.isdigit() else Shop.objects.order_by("pk").first()
    channel = data.get("channel") if data.get("channel") in Channel.values else Channel.SMS
    preview = selectors.template_preview(
        channel=channel,
        purpose=str(data.get("purpose") or Purpose.CARE),
        language=str(data.get("language") or "zh-hans"),
        subject=str(data.get("subject") or ""),
        body=str(data.get("body") or ""),
        customer=customer,
        shop=shop,
        context=SAMPLE_CONTEXT,
    )
    return {
        "preview": preview,
        "preview_customer": customer,
        "preview_lookup_error": lookup_error,
        "preview_query": query,
        "preview_shop": shop,
        "channel": channel,
    }


@login_required
@permission_required(TEMPLATE_VIEW, raise_exception=True)
def template_edit(request: HtmxHttpRequest, pk: int | None = None) -> HttpResponse:
    """Create or change a template; the preview beside it renders the text for a real customer (htmx, as you
    type) with the SMS length and parts. System templates are read-only: copy them."""
    template = None
    if pk is not None:
        try:
            template = selectors.template_get(template_id=pk)
        except NotFoundError as exc:
            raise Http404(exc.message) from exc
    can_change = request.user.has_perm(TEMPLATE_CHANGE) and not (template and template.system)
    initial = (
        {
            f: getattr(template, f)
            for f in ("name", "channel", "purpose", "language", "subject", "body", "provider_code")
        }
        if template
        else {"channel": Channel.SMS, "purpose": Purpose.CARE, "language": "zh-hans"}
    )
    form = TemplateForm(request.POST or None, initial=initial)
    if not can_change:
        for field in form.fields.values():
            field.disabled = True
    if request.method == "POST":
        if not can_change:
            raise PermissionDenied
        if form.is_valid():
            try:
                saved = services.template_save(template=template, **form.cleaned_data)
            except ApplicationError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, _("The template was saved."))
                return redirect("messaging:template-edit", pk=saved.pk)
    data = request.POST if request.method == "POST" else {**initial, **request.GET.dict()}
    context = {
        "template": template,
        "form": form,
        "can_change": can_change,
        "variables": VARIABLES,
        "shops": list(Shop.objects.order_by("name")),
        **_preview_context(data, request.user),
    }
    return render(request, "messaging/template_edit.html", context)


@login_required
@permission_required(TEMPLATE_VIEW, raise_exception=True)
@require_GET
def template_preview(request: HttpRequest) -> HttpResponse:
    """The preview partial for the text being edited (htmx, on every change)."""
    return render(request, "messaging/template_edit.html#preview", _preview_context(request.GET, request.user))


@login_required
@permission_required(TEMPLATE_CHANGE, raise_exception=True)
@require_POST
def template_copy(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        template = selectors.template_get(template_id=pk)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc
    copy = services.template_copy(template=template)
    messages.success(request, _("A copy was made: change it as you like."))
    return redirect("messaging:template-edit", pk=copy.pk)


# --- channel settings and policy -----------------------------------------------------------------------------


@login_required
@permission_required(CHANNEL_CHANGE, raise_exception=True)
@require_GET
def channel_settings(request: HttpRequest) -> HttpResponse:
    """Every shop (and the default for all shops) with its channel settings and contact policy."""
    configs = {(c.shop_id, c.channel): c for c in selectors.channel_config_list()}
    shops: list[Shop | None] = [None, *Shop.objects.order_by("name")]
    rows = []
    for shop in shops:
        shop_id = shop.pk if shop else None
        policy = selectors.contact_policy_get(shop_id=shop_id)
        rows.append(
            {
                "shop": shop,
                "key": shop_id or 0,
                "channels": [(ch, label, configs.get((shop_id, ch))) for ch, label in Channel.choices],
                "policy": policy,
                "own_policy": policy.pk is not None and policy.shop_id == shop_id,
                "policy_form": PolicyForm(instance=policy, prefix=f"p{shop_id or 0}"),
            }
        )
    inbound = []
    for c in configs.values():
        if c.channel != Channel.SMS:
            continue
        url = request.build_absolute_uri(reverse("api-v1:inbound_sms", args=[c.provider]))
        token_url = f"{url}?token={c.inbound_token}" if c.provider in UNSIGNED_PROVIDERS and c.inbound_token else ""
        inbound.append({"config": c, "url": url, "token_url": token_url})
    return render(request, "messaging/channel_settings.html", {"rows": rows, "inbound": inbound})


def _shop_or_404(shop_key: int) -> Shop | None:
    if shop_key == 0:
        return None
    shop = Shop.objects.filter(pk=shop_key).first()
    if shop is None:
        raise Http404("no such shop")
    return shop


@login_required
@permission_required(CHANNEL_CHANGE, raise_exception=True)
def channel_edit(request: HttpRequest, shop_key: int, channel: str) -> HttpResponse:
    """One shop's setting for one channel: provider, options, secrets (never shown back), rate limit."""
    shop = _shop_or_404(shop_key)
    if channel not in CHANNEL_PROVIDERS:
        raise Http404("no such channel")
    config = ChannelConfig.objects.filter(shop=shop, channel=channel).first()
    providers = CHANNEL_PROVIDERS[channel]
    provider = (
        request.POST.get("provider") or request.GET.get("provider") or (config.provider if config else providers[0])
    )
    if provider not in providers:
        provider = providers[0]
    stored = set(secrets_decrypt(config.secrets_encrypted)) if config and config.provider == provider else set()
    initial: dict[str, Any] = {"enabled": config.enabled if config else True}
    if config:
        initial["rate_per_second"] = config.rate_per_second
        if config.provider == provider:
            initial.update({f"opt_{k}": v for k, v in (config.options or {}).items()})
    form = ChannelForm(
        request.POST if request.method == "POST" else None, provider=provider, stored_secrets=stored, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.channel_config_save(
                shop_id=shop.pk if shop else None,
                channel=channel,
                provider=provider,
                options=form.options(),
                secrets_new=form.secrets_new(),
                secrets_clear=form.secrets_clear(),
                enabled=form.cleaned_data["enabled"],
                rate_per_second=form.cleaned_data["rate_per_second"],
            )
            record(
                actor=request.user,
                action=AuditEntry.Action.CHANNEL,
                target_type="channel",
                target_id=f"{shop.pk if shop else '*'}:{channel}",
                provider=provider,
                enabled=form.cleaned_data["enabled"],
                secrets_changed=sorted([*(k for k, v in form.secrets_new().items() if v), *form.secrets_clear()]),
            )
        except ApplicationError as exc:
            name = exc.field or ""
            target = next((f for f in (f"opt_{name}", f"secret_{name}", name) if f in form.fields), None)
            form.add_error(target, exc.message)
        else:
            messages.success(request, _("The channel settings were saved."))
            return redirect("messaging:channels")
    context = {
        "shop": shop,
        "shop_key": shop_key,
        "channel": channel,
        "channel_label": Channel(channel).label,
        "providers": [(p, ChannelConfig.Provider(p).label) for p in providers],
        "provider": provider,
        "form": form,
        "config": config,
    }
    return render(request, "messaging/channel_edit.html", context)


@login_required
@permission_required(POLICY_CHANGE, raise_exception=True)
@require_POST
def policy_edit(request: HttpRequest, shop_key: int) -> HttpResponse:
    """Save one shop's (0: the default) quiet hours and contact budget."""
    shop = _shop_or_404(shop_key)
    form = PolicyForm(request.POST, prefix=f"p{shop_key}")
    if not form.is_valid():
        messages.error(request, " ".join(str(m) for errors in form.errors.values() for m in errors))
        return redirect("messaging:channels")
    data = form.cleaned_data
    try:
        services.contact_policy_save(shop_id=shop.pk if shop else None, actor=request.user, **data)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The contact policy was saved."))
    return redirect("messaging:channels")


# --- the customer's unsubscribe page -------------------------------------------------------------------------


@public_page_limited("unsubscribe")
@csrf_exempt  # the signed token authorises it; RFC 8058 one-click POSTs come from mail providers without a cookie
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET: one button to stop these messages. POST (the button, or a mail client's one-click request with
    List-Unsubscribe=One-Click): done, effective before the next dispatch."""
    try:
        message = services.unsubscribe_message(token=token)
    except NotFoundError:
        return render(request, "messaging/unsubscribe.html", {"invalid": True}, status=404)
    done = False
    if request.method == "POST":
        services.unsubscribe_by_token(token=token)
        done = True
    context = {"m": message, "done": done, "token": token}
    return render(request, "messaging/unsubscribe.html", context)
