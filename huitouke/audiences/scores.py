"""Conditions on analytics' per-customer scores (RFM segment, predicted value, churn risk)."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q

from huitouke.audiences.conditions import ChurnCondition, ClvCondition, DefinitionError, RfmCondition


def score_q(c: RfmCondition | ClvCondition | ChurnCondition) -> Q:
    try:
        from huitouke.analytics.models import CustomerScore
    except ImportError:
        raise DefinitionError([f"{c.field}: customer scores are not available (analytics is not installed)"]) from None
    from huitouke.audiences.selectors import CHURN_HIGH_BELOW, CHURN_LOW_FROM

    scores = CustomerScore.objects.filter(customer_id=OuterRef("pk"))
    if isinstance(c, RfmCondition):
        scores = scores.filter(segment__in=c.segments)
    elif isinstance(c, ClvCondition):
        if c.min is not None:
            scores = scores.filter(clv__gte=c.min)
        if c.max is not None:
            scores = scores.filter(clv__lte=c.max)
    else:
        band = Q(pk__in=[])
        if "high" in c.bands:
            band |= Q(p_alive__lt=CHURN_HIGH_BELOW)
        if "medium" in c.bands:
            band |= Q(p_alive__gte=CHURN_HIGH_BELOW, p_alive__lt=CHURN_LOW_FROM)
        if "low" in c.bands:
            band |= Q(p_alive__gte=CHURN_LOW_FROM)
        scores = scores.filter(band)
    return Q(Exists(scores))
