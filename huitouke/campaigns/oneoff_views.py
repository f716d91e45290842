"""The customer list's "send a message" bulk action: compose (template, type, shop, values), preview (the message
for one picked customer, masked per role, and what the contact policy lets through), send (a one-off campaign
launched in the background; the job page shows its progress). Thin over campaigns.oneoff."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from huitouke.campaigns import oneoff
from huitouke.campaigns.forms import IdList
from huitouke.campaigns.models import Campaign
from huitouke.campaigns.tasks import LAUNCH_JOB_KIND
from huitouke.core.errors import ApplicationError
from huitouke.core.models import AuditEntry
from huitouke.core.pii import UNMASK_PERMISSION, Masker
from huitouke.core.services import audit_log, job_submit
from huitouke.customers.models import Customer
from huitouke.messaging.models import Channel, Message, Template
from huitouke.orders.models import Shop

#: Who may send marketing to picked customers: those who may create and launch campaigns (owner, manager,
#: marketer; agents may not).
PERMISSIONS = ("campaigns.add_campaign", "campaigns.change_campaign")


class OneOffForm(forms.Form):
    template = forms.ModelChoiceField(
        label=gettext_lazy("Message template"),
        queryset=Template.objects.filter(purpose="marketing").order_by("channel", "name"),
        required=False,
    )
    kind = forms.ChoiceField(label=gettext_lazy("Type"), choices=Campaign.Kind.choices, initial="announcement")
    shop = forms.ModelChoiceField(
        label=gettext_lazy("Shop (its contact rules and signature apply)"),
        queryset=Shop.objects.order_by("name"),
        required=False,
    )
    name = forms.CharField(label=gettext_lazy("Name in the campaign list (optional)"), max_length=100, required=False)
    product = forms.CharField(label=gettext_lazy("Product ({product})"), max_length=100, required=False)
    coupon = forms.CharField(label=gettext_lazy("Coupon ({coupon})"), max_length=100, required=False)
    link = forms.CharField(label=gettext_lazy("Link ({link})"), max_length=200, required=False)

    def to_input(self) -> oneoff.OneOffInput:
        d: dict[str, Any] = self.cleaned_data
        return oneoff.OneOffInput(
            template_id=d["template"].pk if d["template"] else None,
            kind=d["kind"],
            shop_id=d["shop"].pk if d["shop"] else None,
            name=d["name"],
            context={k: d[k] for k in ("product", "coupon", "link") if d.get(k)},
        )


def _selection(post: QueryDict) -> dict[str, Any]:
    """What the list posted: every match of its filters (scope=all, the `query` string) or the ticked ids."""
    if post.get("scope") == "all":
        query = QueryDict(post.get("query", "")[:2000])
        return oneoff.one_off_selection(ids=[], filters={k: query.get(k, "") for k in query})
    ids = IdList().clean(post.getlist("ids"))
    return oneoff.one_off_selection(ids=ids, filters=None)


def _masked_body(text: str, customer: Customer, masker: Masker) -> str:
    """The rendered text with the customer's contact data (phone, email, handles that are one) masked, should a
    template or a value have put it there."""
    if masker.unmasked or not text:
        return text
    values = [customer.phone, customer.email, *[i.handle for i in customer.identities.all()]]
    for value in sorted({v for v in values if v and len(v) >= 5}, key=len, reverse=True):
        text = text.replace(value, masker.identifier(value))
    return text


def _address(customer: Customer, channel: str, masker: Masker) -> str:
    if channel == Channel.SMS:
        return masker.to_address(channel, customer.phone)
    if channel == Channel.EMAIL:
        return masker.to_address(channel, customer.email)
    return masker.identifier(customer.name)


@login_required
@permission_required(PERMISSIONS, raise_exception=True)
@require_POST
def one_off_send(request: HttpRequest) -> HttpResponse:
    """Step by step on one URL: the list's post shows the form; `step=preview` the preview; `step=send` starts the
    send and goes to the job's progress page."""
    post = request.POST
    query = post.get("query", "")[:2000]
    back = f"{reverse('customers:list')}?{query}" if query else reverse("customers:list")
    step = post.get("step", "")
    context: dict[str, Any] = {"back": back, "query": query, "scope": post.get("scope", ""), "step": step}
    try:
        selection = _selection(post)
    except (ApplicationError, forms.ValidationError) as exc:
        message = exc.message if isinstance(exc, ApplicationError) else " ".join(exc.messages)
        return render(request, "campaigns/one_off.html", {**context, "fatal": message}, status=400)
    context["ids"] = selection.get("ids", [])
    form = OneOffForm(post if step else None)
    context["form"] = form
    if not step or not form.is_valid():
        return render(request, "campaigns/one_off.html", context, status=400 if form.errors else 200)
    data = form.to_input()
    try:
        if step == "send":
            campaign = oneoff.campaign_one_off_create(selection=selection, data=data, user=request.user)
            job = job_submit(
                kind=LAUNCH_JOB_KIND,
                params={
                    "campaign_id": campaign.pk,
                    "title": _("Sending “%(name)s”") % {"name": campaign.name},
                    "back": reverse("campaigns:detail", args=[campaign.pk]),
                    "summary_template": "campaigns/_launch_summary.html",
                },
                created_by=request.user,
            )
            return redirect("core:job", pk=job.pk)
        preview = oneoff.one_off_preview(selection=selection, data=data)
    except ApplicationError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return render(request, "campaigns/one_off.html", context, status=400)
    masker = Masker(unmasked=request.user.has_perm(UNMASK_PERMISSION))
    sample = preview.sample
    if sample is not None and masker.unmasked:
        audit_log(actor=request.user, action=AuditEntry.Action.UNMASK, target_type="customer", target_id=sample.pk)
    labels = dict(Message.Reason.choices)
    context.update(
        {
            "preview": preview,
            "not_sent": [(labels.get(r, r), n) for r, n in preview.forecast.suppressed.items()],
            "sample_name": masker.identifier(sample.name) if sample else "",
            "sample_address": _address(sample, preview.template.channel, masker) if sample else "",
            "sample_body": _masked_body(preview.preview.body, sample, masker) if sample and preview.preview else "",
            "sample_subject": _masked_body(preview.preview.subject, sample, masker)
            if sample and preview.preview
            else "",
        }
    )
    return render(request, "campaigns/one_off.html", context)
