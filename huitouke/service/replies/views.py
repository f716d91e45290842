"""Pages of the canned-reply library: the list with search and its management (agents keep personal replies,
managers the shop's), the picker used in the ticket reply box and on "reply to this customer" (htmx: search,
fill, fill-in fields for what the context lacks), the wording hints under a textarea, the shop's wording rules,
and the reply to a customer from the 360 page as a manual task."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import escape
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from huitouke.core.errors import ApplicationError
from huitouke.core.rows import choice_labels, excerpter, link_for
from huitouke.customers.models import Customer
from huitouke.orders.models import Order, Shop
from huitouke.service.models import Ticket, TicketType
from huitouke.service.replies import forms, selectors, services, variables, wording
from huitouke.service.replies.display import hint_texts, variable_labels
from huitouke.service.replies.models import CannedReply, ReplyCategory, ReplyImage, ReplyLanguage

AGENT, MANAGER = services.AGENT_PERM, services.MANAGER_PERM
LIST_MAX = 200
#: characters of a reply's text shown on the list (ending in an ellipsis when it is longer)
EXCERPT = 80
PICK_MAX = 30


def _int(value: Any) -> int | None:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**63 else None


def _language() -> str:
    return "en" if (get_language() or "").startswith("en") else "zh-hans"


def _reply_or_404(request: HttpRequest, pk: int) -> CannedReply:
    try:
        return selectors.reply_get(user=request.user, reply_id=pk)
    except ApplicationError as exc:
        raise Http404(exc.message) from exc


@login_required
@permission_required(AGENT, raise_exception=True)
@require_GET
def reply_list(request: HttpRequest) -> HttpResponse:
    """Every reply the user may use, searchable (substring or pinyin initials) and filtered by scenario."""
    q = request.GET.get("q", "")[:50]
    category = request.GET.get("category", "")
    qs = selectors.reply_list(
        user=request.user, q=q, category=category if category in ReplyCategory.values else ""
    ).prefetch_related("images")
    rows = list(qs[:LIST_MAX])
    # what each row shows, worked out once per page here rather than per row in the template (core.rows)
    labels = {
        "category": choice_labels(ReplyCategory.choices),
        "ticket_type": choice_labels(TicketType.choices),
        "language": choice_labels(ReplyLanguage.choices),
    }
    edit, excerpt = link_for("service:reply-edit"), excerpter(EXCERPT)
    copy = reverse("service:reply-new") + "?copy="
    for r in rows:
        r.editable = services.can_edit(r, request.user)  # type: ignore[attr-defined]
        r.labels = {field: labels[field].get(getattr(r, field), "") for field in labels}  # type: ignore[attr-defined]
        r.edit_url = edit(r.pk)  # type: ignore[attr-defined]
        r.link = r.edit_url if r.editable else f"{copy}{r.pk}"  # type: ignore[attr-defined]
        r.has_images = bool(r.images.all())  # type: ignore[attr-defined]
        r.excerpt = excerpt(r.body)  # type: ignore[attr-defined]
    context = {"replies": rows, "q": q, "category": category, "categories": ReplyCategory.choices}
    template = "service/replies/reply_list.html#reply-rows" if request.htmx else "service/replies/reply_list.html"  # type: ignore[attr-defined]
    return render(request, template, context)


def _form_context(request: HttpRequest, form: forms.CannedReplyForm, reply: CannedReply | None, **extra: Any) -> Any:
    hints: list[str] = []
    body = form["body"].value() or ""
    if body:
        shop = reply.shop if reply is not None else None
        hints = hint_texts(wording.check(str(body), selectors.wording_rules_for(shop=shop)))
    return {"form": form, "reply": reply, "hints": hints, "variables": variable_labels(), **extra}


@login_required
@permission_required(AGENT, raise_exception=True)
@require_http_methods(["GET", "POST"])
def reply_new(request: HttpRequest) -> HttpResponse:
    """A new reply; `?copy=<id>` starts from another one (how a shipped reply is adapted)."""
    managers = request.user.has_perm(MANAGER)
    if request.method == "GET":
        initial: dict[str, Any] = {"language": _language(), "scope": "personal", "category": "general"}
        source_id = _int(request.GET.get("copy"))
        if source_id:
            source = _reply_or_404(request, source_id)
            initial.update(
                title=source.title,
                body=source.body,
                category=source.category,
                ticket_type=source.ticket_type,
                language=source.language,
                shop=source.shop_id,
            )
        form = forms.CannedReplyForm(initial=initial, managers=managers)
        return render(request, "service/replies/reply_form.html", _form_context(request, form, None))
    form = forms.CannedReplyForm(request.POST, managers=managers)
    if form.is_valid():
        d = form.cleaned_data
        try:
            reply = services.canned_reply_create(
                actor=request.user,
                scope=d["scope"],
                shop=d["shop"],
                title=d["title"],
                body=d["body"],
                category=d["category"],
                language=d["language"],
                ticket_type=d["ticket_type"],
            )
        except ApplicationError as exc:
            ctx = _form_context(request, form, None, error=exc.message)
            return render(request, "service/replies/reply_form.html", ctx, status=400)
        messages.success(request, _("The reply “%(title)s” was saved.") % {"title": reply.title})
        return redirect("service:reply-edit", pk=reply.pk)
    return render(request, "service/replies/reply_form.html", _form_context(request, form, None), status=400)


@login_required
@permission_required(AGENT, raise_exception=True)
@require_http_methods(["GET", "POST"])
def reply_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a reply (its owner, or managers for the shop's) and its pictures; others see it read-only."""
    reply = _reply_or_404(request, pk)
    editable = services.can_edit(reply, request.user)
    if request.method == "GET" or not editable:
        initial = {f: getattr(reply, f) for f in ("title", "body", "category", "ticket_type", "language")}
        form = forms.CannedReplyForm(initial=initial, editing=True)
        status = 200 if request.method == "GET" else 403
        return render(
            request,
            "service/replies/reply_form.html",
            _form_context(request, form, reply, editable=editable),
            status=status,
        )
    form = forms.CannedReplyForm(request.POST, editing=True)
    if form.is_valid():
        d = form.cleaned_data
        try:
            services.canned_reply_update(
                reply=reply,
                actor=request.user,
                title=d["title"],
                body=d["body"],
                category=d["category"],
                language=d["language"],
                ticket_type=d["ticket_type"],
            )
        except ApplicationError as exc:
            ctx = _form_context(request, form, reply, editable=True, error=exc.message)
            return render(request, "service/replies/reply_form.html", ctx, status=400)
        messages.success(request, _("The reply “%(title)s” was saved.") % {"title": reply.title})
        return redirect("service:reply-edit", pk=reply.pk)
    ctx = _form_context(request, form, reply, editable=True)
    return render(request, "service/replies/reply_form.html", ctx, status=400)


@login_required
@permission_required(AGENT, raise_exception=True)
@require_POST
def reply_delete(request: HttpRequest, pk: int) -> HttpResponse:
    reply = _reply_or_404(request, pk)
    try:
        services.canned_reply_delete(reply=reply, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("service:reply-edit", pk=pk)
    messages.success(request, _("The reply “%(title)s” was deleted.") % {"title": reply.title})
    return redirect("service:replies")


@login_required
@permission_required(AGENT, raise_exception=True)
@require_POST
def reply_image_add(request: HttpRequest, pk: int) -> HttpResponse:
    reply = _reply_or_404(request, pk)
    upload = request.FILES.get("image")
    if upload is None:
        messages.error(request, _("Choose a picture to upload."))
        return redirect("service:reply-edit", pk=pk)
    limit = services.image_max_bytes()
    content = upload.read(limit + 1)  # never more than the limit and one byte into memory
    try:
        services.reply_image_add(reply=reply, actor=request.user, name=upload.name or "", content=content)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The picture was added."))
    return redirect("service:reply-edit", pk=pk)


def _image_or_404(request: HttpRequest, pk: int) -> ReplyImage:
    image = ReplyImage.objects.select_related("reply").filter(pk=pk).first()
    if image is None or not selectors.visible_replies(user=request.user).filter(pk=image.reply_id).exists():
        raise Http404("no such picture")
    return image


@login_required
@permission_required(AGENT, raise_exception=True)
@require_POST
def reply_image_delete(request: HttpRequest, pk: int) -> HttpResponse:
    image = _image_or_404(request, pk)
    try:
        services.reply_image_delete(image=image, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("service:reply-edit", pk=image.reply_id)


@login_required
@permission_required(AGENT, raise_exception=True)
@require_GET
def reply_image(request: HttpRequest, pk: int) -> FileResponse:
    """A reply's picture, only for users who may use the reply; served with its sniffed type."""
    image = _image_or_404(request, pk)
    response = FileResponse(image.file.open("rb"), content_type=image.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = f'inline; filename="{image.pk}"'
    return response


def _target(request: HttpRequest, data: Any) -> selectors.ReplyTarget:
    return selectors.reply_target(
        ticket_id=_int(data.get("ticket")),
        customer_id=_int(data.get("customer")),
        order_no=(data.get("order_no") or "")[:64] or None,
    )


@login_required
@permission_required(AGENT, raise_exception=True)
@require_GET
def picker(request: HttpRequest) -> HttpResponse:
    """The picker's list (htmx): replies for the ticket's shop and type, in the page's language first."""
    try:
        target = _target(request, request.GET)
    except ApplicationError as exc:
        return HttpResponse(exc.message, status=400)
    ticket_type = target.ticket.type if target.ticket is not None else ""
    q = request.GET.get("q", "")[:50]
    qs = selectors.reply_list(user=request.user, q=q, shop=target.shop, ticket_type=ticket_type)
    language = request.GET.get("language") or _language()  # "all": both languages
    if language in ("zh-hans", "en"):
        qs = qs.filter(language=language)
    rows = list(qs.prefetch_related("images")[:PICK_MAX])
    return render(
        request,
        "service/replies/_picker.html#picker-list",
        {"replies": rows, "q": q, "params": request.GET, "target": target},
    )


@login_required
@permission_required(AGENT, raise_exception=True)
@require_POST
def reply_use(request: HttpRequest, pk: int) -> HttpResponse:
    """Fill a reply for the ticket/customer/order now. Complete: the text to insert (and a use counted). A
    variable the context lacks: fill-in fields naming it; the agent types it in or picks another reply."""
    reply = _reply_or_404(request, pk)
    try:
        target = _target(request, request.POST)
        values = {
            v: request.POST.get(f"value_{v}", "") for v in variables.REPLY_VARIABLES if f"value_{v}" in request.POST
        }
        filled = services.canned_reply_use(reply=reply, target=target, agent=request.user, values=values)
    except ApplicationError as exc:
        return render(
            request, "service/replies/_picker.html#picker-result", {"error": exc.message, "reply": reply}, status=400
        )
    labels = dict(variable_labels())
    return render(
        request,
        "service/replies/_picker.html#picker-result",
        {
            "reply": reply,
            "filled": filled,
            "missing": [(v, labels.get(v, v), request.POST.get(f"value_{v}", "")) for v in filled.missing],
            "params": request.POST,
            "images": list(reply.images.all()),
            "ticket_id": _int(request.POST.get("ticket")),
        },
    )


@login_required
@permission_required(AGENT, raise_exception=True)
@require_POST
def reply_images_attach(request: HttpRequest, pk: int) -> HttpResponse:
    """The reply's pictures onto the ticket (htmx from the picker): they join the ticket's attachments."""
    reply = _reply_or_404(request, pk)
    ticket = Ticket.objects.filter(pk=_int(request.POST.get("ticket")) or 0).first()
    if ticket is None:
        return HttpResponse(_("No such ticket."), status=404)
    try:
        count = services.reply_images_attach(reply=reply, ticket=ticket, actor=request.user)
    except ApplicationError as exc:
        return HttpResponse(exc.message, status=400)
    text = ngettext(
        "%(count)s picture was added to the ticket's attachments.",
        "%(count)s pictures were added to the ticket's attachments.",
        count,
    ) % {"count": count}
    return HttpResponse(f'<span class="small" role="status">{escape(text)}</span>')


@login_required
@permission_required(AGENT, raise_exception=True)
@require_POST
def wording_hints(request: HttpRequest) -> HttpResponse:
    """The wording hints for the text being written (htmx, under the textarea). Never blocks anything."""
    text = request.POST.get("body", "")[:5000]
    shop = Shop.objects.filter(pk=_int(request.POST.get("shop")) or 0).first()
    hints = hint_texts(wording.check(text, selectors.wording_rules_for(shop=shop)))
    return render(request, "service/replies/_hints.html", {"hints": hints})


@login_required
@permission_required(MANAGER, raise_exception=True)
@require_http_methods(["GET", "POST"])
def wording_settings(request: HttpRequest) -> HttpResponse:
    """A shop's wording rules (managers): greeting, banned words, SMS length."""
    shops = list(Shop.objects.order_by("name"))
    shop = next((s for s in shops if s.pk == _int(request.GET.get("shop") or request.POST.get("shop"))), None)
    shop = shop or (shops[0] if shops else None)
    rules = selectors.wording_rules_for(shop=shop)
    initial = {
        "enabled": rules.enabled,
        "greeting": rules.greeting,
        "banned": wording.banned_to_text(rules.banned),
        "sms_limit": rules.sms_limit,
    }
    form = forms.WordingRulesForm(request.POST or None, initial=initial)
    error = ""
    if request.method == "POST" and shop is not None and form.is_valid():
        d = form.cleaned_data
        try:
            services.wording_rules_set(
                shop=shop,
                actor=request.user,
                enabled=d["enabled"],
                greeting=d["greeting"],
                banned=d["banned"],
                sms_limit=d["sms_limit"],
            )
        except ApplicationError as exc:
            error = exc.message
        else:
            messages.success(request, _("The wording rules of %(shop)s were saved.") % {"shop": shop.name})
            return redirect(reverse("service:wording-settings") + f"?shop={shop.pk}")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "service/replies/wording_settings.html",
        {"form": form, "shops": shops, "shop": shop, "error": error},
        status=status,
    )


@login_required
@permission_required(AGENT, raise_exception=True)
@require_http_methods(["GET", "POST"])
def compose(request: HttpRequest) -> HttpResponse:
    """ "Reply to this customer" (from the 360 page): pick or write a reply about one of their orders and put it
    in the manual task queue, to be sent by hand in Qianniu/Wangwang; the text can be copied at once."""
    data = request.POST if request.method == "POST" else request.GET
    customer = Customer.objects.filter(pk=_int(data.get("customer")) or 0).first()
    if customer is None:
        raise Http404("no such customer")
    orders = list(Order.objects.filter(customer=customer).select_related("shop").order_by("-ordered_at", "-id")[:20])
    order_no = data.get("order_no", orders[0].order_no if orders else "")
    order = next((o for o in orders if o.order_no == order_no), None)
    shop = order.shop if order else None
    error = ""
    if request.method == "POST":
        try:
            services.reply_task_create(
                customer=customer, shop=shop, body=request.POST.get("body", ""), actor=request.user
            )
        except ApplicationError as exc:
            error = exc.message
        else:
            messages.success(request, _("The reply is in the manual task queue: send it in Qianniu/Wangwang."))
            return redirect("customers:detail", pk=customer.pk)
    return render(
        request,
        "service/replies/compose.html",
        {
            "customer": customer,
            "orders": orders,
            "order": order,
            "shop": shop,
            "body": request.POST.get("body", ""),
            "error": error,
        },
        status=400 if error else 200,
    )
