"""An agent works a day's return visits in a real browser: the queue (masked phones), a task screen with the
customer's context and the filled script, the number revealed with a reason (audited), a reached call with a
new-product opt-in and a follow-up ticket, an unanswered call that comes back later, and a request not to be
visited. Screenshots in $HUITOUKE_HOME/screenshots (90-…)."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from huitouke.core.models import AuditEntry
from huitouke.customers.tests.factories import CustomerFactory
from huitouke.orders.tests.factories import OrderFactory, ShopFactory
from huitouke.visits import services
from huitouke.visits.models import VisitOptOut, VisitTask

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(browser: Any, url: str, username: str) -> Any:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pass-word-123")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def test_an_agent_works_the_days_visits(browser: Any, live_server: Any, make_user: Any, screenshot_dir: Any) -> None:
    from huitouke.service.services import playbooks_defaults_load

    playbooks_defaults_load()
    shop = ShopFactory.create(name="茶小铺", timezone="Asia/Shanghai")
    agent = make_user("agent", "kefu1")
    wang = CustomerFactory.create(name="王小二", phone="13800000001")
    li = CustomerFactory.create(name="李四", phone="13800000002")
    zhao = CustomerFactory.create(name="赵六", phone="13800000003")
    OrderFactory.create(shop=shop, customer=wang, order_no="T20260301")
    services.visit_plan_create(
        shop=shop,
        name="签收回访",
        trigger="one_off",
        customer_ids=[wang.pk, li.pk, zhao.pk],
        agent_ids=[agent.pk],
        script="您好 $name，我是 $shop 的客服，想了解一下您对上次购买的商品和服务是否满意。",
        questions=[{"text": "茶叶的口感怎么样？", "kind": "rating"}],
    )
    services.visits_plan_run(at=timezone.now())

    page = _login(browser, live_server.url, "kefu1")
    page.goto(f"{live_server.url}/visits/")
    expect(page.locator("#visit-queue")).to_contain_text("138****0001")
    expect(page.locator("#visit-queue tbody tr")).to_have_count(3)
    page.screenshot(path=screenshot_dir / "90-visits-queue.png", full_page=True)

    wang_task = VisitTask.objects.get(customer=wang)
    page.click(f"#task-{wang_task.pk} a")
    expect(page.locator("#script")).to_contain_text("您好 王小二，我是 茶小铺 的客服")
    expect(page.locator("#orders")).to_contain_text("T20260301")
    page.click("#reveal")
    expect(page.locator("#phone")).to_contain_text("13800000001")
    assert AuditEntry.objects.filter(action="unmask", actor=agent, target_id=str(wang.pk)).count() == 1
    page.select_option("select[name=answer_q1]", "5")
    page.select_option("#outcome", "reached")
    page.select_option("#satisfaction", "4")
    page.fill("#feedback", "茶很好，包装有点压坏了")
    page.check("#opt-in")
    page.check("#follow-ticket")
    page.screenshot(path=screenshot_dir / "91-visits-task.png", full_page=True)
    page.click("#record")
    page.wait_for_selector("#visit-queue")
    expect(page.locator("#visit-queue tbody tr")).to_have_count(2)
    wang_task.refresh_from_db()
    assert (wang_task.status, wang_task.satisfaction, wang_task.answers) == ("done", 4, {"q1": 5})
    assert wang_task.ticket is not None
    assert wang_task.ticket.owner_id == agent.pk

    li_task = VisitTask.objects.get(customer=li)
    page.click(f"#task-{li_task.pk} a")
    page.select_option("#outcome", "no_answer")
    page.click("#record")
    page.wait_for_selector("#counts")
    li_task.refresh_from_db()
    assert (li_task.status, li_task.attempts) == ("due", 1)

    zhao_task = VisitTask.objects.get(customer=zhao)
    page.click(f"#task-{zhao_task.pk} a")
    page.select_option("#outcome", "asked_not_to_be_visited")
    page.click("#record")
    page.wait_for_selector("#counts")
    assert VisitOptOut.objects.filter(customer=zhao).exists()
    page.screenshot(path=screenshot_dir / "92-visits-queue-after.png", full_page=True)
    expect(page.locator("#counts")).to_contain_text("今日完成：2")


def test_a_manager_plans_a_questionnaire_and_a_customer_answers_it(
    browser: Any, live_server: Any, make_user: Any, screenshot_dir: Any
) -> None:
    from huitouke.messaging.models import Message
    from huitouke.orders.tests.factories import OrderLineFactory
    from huitouke.visits import questionnaire
    from huitouke.visits.models import VisitPlan

    shop = ShopFactory.create(name="茶小铺", timezone="Asia/Shanghai")
    make_user("manager", "dianzhang")
    chen = CustomerFactory.create(name="陈七", phone="13800000007")
    order = OrderFactory.create(shop=shop, customer=chen, order_no="T20260401")
    OrderLineFactory.create(order=order, title="明前龙井 250g", line_no=1)

    page = _login(browser, live_server.url, "dianzhang")
    page.goto(f"{live_server.url}/visits/plans/")
    page.click("#plans-suggested")
    expect(page.locator("#plans tbody tr")).to_have_count(3)  # no member levels: no "best members" suggestions
    page.screenshot(path=screenshot_dir / "93a-visits-plans-suggested.png", full_page=True)
    page.click("#plan-new")
    page.fill("#id_name", "短信满意度问卷")
    page.select_option("#id_trigger", "one_off")
    page.fill("#id_days", "0")
    page.fill("#id_customer_ids", str(chen.pk))
    page.select_option("#id_channel", "sms_questionnaire")
    page.select_option("#id_assignment", "pool")
    page.fill("#id_questions", "茶叶的口感怎么样？ [1-5]\n还会再买吗？ [会/不会/看情况]")
    page.screenshot(path=screenshot_dir / "93-visits-plan-form.png", full_page=True)
    page.click("#plan-save")
    expect(page.locator("#plans")).to_contain_text("短信满意度问卷")
    assert VisitPlan.objects.get(name="短信满意度问卷").channel == "sms_questionnaire"

    services.visits_plan_run(at=timezone.now())
    task = VisitTask.objects.get()
    message = Message.objects.get(idempotency_key=f"visit:questionnaire:{task.pk}")
    link = f"/visits/q/{questionnaire.questionnaire_token(task.pk)}/"
    assert link in message.body

    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN").new_page()
    phone.goto(f"{live_server.url}{link}")
    expect(phone.locator("h1")).to_contain_text("您对这次购买还满意吗")
    phone.click("input[name=satisfaction][value='5'] >> xpath=..")
    phone.click("input[name=answer_q1][value='4'] >> xpath=..")
    phone.select_option("#id_answer_q2", "会")
    phone.fill("#id_feedback", "茶叶很香，下次还买")
    phone.check("input[name=new_products_opt_in]")
    phone.screenshot(path=screenshot_dir / "94-visits-questionnaire.png", full_page=True)
    phone.click("#q-send")
    expect(phone.locator("#thanks")).to_be_visible()
    phone.screenshot(path=screenshot_dir / "95-visits-questionnaire-done.png", full_page=True)
    task.refresh_from_db()
    assert (task.status, task.outcome, task.satisfaction, task.answers) == ("done", "reached", 5, {"q1": 4, "q2": "会"})

    page.goto(f"{live_server.url}/visits/report/")
    expect(page.locator("#words")).to_contain_text("明前龙井 250g")
    expect(page.locator("#words")).to_contain_text("茶叶")
    page.screenshot(path=screenshot_dir / "96-visits-report.png", full_page=True)
