"""The survey's interfaces: the public page (valid, expired, forged, double submit, CSRF, rate limit, language),
`POST /api/v1/tickets/{id}/survey` and the ticket's `csat`, and the staff pages (results with XLSX, settings,
questions, praise, the send button) with their permissions."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.test import Client
from freezegun import freeze_time
from openpyxl import load_workbook

from huitouke.service import services
from huitouke.service.models import Survey, SurveyQuestion, SurveySettings, Ticket
from huitouke.service.surveys import services as survey_services
from huitouke.service.surveys.links import survey_token
from huitouke.service.tests.conftest import sh

pytestmark = pytest.mark.django_db


@pytest.fixture
def resolved(shop, customer, agent, no_wake):
    with freeze_time(sh(2026, 3, 2, 10, 0)):
        t = services.ticket_create(customer=customer, shop=shop, type="quality", channel="sms", subject="茶叶受潮")
        services.ticket_take(ticket=t, user=agent)
        services.ticket_status_set(ticket=t, status="resolved", actor=agent, note="ok")
    return t


def _url(survey):
    return f"/s/{survey_token(survey.pk)}/"


def _csrf(client, url):
    page = client.get(url)
    assert page.status_code == 200
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert found is not None
    return found.group(1)


@freeze_time(sh(2026, 3, 3, 9, 0))
def test_the_page_takes_an_answer_with_csrf_and_then_shows_it(resolved):
    survey = Survey.objects.get(ticket=resolved)
    client = Client(enforce_csrf_checks=True)
    page = client.get(_url(survey))
    html = page.content.decode()
    assert page.status_code == 200
    assert "茶小铺" in html
    assert f"#{resolved.number}" in html
    assert 'name="rating"' in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html

    # without the CSRF token: refused, nothing recorded
    refused = client.post(_url(survey), {"rating": "5"})
    assert refused.status_code == 403
    survey.refresh_from_db()
    assert survey.answered_at is None

    token = _csrf(client, _url(survey))
    done = client.post(_url(survey), {"csrfmiddlewaretoken": token, "rating": "4", "comment": "挺好"})
    assert done.status_code == 200
    assert "感谢您的评价！" in done.content.decode()
    assert 'data-rating="4"' in done.content.decode()
    survey.refresh_from_db()
    assert (survey.rating, survey.comment) == (4, "挺好")

    # a second submit shows the recorded answer and changes nothing
    again = client.post(_url(survey), {"csrfmiddlewaretoken": token, "rating": "1", "comment": "差"})
    assert again.status_code == 200
    assert 'data-rating="4"' in again.content.decode()
    survey.refresh_from_db()
    assert (survey.rating, survey.comment) == (4, "挺好")
    resolved.refresh_from_db()
    assert resolved.status == "resolved"


def test_a_bad_rating_shows_the_form_again_with_the_message(resolved):
    survey = Survey.objects.get(ticket=resolved)
    with freeze_time(sh(2026, 3, 3, 9, 0)):
        r = Client().post(_url(survey), {"rating": "9", "comment": "留着"})
    assert r.status_code == 400
    html = r.content.decode()
    assert 'role="alert"' in html
    assert "请选择 1 到 5 分。" in html
    assert "留着" in html
    survey.refresh_from_db()
    assert survey.answered_at is None


def test_an_expired_link_gets_a_clear_page(resolved):
    survey = Survey.objects.get(ticket=resolved)
    with freeze_time(sh(2026, 3, 10, 10, 0)):
        got = Client().get(_url(survey))
        posted = Client().post(_url(survey), {"rating": "5"})
    assert got.status_code == posted.status_code == 410
    assert 'name="rating"' not in got.content.decode()
    survey.refresh_from_db()
    assert survey.answered_at is None


def test_a_forged_or_unknown_token_gets_the_same_page(resolved):
    survey = Survey.objects.get(ticket=resolved)
    value, signature = survey_token(survey.pk).split(".")
    forged = Client().get(f"/s/{value}.{signature[::-1]}/")
    unknown = Client().get(f"/s/{survey_token(survey.pk + 1000)}/")
    garbage = Client().get("/s/" + "x" * 500 + "/")
    assert forged.status_code == unknown.status_code == garbage.status_code == 404

    def page(r):
        # what differs is only the request's own: its CSRF token and its path (the language switch's "next")
        return re.sub(r'(csrfmiddlewaretoken" value=|X-CSRFToken": |name="next" value=)"[^"]+"', "", r.content.decode())

    assert page(forged) == page(unknown) == page(garbage)


def test_the_page_is_rate_limited_per_address(resolved):
    survey = Survey.objects.get(ticket=resolved)
    client = Client(REMOTE_ADDR="10.0.0.7")
    with freeze_time(sh(2026, 3, 3, 9, 0)):
        codes = [client.post(_url(survey), {"rating": "x"}).status_code for _ in range(11)]
        other = Client(REMOTE_ADDR="10.0.0.8").post(_url(survey), {"rating": "x"})
        assert client.post(_url(survey), {"rating": "5"})["Retry-After"] == "60"
    assert codes == [400] * 10 + [429]
    assert other.status_code == 400


def test_the_page_speaks_english_when_asked(resolved):
    survey = Survey.objects.get(ticket=resolved)
    client = Client()
    client.cookies["django_language"] = "en"
    with freeze_time(sh(2026, 3, 3, 9, 0)):
        html = client.get(_url(survey)).content.decode()
        default = Client().get(_url(survey)).content.decode()
    assert "How did we do?" in html
    assert "How did we do?" not in default


def test_extra_questions_are_on_the_page(shop, customer, agent, no_wake):
    q = survey_services.survey_question_add(shop=shop, label="推荐给朋友的可能性", kind="nps", required=True)
    t = services.ticket_create(customer=customer, shop=shop, type="quality", channel="sms", subject="s")
    services.ticket_take(ticket=t, user=agent)
    services.ticket_status_set(ticket=t, status="resolved", actor=agent, note="ok")
    survey = Survey.objects.get(ticket=t)
    html = Client().get(_url(survey)).content.decode()
    assert "推荐给朋友的可能性" in html
    assert f'name="q{q.pk}" value="10"' in html
    r = Client().post(_url(survey), {"rating": "5", f"q{q.pk}": "10"})
    assert r.status_code == 200
    survey.refresh_from_db()
    assert (survey.nps, survey.answers) == (10, {f"q{q.pk}": 10})


# --- the API ------------------------------------------------------------------------------------------------------


def test_api_send_answer_and_read_the_csat(api_client_as, shop, customer, no_wake):
    api = api_client_as("agent")
    with freeze_time(sh(2026, 3, 2, 10, 0)):
        r = api.post(
            "/api/v1/tickets",
            json.dumps({"customer_id": customer.pk, "type": "inquiry", "channel": "email", "subject": "问个事"}),
            content_type="application/json",
        )
        ticket_id = r.json()["id"]
        early = api.post(f"/api/v1/tickets/{ticket_id}/survey")
        assert early.status_code == 409
        assert early.json()["field"] == "status"
        api.post(f"/api/v1/tickets/{ticket_id}/take")
        api.post(
            f"/api/v1/tickets/{ticket_id}/status",
            json.dumps({"status": "resolved"}),
            content_type="application/json",
        )
        assert api.get(f"/api/v1/tickets/{ticket_id}").json()["csat"] is None
        sent = api.post(f"/api/v1/tickets/{ticket_id}/survey")
        assert sent.status_code == 200
        body = sent.json()
        assert set(body) == {"survey_url"}
        survey = Survey.objects.get(ticket_id=ticket_id)
        assert body["survey_url"] == f"http://127.0.0.1:8000/s/{survey_token(survey.pk)}/"
        assert api.post(f"/api/v1/tickets/{ticket_id}/survey").json() == body  # once per resolution
    with freeze_time(sh(2026, 3, 3, 9, 30)):
        path = body["survey_url"].removeprefix("http://127.0.0.1:8000")
        assert Client().post(path, {"rating": "5", "comment": "回复很快"}).status_code == 200
    csat = api.get(f"/api/v1/tickets/{ticket_id}").json()["csat"]
    assert csat == {"rating": 5, "comment": "回复很快", "answered_at": "2026-03-03T09:30:00+08:00"}
    listed = api.get("/api/v1/tickets?status=resolved").json()["items"]
    assert [i["csat"]["rating"] for i in listed] == [5]


def test_api_survey_needs_the_right_to_work_tickets(api_client_as, resolved):
    assert api_client_as("marketer").post(f"/api/v1/tickets/{resolved.pk}/survey").status_code == 403
    missing = api_client_as("agent").post("/api/v1/tickets/999999/survey")
    assert missing.status_code == 404
    assert missing.json()["field"] == "id"


# --- the staff pages ----------------------------------------------------------------------------------------------


def test_results_page_for_managers_with_charts_and_xlsx(client_as, resolved):
    survey = Survey.objects.get(ticket=resolved)
    with freeze_time(sh(2026, 3, 3, 9, 0)):
        survey_services.survey_answer(survey=survey, rating=5, comment="谢谢")
    assert client_as("agent").get("/service/surveys/").status_code == 403
    manager = client_as("manager")
    page = manager.get("/service/surveys/?start=2026-03-01&end=2026-03-31")
    html = page.content.decode()
    assert page.status_code == 200
    assert "analytics/plotly.min.js" in html
    assert "cdn" not in html.lower()
    assert 'id="panel-agents"' in html
    assert "谢谢" in html
    export = manager.get("/service/surveys/?start=2026-03-01&end=2026-03-31&export=agents")
    assert export.status_code == 200
    book = load_workbook(io.BytesIO(b"".join(export.streaming_content)))
    rows = list(book.worksheets[0].values)
    assert rows[1][:5] == ("agent1", 1, 1, 1, 5)
    assert manager.get("/service/surveys/?export=nope").status_code == 404


def test_settings_and_questions_pages(client_as, shop):
    manager = client_as("manager")
    assert client_as("agent").get("/service/surveys/settings/").status_code == 403
    page = manager.get("/service/surveys/settings/")
    assert page.status_code == 200
    assert 'id="survey-settings-form"' in page.content.decode()
    empty = manager.get("/service/surveys/")
    assert empty.status_code == 200
    assert "暂无数据。" in empty.content.decode()
    r = manager.post(
        "/service/surveys/settings/",
        {"form": "settings", "shop": shop.pk, "enabled": "on", "types": ["refund"], "valid_days": 5, "threshold": 1},
    )
    assert r.status_code == 302
    conf = SurveySettings.objects.get(shop=shop)
    assert (conf.enabled, conf.types, conf.valid_days, conf.threshold) == (True, ["refund"], 5, 1)
    bad = manager.post(
        "/service/surveys/settings/", {"form": "settings", "shop": shop.pk, "valid_days": 500, "threshold": 1}
    )
    assert bad.status_code == 400
    r = manager.post(
        "/service/surveys/settings/",
        {"form": "question", "shop": shop.pk, "label": "包装满意吗", "kind": "choice", "choices": "满意\n一般"},
    )
    assert r.status_code == 302
    q = SurveyQuestion.objects.get(shop=shop)
    assert (q.label, q.kind, q.choices) == ("包装满意吗", "choice", ["满意", "一般"])
    one_choice = manager.post(
        "/service/surveys/settings/",
        {"form": "question", "shop": shop.pk, "label": "x", "kind": "choice", "choices": "只有一个"},
    )
    assert one_choice.status_code == 400
    assert "2" in one_choice.content.decode()
    assert manager.post(f"/service/surveys/questions/{q.pk}/delete/").status_code == 302
    assert not SurveyQuestion.objects.exists()


def test_ticket_page_shows_the_survey_praise_and_send_buttons(client_as, resolved, make_user):
    survey = Survey.objects.get(ticket=resolved)
    with freeze_time(sh(2026, 3, 3, 9, 0)):
        survey_services.survey_answer(survey=survey, rating=5, comment="小王很耐心")
    manager = client_as("manager")
    html = manager.get(f"/service/{resolved.pk}/").content.decode()
    assert 'id="survey"' in html
    assert "小王很耐心" in html
    assert f'id="mark-praise-{survey.pk}"' in html
    agent = Client()
    agent.force_login(make_user("agent", "kefu9"))
    assert agent.post(f"/service/surveys/{survey.pk}/praise/", {"praise": "yes"}).status_code == 403
    assert manager.post(f"/service/surveys/{survey.pk}/praise/", {"praise": "yes"}).status_code == 302
    survey.refresh_from_db()
    assert survey.praise is True
    # the send button on a resolved ticket: the same survey, no second one
    assert agent.post(f"/service/surveys/ticket/{resolved.pk}/send/").status_code == 302
    assert Survey.objects.filter(ticket=resolved).count() == 1
    reopened = Ticket.objects.get(pk=resolved.pk)
    services.ticket_status_set(ticket=reopened, status="open", actor=None)
    r = agent.post(f"/service/surveys/ticket/{resolved.pk}/send/", follow=True)
    assert Survey.objects.filter(ticket=resolved).count() == 1
    assert 'class="error"' in r.content.decode()
