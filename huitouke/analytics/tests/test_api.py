"""The analytics API: a customer's scores, segments with movements, repurchase cycles; permissions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from freezegun import freeze_time

from huitouke.analytics.models import CustomerScore
from huitouke.analytics.services import scores_refresh

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored(shop):
    with freeze_time(datetime(2025, 6, 18, 4, tzinfo=UTC)):
        scores_refresh()
    return shop


def test_customer_score(api_client_as, scored):
    c = scored["c"]
    score = CustomerScore.objects.get(customer=c)
    body = api_client_as("agent").get(f"/api/v1/customers/{c.pk}/score").json()
    assert body["customer_id"] == c.pk
    assert (body["recency_days"], body["frequency"], body["monetary"]) == (154, 2, "360.00")  # last order 15 January
    assert (body["r_score"], body["f_score"], body["m_score"], body["segment"]) == (
        score.r_score, score.f_score, score.m_score, score.segment,
    )  # fmt: skip
    assert body["p_alive"] is None  # four buyers cannot support a fit
    assert body["clv_12m"] is None


def test_customer_without_scores_is_404(api_client_as, scored):
    response = api_client_as("agent").get(f"/api/v1/customers/{scored['d'].pk}/score")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_segments(api_client_as, scored):
    body = api_client_as("marketer").get("/api/v1/analytics/segments").json()
    assert len(body["segments"]) == 11
    assert sum(s["customers"] for s in body["segments"]) == 4
    assert body["week"] == "2025-06-16"
    assert body["movements"] == []
    assert body["bgnbd"] is None
    assert "at least 20 customers" in body["fit_error"]


def test_segments_need_the_analytics_permission(api_client_as, scored):
    response = api_client_as("agent").get("/api/v1/analytics/segments")
    assert response.status_code == 403


def test_repurchase_cycles(api_client_as, scored):
    p1, p2 = scored["p1"].pk, scored["p2"].pk
    client = api_client_as("manager")
    body = client.get("/api/v1/analytics/repurchase-cycles").json()
    assert {c["product_id"]: (c["buyers"], c["repeat_buyers"], c["median_interval_days"]) for c in body} == {
        p1: (2, 1, 53.0),
        p2: (3, 0, None),
    }
    only = client.get(f"/api/v1/analytics/repurchase-cycles?product={p2}").json()
    assert [c["product_id"] for c in only] == [p2]
