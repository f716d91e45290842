"""Review pages: the review list (filters, masked nicks, case outcomes), the credit page (score, level badge,
points to the next level, reviews that do not score by reason, history chart, what-if) and its settings."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from huitouke.core.audit import record
from huitouke.core.counting import list_count
from huitouke.core.errors import ApplicationError
from huitouke.core.export_views import export_list
from huitouke.core.keyset import after_id, rows_after
from huitouke.core.models import AuditEntry
from huitouke.core.pii import UNMASK_PERMISSION, Masker
from huitouke.core.rows import choice_labels, excerpter, link_for
from huitouke.core.services import audit_log
from huitouke.orders.models import Shop
from huitouke.reviews import exports
from huitouke.reviews.credit import Explanation
from huitouke.reviews.credit_figures import credit_figures
from huitouke.reviews.crediting import credit_what_if
from huitouke.reviews.forms import CreditSettingsForm, OutcomeForm, ReviewFilterForm, WhatIfForm, review_filter_args
from huitouke.reviews.labels import REASON_LABELS
from huitouke.reviews.models import Result, Review, ReviewCase, Role
from huitouke.reviews.selectors import credit_settings_get, review_list
from huitouke.reviews.services import credit_settings_set, review_case_outcome_set

PAGE_SIZE = 50

#: level badge key prefix → how the page draws it
BADGE_SYMBOLS = {"heart": "♥", "diamond": "◆", "crown": "♛", "gold-crown": "♛"}


def _shop(request: HttpRequest) -> Shop | None:
    shops = list(Shop.objects.order_by("name")[:200])
    wanted = request.GET.get("shop", "")
    for s in shops:
        if str(s.pk) == wanted:
            return s
    return shops[0] if shops else None


@login_required
@permission_required("reviews.view_review", raise_exception=True)
def review_index(request: HttpRequest) -> HttpResponse:
    """Reviews newest first; filter by shop, rating, whether they score and item; nicks masked by role. The count
    is exact up to 10,000 and "about" beyond; "Next" reads on from the last row shown (keyset)."""
    form = ReviewFilterForm(request.GET or None)
    qs = (
        review_list(**review_filter_args(form)).select_related(None).select_related("case", "credit")
    )  # the rows show the case; of the customer only its id
    paginator = Paginator(qs, PAGE_SIZE)
    counted = list_count(qs)  # exact when cheap, PostgreSQL's estimate ("about") beyond 10,000
    paginator.count = counted.value
    page = paginator.get_page(request.GET.get("page"))
    # "Next" carries the last row's id: a deep page reads on from it in the index instead of skipping (keyset)
    after = after_id(request.GET)
    following = rows_after(qs, after_id=after) if after is not None and page.number > 1 else None
    if following is not None:
        page.object_list = list(following[:PAGE_SIZE])
    masker = Masker(unmasked=request.user.has_perm(UNMASK_PERMISSION))
    rows = [(r, masker.identifier(r.nick), REASON_LABELS.get(r.not_scored_reason, "")) for r in page.object_list]
    _row_display(rows)
    if masker.unmasked and any(r.nick for r, _n, _l in rows):
        audit_log(
            actor=request.user,
            action=AuditEntry.Action.UNMASK,
            target_type="reviews",
            reviews=[r.pk for r, _n, _l in rows],
        )
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("after", None)
    return render(
        request,
        "reviews/review_list.html",
        {
            "form": form,
            "page": page,
            "estimated": not counted.exact,
            "rows": rows,
            "query": query.urlencode(),
            "may_change": request.user.has_perm("reviews.change_review"),
            # drawn once, shown on each open case: no id (it would repeat), named by its label for screen readers
            "outcome_select": _outcome_select(),
        },
    )


def _outcome_select() -> str:
    field = OutcomeForm(auto_id=False)["outcome"]
    return field.as_widget(attrs={"aria-label": str(field.label)})


def _row_display(rows: list[tuple[Review, str, Any]]) -> None:
    """What each row of the list shows, worked out once per page rather than per row in the template
    (core.rows): the labels, the two links and the two excerpts."""
    roles, results = choice_labels(Role.choices), choice_labels(Result.choices)
    outcomes = choice_labels(ReviewCase.Outcome.choices)
    detail, customer = link_for("reviews:detail"), link_for("customers:detail")
    text, reply = excerpter(80), excerpter(60)
    for r, _nick, _reason in rows:
        r.role_label, r.result_label = roles.get(r.role, r.role), results.get(r.result, r.result)  # type: ignore[attr-defined]
        r.detail_url, r.customer_url = detail(r.pk), customer(r.customer_id)  # type: ignore[attr-defined]
        r.excerpt, r.reply_excerpt = text(r.content), reply(r.reply)  # type: ignore[attr-defined]
        case = getattr(r, "case", None)
        r.outcome_label = outcomes.get(case.outcome, case.outcome) if case else ""  # type: ignore[attr-defined]


@login_required
@permission_required("reviews.view_review", raise_exception=True)
@require_GET
def review_export(request: HttpRequest) -> HttpResponseBase:
    """The reviews as the list filters them (owners and managers: the export permission), as CSV (UTF-8 with BOM)
    or XLSX. More than HUITOUKE_INLINE_EXPORT rows go to a background job whose page offers the file; buyer nicks
    are masked unless the reader may see them; audited."""
    return export_list(
        request,
        kind=exports.REVIEWS,
        list_url=reverse("reviews:list"),
        parse=exports.review_export_args,
        title=lambda fmt: _("Reviews to %(format)s") % {"format": fmt},
    )


@login_required
@permission_required("reviews.change_review", raise_exception=True)
def review_outcome(request: HttpRequest, pk: int) -> HttpResponse:
    """Record the outcome of a negative review's case (POST only)."""
    review = Review.objects.filter(pk=pk).first()
    if review is None:
        raise Http404("no such review")
    form = OutcomeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            review_case_outcome_set(review=review, outcome=form.cleaned_data["outcome"], note=form.cleaned_data["note"])
            messages.success(request, _("The outcome was recorded."))
        except ApplicationError as exc:
            messages.error(request, exc.message)
    if request.POST.get("next") == "detail":
        return redirect("reviews:detail", pk=review.pk)
    return redirect("reviews:list")


def _explain(ex: Explanation) -> str:
    if ex.code == "scores":
        return _("This rating scores %(points)+d; the shop's score would go from %(before)s to %(after)s.") % {
            "points": ex.points,
            "before": ex.score_before,
            "after": ex.score_after,
        }
    if ex.code == "monthly_cap":
        return _(
            "This rating would not change the score: this buyer's ratings in %(month)s already reached the cap of "
            "%(cap)s points (net %(net)s)."
        ) % {"month": ex.month, "cap": ex.monthly_cap, "net": ex.pair_month_net}
    if ex.code == "same_item_14_days":
        return _(
            "This rating would not change the score: the same buyer's rating of the same item within %(days)s days "
            "already counted."
        ) % {"days": ex.same_item_days}
    return _("This rating would not change the score (%(reason)s).") % {"reason": REASON_LABELS.get(ex.code, ex.code)}


def _chart(points: Any) -> dict[str, Any]:
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "x": [p.period.strftime("%Y-%m") for p in points],
                "y": [p.score for p in points],
                "name": str(_("Score")),
            }
        ],
        "layout": {"height": 260, "margin": {"l": 40, "r": 10, "t": 10, "b": 40}, "xaxis": {"type": "category"}},
    }


@login_required
@permission_required("reviews.view_review", raise_exception=True)
def credit_page(request: HttpRequest) -> HttpResponse:
    """The shop's credit as the rules give it, every review that does not score counted by reason."""
    shop = _shop(request)
    if shop is None:
        return render(request, "reviews/credit.html", {"shop": None, "shops": []})
    stored = credit_figures(shop=shop)  # figures and history, kept between visits (reviews.credit_figures)
    ledger = stored.value
    level = ledger.level
    badge = BADGE_SYMBOLS.get(level.badge.rsplit("-", 1)[0], "") if level.badge else ""
    count = int(level.badge.rsplit("-", 1)[1]) if level.badge else 0
    what = WhatIfForm(request.GET if "order_no" in request.GET else None)
    explanation = ""
    if what.is_bound and what.is_valid():
        try:
            explanation = _explain(
                credit_what_if(shop=shop, order_no=what.cleaned_data["order_no"], result=what.cleaned_data["result"])
            )
        except ApplicationError as exc:
            what.add_error("order_no", exc.message)
    not_scored = [(REASON_LABELS.get(k, k), n, k) for k, n in sorted(ledger.not_scored.items())]
    return render(
        request,
        "reviews/credit.html",
        {
            "shop": shop,
            "shops": Shop.objects.order_by("name")[:200],
            "ledger": ledger,
            "level": level,
            "badge": badge * count,
            "gold": level.badge.startswith("gold"),
            "not_scored": not_scored,
            "chart": _chart(ledger.history),
            "what": what,
            "explanation": explanation,
            "settings": credit_settings_get(shop=shop),
            "computed_at": stored.computed_at,
        },
    )


@login_required
@permission_required("reviews.change_creditsettings", raise_exception=True)
def credit_settings(request: HttpRequest) -> HttpResponse:
    """The preset and its numbers for one shop; saving recomputes the stored ledger."""
    shop = _shop(request)
    if shop is None:
        raise Http404("no shop yet")
    current = credit_settings_get(shop=shop)
    form = CreditSettingsForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        try:
            credit_settings_set(shop=shop, **form.cleaned_data)
            record(
                actor=request.user, action=AuditEntry.Action.POLICY, target_type="credit_settings", target_id=shop.pk
            )
        except ApplicationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("The credit rules were saved and the credit recomputed."))
            return redirect(f"{reverse('reviews:credit')}?shop={shop.pk}")
    return render(request, "reviews/credit_settings.html", {"form": form, "shop": shop})


@login_required
@permission_required("reviews.view_review", raise_exception=True)
def review_analytics(request: HttpRequest) -> HttpResponse:
    """The rating trend by month and the products with their review rate and share of bad reviews."""
    from huitouke.reviews.analytics import rating_trend
    from huitouke.reviews.analytics_figures import review_figures

    shop = _shop(request)
    if shop is None:
        return render(request, "reviews/analytics.html", {"shop": None})
    product = request.GET.get("product", "").strip()[:255]
    stored = review_figures(shop=shop)
    figures = stored.value
    trend = rating_trend(shop=shop, product=product) if product else figures.trend
    months = [m.month for m in trend]
    chart = {
        "data": [
            {
                "type": "bar",
                "name": str(label),
                "x": months,
                "y": [getattr(m, key) for m in trend],
                "marker": {"color": colour},
            }
            for key, label, colour in (
                ("good", _("Good"), "#2e7d32"),
                ("neutral", _("Neutral"), "#9e9e9e"),
                ("bad", _("Bad"), "#c62828"),
            )
        ],
        "layout": {
            "barmode": "stack",
            "height": 260,
            "margin": {"l": 40, "r": 10, "t": 10, "b": 40},
            "xaxis": {"type": "category"},
        },
    }
    return render(
        request,
        "reviews/analytics.html",
        {
            "shop": shop,
            "shops": Shop.objects.order_by("name")[:200],
            "trend": trend,
            "chart": chart,
            "products": figures.products,
            "product": product,
            "words": figures.words,
            "afterwards": figures.afterwards,
            "computed_at": stored.computed_at,
        },
    )
