"""REST endpoints of analytics: a customer's scores, the RFM segments with this week's movements, and the
products' repurchase cycles. Thin: check the permission -> call a selector -> shape the answer."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router

from huitouke.analytics import rfm, selectors
from huitouke.analytics.reports import segment_label
from huitouke.analytics.schemas import CycleOut, MovementOut, ScoreOut, SegmentCount, SegmentsOut
from huitouke.core.api import Int64, require_perms
from huitouke.core.errors import NotFoundError

router = Router(tags=["analytics"])

VIEW_CUSTOMER, VIEW_ANALYTICS = "customers.view_customer", "analytics.view_customerscore"


@router.get("/customers/{customer_id}/score", response=ScoreOut, summary="A customer's RFM scores and outlook")
def score_get(request: HttpRequest, customer_id: Int64) -> ScoreOut:
    """The customer's scores as of the last refresh (404 when the customer has no paid order or was never
    scored). p_alive, expected_purchases_90d, clv_12m and next_purchase_on are null when the models could not be
    fitted (see GET /analytics/segments, fit_error)."""
    require_perms(request, VIEW_CUSTOMER)
    score = selectors.score_for_customer(customer_id=customer_id)
    if score is None:
        raise NotFoundError(f"customer {customer_id} has no scores", field="customer_id")
    return ScoreOut(
        customer_id=score.customer_id,
        recency_days=score.recency_days,
        frequency=score.frequency,
        monetary=f"{score.monetary:.2f}",
        r_score=score.r_score,
        f_score=score.f_score,
        m_score=score.m_score,
        segment=score.segment,
        segment_name=segment_label(score.segment),
        p_alive=score.p_alive,
        expected_purchases_90d=score.expected_purchases,
        clv_12m=None if score.clv is None else f"{score.clv:.2f}",
        next_purchase_on=score.next_purchase_on,
        computed_at=score.computed_at,
    )


@router.get("/analytics/segments", response=SegmentsOut, summary="Customers per RFM segment and the movements")
def segments_get(request: HttpRequest) -> SegmentsOut:
    """Scored customers per segment (all eleven, in order), the biggest movements of the latest refresh with the
    customer-list filter that selects each group of movers (`/customers/?rfm_move=…`), and the fitted models."""
    require_perms(request, VIEW_ANALYTICS)
    run = selectors.score_run_latest()
    distribution = selectors.segment_distribution()
    return SegmentsOut(
        computed_at=run.finished_at if run else None,
        week=run.week if run else None,
        previous_week=run.previous_week if run else None,
        segments=[SegmentCount(segment=k, name=segment_label(k), customers=distribution[k]) for k in rfm.KEYS],
        movements=[
            MovementOut(source=m.source, target=m.target, customers=m.customers, customer_filter=m.filter_value)
            for m in selectors.movements_latest(limit=20)
        ],
        bgnbd=run.bgnbd if run else None,
        gamma_gamma=run.gamma_gamma if run else None,
        fit_error=run.fit_error if run else "",
    )


@router.get("/analytics/repurchase-cycles", response=list[CycleOut], summary="Products' repurchase cycles")
def cycles_get(request: HttpRequest, product: Query[list[Int64] | None] = None) -> list[CycleOut]:
    """Per product (all, or those given as ?product=ID&product=ID): buyers, repeat buyers, repurchase rate and the
    median days between two purchases of it by the same customer (the replenishment cycle)."""
    require_perms(request, VIEW_ANALYTICS)
    cycles = selectors.product_repurchase_cycles(product_ids=product)
    return [
        CycleOut(
            product_id=c.product_id,
            buyers=c.buyers,
            repeat_buyers=c.repeat_buyers,
            repurchase_rate=c.repurchase_rate,
            median_interval_days=c.median_interval_days,
        )
        for c in cycles.values()
    ]
