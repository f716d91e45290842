"""The public self-service help page (/help/): no login, mobile first, zh-hans by default with a language switch.

/help/ chooses the shop (straight to it when there is one), /help/s/<shop>/ finds an order by number + last four
digits of the receiving phone, /help/o/<token>/ reports a problem about that order, /help/t/<token>/ follows a
ticket (public replies only), answers it and adds photos. Every form carries CSRF; POSTs are checked for size
before their body is parsed (the views are csrf_exempt only to read the size first, then csrf_protect'ed), and
throttled per address, per order number tried and per ticket. Rules live in portal.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.core.pii import mask_phone
from huitouke.core.ratelimit import public_page_limited
from huitouke.orders.models import Order, Shop
from huitouke.service import portal
from huitouke.service.models import TicketStatus
from huitouke.service.portal_hours import service_hours
from huitouke.service.portal_photos import CleanPhoto, PhotoError, photo_clean

FORM_SLACK = 64 * 1024  # the text fields and multipart framing of a form


class IdentifyForm(forms.Form):
    order_no = forms.CharField(label=gettext_lazy("Order number"), max_length=64)
    phone_last4 = forms.RegexField(
        label=gettext_lazy("Last 4 digits of the receiving phone"),
        regex=r"^\d{4}$",
        max_length=4,
        error_messages={"invalid": gettext_lazy("Enter exactly 4 digits.")},
    )


class ReportForm(forms.Form):
    type = forms.ChoiceField(
        label=gettext_lazy("What went wrong?"), choices=portal.CUSTOMER_TYPES, widget=forms.RadioSelect
    )
    lines = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Which items?"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    description = forms.CharField(
        label=gettext_lazy("Tell us what happened"),
        max_length=portal.DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 5}),
    )

    def __init__(self, *args: Any, order: Order, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        lines = cast(forms.TypedMultipleChoiceField, self.fields["lines"])
        lines.choices = [(line.pk, f"{line.title} × {line.quantity}") for line in order.lines.all()[:50]]


class AnswerForm(forms.Form):
    body = forms.CharField(
        label=gettext_lazy("Your answer"),
        max_length=portal.ANSWER_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


def _max_photos() -> int:
    return int(settings.HUITOUKE_SELF_SERVICE_MAX_PHOTOS)


def _photo_bytes() -> int:
    return int(settings.HUITOUKE_SELF_SERVICE_PHOTO_MAX_BYTES)


def _body_too_large(request: HttpRequest) -> bool:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return True
    return length > _max_photos() * _photo_bytes() + FORM_SLACK


def _page(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    shop = context.get("shop")
    base = {
        "max_photos": _max_photos(),
        "photo_mb": f"{_photo_bytes() / (1024 * 1024):.1f}".removesuffix(".0"),
        "hours": service_hours(shop=shop) if isinstance(shop, Shop) else None,
    }
    return render(request, f"service/portal/{template}", {**base, **context}, status=status)


def _unavailable(request: HttpRequest, shop: Shop | None) -> HttpResponse:
    return _page(request, "unavailable.html", {"shop": shop})


def _invalid_link(request: HttpRequest, exc: NotFoundError) -> HttpResponse:
    return _page(request, "invalid.html", {"expired": exc.code == "expired"}, status=404)


def _throttled(request: HttpRequest, exc: portal.ThrottledError, context: dict[str, Any]) -> HttpResponse:
    response = _page(request, "throttled.html", {**context, "message": exc.message}, status=429)
    response["Retry-After"] = str(exc.wait_seconds)
    return response


def _too_large(request: HttpRequest) -> HttpResponse:
    return _page(request, "too_large.html", {}, status=413)


def _photos(request: HttpRequest, form: forms.Form) -> list[CleanPhoto] | None:
    """The uploaded photos cleaned, or None with the problem added to the form's `photos` error."""
    files = request.FILES.getlist("photos")
    if len(files) > _max_photos():
        form.add_error(None, _("At most %(n)d photos.") % {"n": _max_photos()})
        return None
    out = []
    for i, upload in enumerate(files):
        if upload.size is not None and upload.size > _photo_bytes():
            form.add_error(None, _("Photo %(n)d is larger than %(mb)s MB.") % {"n": i + 1, "mb": _mb()})
            return None
        try:
            out.append(photo_clean(content=upload.read(), index=i, max_bytes=_photo_bytes()))
        except PhotoError as exc:
            form.add_error(None, exc.message)
            return None
    return out


def _mb() -> str:
    return f"{_photo_bytes() / (1024 * 1024):.1f}".removesuffix(".0")


def _size_checked(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Refuse an oversized POST before anything parses its body, then run the view with CSRF protection."""
    protected = csrf_protect(view)

    @csrf_exempt
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "POST" and _body_too_large(request):
            return _too_large(request)
        return protected(request, *args, **kwargs)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


# --- pages ---------------------------------------------------------------------------------------------------


@public_page_limited("help")
def index(request: HttpRequest) -> HttpResponse:
    """The shop chooser; with one shop, that shop's page."""
    shops = list(Shop.objects.order_by("name")[:200])
    if len(shops) == 1:
        return redirect("help:shop", shop_id=shops[0].pk)
    if not shops:
        return _unavailable(request, None)
    return _page(request, "chooser.html", {"shops": shops})


@public_page_limited("help")
@_size_checked
def shop_page(request: HttpRequest, shop_id: int) -> HttpResponse:
    """Find an order: order number + last four digits of the receiving phone. One answer for every miss."""
    shop = get_object_or_404(Shop, pk=shop_id)
    if not portal.portal_enabled(shop):
        return _unavailable(request, shop)
    context: dict[str, Any] = {"shop": shop, "several": Shop.objects.count() > 1}
    form = IdentifyForm()
    status = 200
    if request.method == "POST":
        form = IdentifyForm(request.POST)
        try:
            portal.throttle_address(portal.client_address(request.META))
            if form.is_valid():
                order = portal.order_identify(
                    shop=shop, order_no=form.cleaned_data["order_no"], phone_last4=form.cleaned_data["phone_last4"]
                )
                if order is not None:
                    return redirect("help:order", token=portal.order_token(order))
                form.add_error(
                    None,
                    _("We could not find an order with this number and phone. Please check both and try again."),
                )
        except portal.ThrottledError as exc:
            return _throttled(request, exc, context)
        status = 400
    return _page(request, "identify.html", {**context, "form": form}, status=status)


@public_page_limited("help")
@_size_checked
def order_page(request: HttpRequest, token: str) -> HttpResponse:
    """One order: its items, its tickets, and the form to report a problem with photos."""
    try:
        order = portal.order_from_token(token)
    except NotFoundError as exc:
        return _invalid_link(request, exc)
    shop = order.shop
    if not portal.portal_enabled(shop):
        return _unavailable(request, shop)
    context: dict[str, Any] = {
        "shop": shop,
        "order": order,
        "phone": mask_phone(order.receiver_phone or order.customer.phone),
        "tickets": [
            (t, portal.ticket_token(t), portal.CUSTOMER_STATUS.get(t.status, "")) for t in portal.order_tickets(order)
        ],
        "token": token,
    }
    form = ReportForm(order=order)
    status = 200
    if request.method == "POST":
        form = ReportForm(request.POST, order=order)
        try:
            portal.throttle_address(portal.client_address(request.META))
            photos = _photos(request, form)
            if form.is_valid() and photos is not None:
                portal.throttle_hit(
                    scope="submit",
                    key=str(order.pk),
                    limit=int(settings.HUITOUKE_SELF_SERVICE_PER_ORDER_PER_HOUR),
                )
                d = form.cleaned_data
                report = portal.Report(type=d["type"], description=d["description"], line_ids=d["lines"])
                ticket = portal.portal_ticket_submit(order=order, report=report, photos=photos)
                messages.success(request, _("Thank you. Your case number is #%(number)d.") % {"number": ticket.number})
                return redirect("help:ticket", token=portal.ticket_token(ticket))
        except portal.ThrottledError as exc:
            return _throttled(request, exc, context)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        status = 400
    return _page(request, "order.html", {**context, "form": form}, status=status)


@public_page_limited("help")
@_size_checked
def ticket_page(request: HttpRequest, token: str) -> HttpResponse:
    """A ticket's status page: its state, the shop's public replies and the customer's messages, an answer box."""
    try:
        ticket = portal.ticket_from_token(token)
    except NotFoundError as exc:
        return _invalid_link(request, exc)
    if not portal.portal_enabled(ticket.shop):
        return _unavailable(request, ticket.shop)
    form = AnswerForm()
    status = 200
    context: dict[str, Any] = {"shop": ticket.shop, "ticket": ticket, "token": token}
    if request.method == "POST":
        form = AnswerForm(request.POST)
        try:
            portal.throttle_address(portal.client_address(request.META))
            photos = _photos(request, form)
            if ticket.status == TicketStatus.CLOSED:
                form.add_error(None, _("This case is closed. Please report a new problem instead."))
            elif form.is_valid() and photos is not None:
                if not form.cleaned_data["body"].strip() and not photos:
                    form.add_error("body", _("Write an answer or add a photo."))
                else:
                    portal.throttle_hit(scope="answer", key=str(ticket.pk), limit=20)
                    portal.portal_answer(ticket=ticket, body=form.cleaned_data["body"], photos=photos)
                    messages.success(request, _("Thank you, we received your answer."))
                    return redirect("help:ticket", token=token)
        except portal.ThrottledError as exc:
            return _throttled(request, exc, context)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        status = 400
    ticket.refresh_from_db()
    context.update(
        {
            "status_label": portal.CUSTOMER_STATUS.get(ticket.status, ""),
            "conversation": portal.public_conversation(ticket),
            "photos": portal.customer_photos(ticket)[:50],
            "order_token": portal.order_token(ticket.order) if ticket.order else "",
            "closed": ticket.status == TicketStatus.CLOSED,
            "form": form,
        }
    )
    return _page(request, "ticket.html", context, status=status)


@public_page_limited("help-photo", per_minute=120, burst=120)  # one ticket page shows up to 50 photos
def ticket_photo(request: HttpRequest, token: str, pk: int) -> FileResponse:
    """One of the customer's own photos on the ticket the link names (nothing else)."""
    try:
        ticket = portal.ticket_from_token(token)
    except NotFoundError as exc:
        raise Http404 from exc
    item = portal.customer_photos(ticket).filter(pk=pk).first() if portal.portal_enabled(ticket.shop) else None
    if item is None:
        raise Http404
    response = FileResponse(item.file.open("rb"), content_type=item.content_type)
    response["Cache-Control"] = "private, max-age=3600"
    response["Content-Disposition"] = f'inline; filename="{item.name}"'
    return response


# --- the shop's switch (service settings page) -----------------------------------------------------------------


@login_required
@permission_required("service.configure_service", raise_exception=True)
@require_POST
def settings_switch(request: HttpRequest) -> HttpResponse:
    """Turn the shop's self-service page on or off (a card on the service settings page)."""
    raw = request.POST.get("shop", "")
    shop = Shop.objects.filter(pk=int(raw)).first() if raw.isdigit() and len(raw) < 10 else None
    if shop is None:
        raise Http404(_("There is no such shop."))
    enabled = request.POST.get("enabled") == "on"
    portal.portal_enabled_set(shop=shop, enabled=enabled)
    if enabled:
        messages.success(request, _("The self-service help page of %(shop)s is on.") % {"shop": shop.name})
    else:
        messages.success(request, _("The self-service help page of %(shop)s is off.") % {"shop": shop.name})
    return redirect(reverse("service:settings") + f"?shop={shop.pk}")
