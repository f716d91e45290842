"""A customer answers the satisfaction survey on a phone (390×844): the link from the survey message, a rating,
an extra question and a comment, then the recorded answer. A low rating brings the ticket back to its first owner.
Screenshots in $HUITOUKE_HOME/screenshots (90-…)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from huitouke.customers.tests.factories import CustomerFactory
from huitouke.messaging.models import Message
from huitouke.orders.tests.factories import ShopFactory
from huitouke.service import services
from huitouke.service.models import Survey, Ticket
from huitouke.service.surveys import services as survey_services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_customer_answers_the_survey_on_a_phone(browser, live_server, make_user, screenshot_dir, settings):
    settings.HUITOUKE_PUBLIC_URL = live_server.url
    shop = ShopFactory.create(name="茶小铺", timezone="Asia/Shanghai")
    customer = CustomerFactory.create(name="王小二", phone="13800000001")
    agent = make_user("agent", "kefu1")
    make_user("manager", "zhuguan")
    question = survey_services.survey_question_add(shop=shop, label="您会把本店推荐给朋友吗？", kind="nps")
    ticket = services.ticket_create(customer=customer, shop=shop, type="quality", channel="sms", subject="茶叶受潮")
    services.ticket_take(ticket=ticket, user=agent)
    services.ticket_status_set(ticket=ticket, status="resolved", actor=agent, note="补发")
    message = Message.objects.get(idempotency_key=f"service:survey:{ticket.pk}:0")
    found = re.search(r"http://[^/]+/s/[0-9a-z]+\.[A-Za-z0-9_-]{12}/", message.body)
    assert found is not None
    link = found.group(0)
    assert link.startswith(live_server.url)

    page = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True).new_page()
    page.set_default_timeout(20_000)
    page.goto(link)
    expect(page.locator("h1")).to_have_text("您对我们的服务满意吗？")
    expect(page.locator("#survey")).to_contain_text("茶小铺")
    # nothing wider than the phone's screen
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(screenshot_dir / "90-survey-phone.png"), full_page=True)

    page.click("#survey button[type=submit]")  # no rating yet: the form comes back with the message
    expect(page.locator("#survey [role=alert]")).to_be_visible()
    page.locator(".scale label", has_text="2").first.click()
    page.locator(f"input[name=q{question.pk}][value='3']").check(force=True)
    page.fill("#id_comment", "补发的茶叶还是受潮了")
    page.screenshot(path=str(screenshot_dir / "91-survey-filled.png"), full_page=True)
    page.click("#survey button[type=submit]")
    expect(page.locator("h1")).to_have_text("感谢您的评价！")
    expect(page.locator("[data-rating]")).to_have_text("2 / 5")
    page.screenshot(path=str(screenshot_dir / "92-survey-answered.png"), full_page=True)

    survey = Survey.objects.get(ticket=ticket)
    assert (survey.rating, survey.nps, survey.comment) == (2, 3, "补发的茶叶还是受潮了")
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert (ticket.status, ticket.owner) == ("open", agent)

    # the link again: the recorded answer, no form
    page.goto(link)
    expect(page.locator("h1")).to_have_text("您已经回答过这份调查")
    expect(page.locator("form button[type=submit]")).to_have_count(0)

    # the manager: the ticket's satisfaction panel (praise) and the results page with its charts
    desk = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    desk.set_default_timeout(20_000)
    desk.goto(f"{live_server.url}/login/")
    desk.fill("input[name=username]", "zhuguan")
    desk.fill("input[name=password]", "pass-word-123")
    desk.click("button[type=submit]")
    desk.wait_for_load_state()
    desk.goto(f"{live_server.url}/service/{ticket.pk}/#survey")
    expect(desk.locator("#survey .csat-rating")).to_have_text("2 / 5")
    desk.click(f"#mark-praise-{survey.pk}")
    expect(desk.locator("#survey")).to_contain_text("表扬")
    desk.locator("#survey").screenshot(path=str(screenshot_dir / "93-survey-ticket-panel.png"))
    desk.goto(f"{live_server.url}/service/surveys/")
    expect(desk.locator("#table-agents")).to_contain_text("kefu1")
    desk.wait_for_selector("#panel-overview .chart .main-svg")
    desk.screenshot(path=str(screenshot_dir / "94-survey-results.png"), full_page=True)
