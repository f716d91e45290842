"""Campaign pages: list, create/edit a draft, the campaign page (preview, test send, send, pause, resume,
cancel, results with uplift and the daily chart), channel prices. Thin over services and selectors."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.contenttypes.models import ContentType
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from huitouke.campaigns import selectors, services
from huitouke.campaigns.forms import CampaignForm
from huitouke.campaigns.models import Campaign
from huitouke.campaigns.tasks import LAUNCH_JOB_KIND
from huitouke.core.audit import record
from huitouke.core.errors import ApplicationError
from huitouke.core.models import AuditEntry
from huitouke.core.services import job_submit
from huitouke.messaging.models import Channel, Message

VIEW, CHANGE = "campaigns.view_campaign", "campaigns.change_campaign"


@login_required
@permission_required(VIEW, raise_exception=True)
def campaign_list(request: HttpRequest) -> HttpResponse:
    return render(request, "campaigns/campaign_list.html", {"campaigns": selectors.campaign_list()})


def _form_page(request: HttpRequest, campaign: Campaign | None) -> HttpResponse:
    if request.method == "POST":
        form = CampaignForm(request.POST)
        if form.is_valid():
            try:
                campaign = services.campaign_save(data=form.to_input(), campaign=campaign, user=request.user)
            except ApplicationError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, _("Campaign saved as a draft. Check the preview, then send it."))
                return redirect("campaigns:detail", pk=campaign.pk)
    else:
        form = CampaignForm(initial=CampaignForm.initial_for(campaign) if campaign else None)
    return render(
        request,
        "campaigns/campaign_form.html",
        {"form": form, "campaign": campaign},
        status=400 if form.errors else 200,
    )


@login_required
@permission_required("campaigns.add_campaign", raise_exception=True)
def campaign_new(request: HttpRequest) -> HttpResponse:
    return _form_page(request, None)


@login_required
@permission_required(CHANGE, raise_exception=True)
def campaign_edit(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    if campaign.status != Campaign.Status.DRAFT:
        messages.error(request, _("Only a draft can be changed."))
        return redirect("campaigns:detail", pk=pk)
    return _form_page(request, campaign)


@login_required
@permission_required(VIEW, raise_exception=True)
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        campaign = selectors.campaign_get(pk=pk)
    except Campaign.DoesNotExist as exc:  # an id that names no campaign: 404, not a server error
        raise Http404 from exc
    context: dict[str, Any] = {"campaign": campaign}
    if campaign.launched_at is None:
        context["audience_count"] = selectors.campaign_audience_count(campaign)
        context["previews"] = selectors.campaign_preview(campaign)
        context["reach"] = selectors.campaign_reach(campaign)
        share = float(campaign.holdout_share)
        if context["audience_count"] is not None:
            context["expected_holdout"] = round(context["audience_count"] * share)
    else:
        results = selectors.campaign_results(campaign, kept=True)
        context["results"] = results
        labels = dict(Message.Reason.choices)
        context["not_sent"] = [
            (labels.get(reason, reason or "—"), n) for reason, n in sorted(results.suppressed.items())
        ]
        context["chart"] = {
            "data": [
                {"type": "bar", "name": str(_("Messaged")), "x": [str(d) for d, _t, _h in results.daily],
                 "y": [t for _d, t, _h in results.daily]},
                {"type": "bar", "name": str(_("Holdout")), "x": [str(d) for d, _t, _h in results.daily],
                 "y": [h for _d, _t, h in results.daily]},
            ],
            "layout": {"barmode": "group", "height": 260, "margin": {"l": 40, "r": 10, "t": 10, "b": 40},
                       "yaxis": {"title": str(_("customers who ordered"))}, "xaxis": {"type": "category"}},
        }  # fmt: skip
        type_id = ContentType.objects.get_for_model(Campaign).pk
        context["records_url"] = f"{reverse('messaging:list')}?source_kind=campaign&source={type_id}:{campaign.pk}"
    return render(request, "campaigns/campaign_detail.html", context)


def _action(request: HttpRequest, pk: int, act: Any, done: str) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    try:
        count = act(campaign=campaign)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done % {"count": count})
    return redirect("campaigns:detail", pk=pk)


@login_required
@permission_required(CHANGE, raise_exception=True)
@require_POST
def campaign_send(request: HttpRequest, pk: int) -> HttpResponse:
    """Launch in the background (fixing the recipients and enqueueing can take a while for a big segment)."""
    campaign = get_object_or_404(Campaign, pk=pk)
    try:
        services.campaign_launch_start(campaign=campaign)
        record(actor=request.user, action=AuditEntry.Action.CAMPAIGN, target_type="campaign", target_id=campaign.pk)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("campaigns:detail", pk=pk)
    back = reverse("campaigns:detail", args=[pk])
    job = job_submit(
        kind=LAUNCH_JOB_KIND,
        params={
            "campaign_id": campaign.pk,
            "title": _("Sending “%(name)s”") % {"name": campaign.name},
            "back": back,
            "summary_template": "campaigns/_launch_summary.html",
        },
        created_by=request.user,
    )
    return redirect("core:job", pk=job.pk)


@login_required
@permission_required(CHANGE, raise_exception=True)
@require_POST
def campaign_pause(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(request, pk, services.campaign_pause, _("Paused: %(count)s messages wait."))


@login_required
@permission_required(CHANGE, raise_exception=True)
@require_POST
def campaign_resume(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(request, pk, services.campaign_resume, _("Resumed: %(count)s messages go out again."))


@login_required
@permission_required(CHANGE, raise_exception=True)
@require_POST
def campaign_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(request, pk, services.campaign_cancel, _("Cancelled: %(count)s waiting messages will not be sent."))


@login_required
@permission_required(CHANGE, raise_exception=True)
@require_POST
def campaign_test(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    sample = selectors.campaign_sample_customer(campaign)
    if sample is None:
        messages.error(request, _("There is no customer to fill the template with yet."))
        return redirect("campaigns:detail", pk=pk)
    try:
        services.campaign_test_send(campaign=campaign, to_address=request.POST.get("to", ""), customer=sample)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Test message queued for %(to)s.") % {"to": request.POST.get("to", "")})
    return redirect("campaigns:detail", pk=pk)


@login_required
@permission_required(CHANGE, raise_exception=True)
def channel_prices(request: HttpRequest) -> HttpResponse:
    channels = [Channel.SMS, Channel.EMAIL, Channel.MANUAL]
    if request.method == "POST":
        try:
            for ch in channels:
                services.channel_price_set(channel=ch, price=request.POST.get(f"price_{ch}", "0") or "0")
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Prices saved."))
            return redirect("campaigns:prices")
    prices = selectors.price_list()
    rows = [(ch, ch.label, prices.get(ch.value)) for ch in channels]
    return render(request, "campaigns/prices.html", {"rows": rows})
