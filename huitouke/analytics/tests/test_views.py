"""Wiring of the analytics pages: the landing page per role, the numbers on the page and in the XLSX export, the
refresh button, the 360 panel, the customer-list filters, dashboard tiles, the offline plotly bundle."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from io import BytesIO

import pytest
from django.conf import settings
from freezegun import freeze_time
from openpyxl import load_workbook

from huitouke.analytics import registry
from huitouke.analytics.finders import PATH, PlotlyFinder
from huitouke.analytics.models import CustomerScore, RfmSnapshot
from huitouke.analytics.services import REFRESH_JOB_KIND, scores_refresh
from huitouke.core.models import Job

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 6, 18, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


@pytest.fixture
def frozen():
    import huitouke.urls  # noqa: F401  (loaded before the clock is frozen: the API schemas must see real dates)

    with freeze_time(NOW, tick=True):
        yield


def workbook(response):
    return load_workbook(BytesIO(b"".join(response.streaming_content)))


def test_owner_lands_on_the_dashboard_with_the_hand_computed_figures(client_as, shop, frozen):
    response = client_as("owner").get("/")
    assert response.status_code == 200
    assert "analytics/dashboard.html" in [t.name for t in response.templates]
    figures = response.context["figures"]
    assert (figures.total, figures.buyers, figures.new, figures.returning) == (6, 4, 2, 1)
    html = response.content.decode()
    assert '<dd>6<span class="kpi-note">' in html
    assert "50.0%" in html  # repeat-purchase rate
    assert "¥160.00" in html  # June revenue
    assert "¥53.33" in html  # June average order value
    assert 'id="refresh-now"' in html


def test_agent_lands_on_the_customers_and_may_not_open_analytics(client_as):
    agent = client_as("agent")
    response = agent.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/customers/"
    assert agent.get("/analytics/products/").status_code == 403


def test_anonymous_is_sent_to_log_in(client):
    assert client.get("/").status_code == 302
    assert client.get("/analytics/cohorts/")["Location"].startswith("/login/")


def test_marketer_reads_analytics_but_cannot_refresh(client_as, shop, frozen):
    marketer = client_as("marketer")
    response = marketer.get("/")
    assert response.status_code == 200
    assert 'id="refresh-now"' not in response.content.decode()
    assert marketer.post("/analytics/refresh/").status_code == 403


def test_refresh_button_queues_a_job_that_scores_everyone(client_as, shop, django_capture_on_commit_callbacks):
    manager = client_as("manager")
    with django_capture_on_commit_callbacks(execute=True):
        response = manager.post("/analytics/refresh/")
    job = Job.objects.get(kind=REFRESH_JOB_KIND)
    assert response.status_code == 302
    assert response["Location"] == f"/jobs/{job.pk}/"
    assert job.status == Job.Status.DONE
    assert job.result is not None
    assert job.result["customers"] == 4
    page = manager.get(f"/jobs/{job.pk}/").content.decode()
    assert 'id="refresh-summary"' in page


def test_dashboard_export_is_the_table_beside_the_chart(client_as, shop, frozen):
    response = client_as("manager").get("/?export=sales")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = workbook(response).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 13  # header + 12 months
    assert rows[-1] == ("2025-06", 3, 160.0, 53.33, 3)
    assert sheet.cell(row=13, column=3).number_format == "#,##0.00"


def test_export_all_and_unknown_tables(client_as, shop, frozen):
    client = client_as("owner")
    book = workbook(client.get("/?export=all"))
    assert len(book.sheetnames) == 4
    assert client.get("/?export=nothing").status_code == 404


def test_products_page_numbers_and_exports(client_as, shop, frozen):
    client = client_as("marketer")
    response = client.get("/analytics/products/?days=30")
    assert response.status_code == 200
    html = response.content.decode()
    assert "龙井" in html
    assert "茶盘" in html  # never sold: the stale list
    rows = list(workbook(client.get("/analytics/products/?days=30&export=repurchase")).active.values)
    assert rows[0][0] == "商品名称"  # the viewer's language
    by_title = {r[0]: r for r in rows[1:]}
    assert by_title["龙井"][1:] == (7, pytest.approx(1 / 7), 2, 1, 0.5, 53.0)
    # a window outside 1..365 is clamped, not an error
    assert client.get("/analytics/products/?days=9999").context["days"] == 365


def test_groups_page(client_as, shop, frozen):
    response = client_as("owner").get("/analytics/groups/")
    assert response.status_code == 200
    comparison = response.context["comparison"]
    assert (comparison.top_customers, comparison.top_revenue) == (1, Decimal("360.00"))
    summary = next(p for p in response.context["panels"] if p.key == "summary")
    assert summary.table.rows[2][1:] == [0.5, 0.5]  # share of revenue
    assert "50.0%" in response.content.decode()


def test_cohorts_page(client_as, shop, frozen):
    client = client_as("owner")
    response = client.get("/analytics/cohorts/?months=12")
    assert response.status_code == 200
    sheet = workbook(client.get("/analytics/cohorts/?months=12&export=retention")).active
    rows = {r[0]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows["2025-04"][:5] == ("2025-04", 1, 1.0, 0.0, 1.0)


def test_pages_in_english(client_as, shop, frozen):
    client = client_as("owner")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get("/").content.decode()
    assert "Repeat-purchase rate" in html
    assert "Revenue and average order value by month" in html
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    assert "复购率" in client.get("/").content.decode()


def test_customer_360_shows_the_scores(client_as, shop):
    client = client_as("agent")
    before = client.get(f"/customers/{shop['c'].pk}/").content.decode()
    assert 'id="customer-scores"' in before
    with freeze_time(NOW):
        scores_refresh()
    html = client.get(f"/customers/{shop['c'].pk}/").content.decode()
    score = CustomerScore.objects.get(customer=shop["c"])
    assert f"?segment={score.segment}" in html
    assert f"R{score.r_score} · F{score.f_score} · M{score.m_score}" in html
    assert "暂无评分" not in html
    assert "暂无评分" in before


def test_segment_and_movers_filters_on_the_customer_list(client_as, shop):
    with freeze_time(NOW):
        scores_refresh()
    client = client_as("manager")
    champions = set(client.get("/customers/?segment=champions").context["page"].object_list)
    assert {c.pk for c in champions} == set(
        CustomerScore.objects.filter(segment="champions").values_list("customer_id", flat=True)
    )
    assert client.get("/customers/?segment=bogus").context["total"] == 0
    # movers: C was "loyal" last week and is "at_risk" this week
    RfmSnapshot.objects.create(
        week=date(2025, 6, 9), customer=shop["c"], segment="loyal", r_score=3, f_score=4, m_score=4
    )
    RfmSnapshot.objects.filter(week=date(2025, 6, 16), customer=shop["c"]).update(segment="at_risk")
    RfmSnapshot.objects.create(
        week=date(2025, 6, 9), customer=shop["a"], segment="loyal", r_score=3, f_score=4, m_score=4
    )
    movers = client.get("/customers/?rfm_move=loyal:at_risk:2025-06-16").context["page"].object_list
    assert [c.pk for c in movers] == [shop["c"].pk]
    for bad in ("loyal:at_risk", "loyal:nowhere:2025-06-16", "loyal:at_risk:someday", "loyal:at_risk:2020-01-06"):
        assert client.get(f"/customers/?rfm_move={bad}").context["total"] == 0


def test_registered_tiles_appear_for_those_allowed(client_as, shop, frozen):
    registry.register_tile(
        registry.Tile(
            key="sent", title="Messages sent this week", value=lambda today: registry.TileValue("1,234", "by SMS")
        )
    )
    registry.register_tile(
        registry.Tile(
            key="secret",
            title="Owners only",
            value=lambda today: registry.TileValue("7"),
            permission="auth.change_user",
        )
    )
    try:
        html = client_as("marketer").get("/").content.decode()
        assert 'id="tile-sent"' in html
        assert "1,234" in html
        assert 'id="tile-secret"' not in html
        assert 'id="tile-secret"' in client_as("owner").get("/").content.decode()
    finally:
        registry.unregister_tile("sent")
        registry.unregister_tile("secret")


def test_plotly_is_served_from_the_installed_package(client_as):
    finder = PlotlyFinder()
    found = finder.find(PATH)
    assert found.endswith("plotly/package_data/plotly.min.js")
    assert finder.find("analytics/other.js") == []
    assert finder.check() == []
    [(path, storage)] = list(finder.list(None))
    assert (getattr(storage, "prefix", None), path) == ("analytics", "plotly.min.js")
    response = client_as("owner").get("/static/analytics/plotly.min.js")
    assert response.status_code == 200
    head = b"".join(response.streaming_content)[:200] if response.streaming else response.content[:200]
    assert b"plotly.js" in head
