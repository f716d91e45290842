"""One review's page (its credit explained, its events, the negative-review case with a suggested explanation
and the outcome) and the form that enters a review by hand."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from huitouke.core.errors import ApplicationError
from huitouke.core.models import AuditEntry
from huitouke.core.pii import UNMASK_PERMISSION, Masker
from huitouke.core.services import audit_log
from huitouke.reviews.credit import Entry
from huitouke.reviews.crediting import review_credit_entry
from huitouke.reviews.forms import ExplainForm, OutcomeForm, ReviewEntryForm
from huitouke.reviews.models import Result, Review, ReviewCase
from huitouke.reviews.registry import ExplanationRequest, explanation_suggestions
from huitouke.reviews.services import review_explain, review_save
from huitouke.reviews.views import REASON_LABELS


def credit_sentence(review: Review, entry: Entry | None) -> str:
    """What this review does to the shop's credit, in words, with the numbers behind a reason."""
    word = str(dict(Result.choices)[review.result]).lower()
    if review.role != "buyer":
        return str(REASON_LABELS["rates_buyer"])
    if entry is None:
        return _("Not in the ledger yet (rated after now).")
    if entry.scores:
        if entry.points < 0:
            return _("This %(rating)s rating costs the shop 1 point.") % {"rating": word}
        if entry.points > 0:
            return _("This %(rating)s rating adds 1 point to the shop's score.") % {"rating": word}
        return _("This %(rating)s rating counts, with 0 points.") % {"rating": word}
    if entry.reason == "monthly_cap":
        return _(
            "This %(rating)s rating does not count: this buyer's ratings of trades created in %(month)s already "
            "stood at %(net)+d points, the monthly cap."
        ) % {"rating": word, "month": entry.month, "net": entry.pair_month_net or 0}
    if entry.reason == "same_item_14_days" and entry.merged_into:
        return _(
            "This %(rating)s rating does not count: the same buyer's %(rating)s rating of the same item in the "
            "same window (review %(other)s) already counted."
        ) % {"rating": word, "other": entry.merged_into}
    label = REASON_LABELS.get(entry.reason or "", entry.reason or "")
    return _("This %(rating)s rating does not count: %(reason)s.") % {"rating": word, "reason": label}


@login_required
@permission_required("reviews.view_review", raise_exception=True)
def review_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The review, what it does to the credit and why, its history; for a negative review the case: suggested
    explanations from the canned replies, the explanation form (POST) and the outcome."""
    review = Review.objects.select_related("shop", "customer", "order").filter(pk=pk).first()
    if review is None:
        raise Http404("no such review")
    form = ExplainForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("reviews.change_review"):
            raise Http404("no such review")
        if form.is_valid():
            try:
                review_explain(review=review, text=form.cleaned_data["text"])
            except ApplicationError as exc:
                form.add_error("text", exc.message)
            else:
                messages.success(request, _("The explanation was saved."))
                return redirect("reviews:detail", pk=review.pk)
    masker = Masker(unmasked=request.user.has_perm(UNMASK_PERMISSION))
    if masker.unmasked and review.nick:
        audit_log(actor=request.user, action=AuditEntry.Action.UNMASK, target_type="reviews", reviews=[review.pk])
    case = getattr(review, "case", None) if hasattr(review, "case") else None
    suggestions = []
    if review.is_negative and not review.reply:
        suggestions = explanation_suggestions(
            ExplanationRequest(
                review_id=review.pk,
                shop_id=review.shop_id,
                order_id=review.order_id,
                customer_id=review.customer_id,
                language="en" if (get_language() or "").startswith("en") else "zh-hans",
                user=request.user,
            )
        )
        if not form.is_bound and suggestions:
            form = ExplainForm(initial={"text": suggestions[0].text})
    labels = {**dict(Result.choices), **dict(ReviewCase.Outcome.choices)}
    return render(
        request,
        "reviews/review_detail.html",
        {
            "review": review,
            "nick": masker.identifier(review.nick),
            "credit": credit_sentence(review, review_credit_entry(review=review)),
            "events": [(e, labels.get(e.old, e.old), labels.get(e.new, e.new)) for e in review.events.all()],
            "case": case,
            "suggestions": suggestions,
            "form": form,
            "outcome_form": OutcomeForm(),
        },
    )


@login_required
@permission_required("reviews.add_review", raise_exception=True)
def review_new(request: HttpRequest) -> HttpResponse:
    """Enter a review by hand for an order of the archive (the same rules as the API: one per order, item and
    role; a second entry updates it)."""
    form = ReviewEntryForm(request.POST or None, initial={"order_no": request.GET.get("order_no", "")[:64]})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        shop = data["shop"]
        rated = timezone.make_naive(data["created_at"]).replace(tzinfo=ZoneInfo(shop.timezone))
        try:
            review, created = review_save(
                shop=shop,
                order_no=data["order_no"].strip(),
                item_id=data["item_id"].strip(),
                role=data["role"],
                result=data["result"],
                content=data["content"],
                created_at=rated,
                anonymous=data["anonymous"],
            )
        except ApplicationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("The review was saved.") if created else _("The review was updated."))
            return redirect("reviews:detail", pk=review.pk)
    return render(request, "reviews/review_form.html", {"form": form})
