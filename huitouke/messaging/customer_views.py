"""The links a marketing message carries that messaging answers (the short unsubscribe link; the preferences
page belongs to `audiences`), and the 360 page's button that sends a customer their preferences link."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.core.ratelimit import public_page_limited
from huitouke.customers.models import Customer
from huitouke.messaging.models import Channel
from huitouke.messaging.services.links import preferences_link_send, unsubscribe_by_link, unsubscribe_link_read

SEND_MANUAL = "messaging.send_manual"


@public_page_limited("unsubscribe")
@csrf_exempt  # the signed token is the authority; the customer has no session here
def unsubscribe_link(request: HttpRequest, token: str) -> HttpResponse:
    """GET: one button to stop marketing on the channel the message came by; POST: done (looking never
    unsubscribes: link scanners follow links)."""
    try:
        _customer, channel = unsubscribe_link_read(token)
    except NotFoundError:
        return render(request, "messaging/unsubscribe.html", {"invalid": True}, status=404)
    done = False
    if request.method == "POST":
        unsubscribe_by_link(token=token)
        done = True
    context = {
        "m": {"shop": None, "get_channel_display": Channel(channel).label},
        "done": done,
        "action": reverse("unsubscribe-link", args=[token]),
    }
    return render(request, "messaging/unsubscribe.html", context)


@login_required
@permission_required(SEND_MANUAL, raise_exception=True)
@require_POST
def preferences_send(request: HttpRequest, pk: int) -> HttpResponse:
    """The 360 page's button: queue a service message with the customer's preferences link."""
    customer = get_object_or_404(Customer, pk=pk)
    channel = request.POST.get("channel", "")
    language = "en" if request.POST.get("language") == "en" else "zh-hans"
    try:
        message = preferences_link_send(customer=customer, channel=channel, actor=request.user, language=language)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The preferences link is on its way (message #%(id)s).") % {"id": message.pk})
    return redirect(reverse("customers:detail", args=[pk]) + "#panel-preferences_link")
