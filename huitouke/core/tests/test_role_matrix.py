"""The role matrix: every page (URL pattern) and every API operation, walked as each role and as an anonymous
visitor, is reached by exactly the principals its rule in access_rules.py names; a page or operation without a
rule fails. The same walk finds no inline script in any page it renders (the Content-Security-Policy allows
scripts from files only), and every public page is limited per address."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import resolve
from django.utils import timezone

from huitouke.core.roles import AGENT, MANAGER, MARKETER, OWNER
from huitouke.core.tests import walk
from huitouke.core.tests.access_rules import API, PAGES, PUBLIC

ROLES = (OWNER, MANAGER, AGENT, MARKETER)
ANONYMOUS = "anonymous"
#: pages the walk does not request (what they would do to the walking client), with the reason
NOT_WALKED = {
    "logout": "signs the client out",
    "core:sign-out-everywhere": "signs every session of the walking user out",
}
#: the walk's address: outside every network allowed to read /metrics without its token
OUTSIDE = "203.0.113.9"
#: public pages without the per-address page limit, and what limits them instead
UNLIMITED_PUBLIC = {
    "login": "django-axes locks out repeated failures per address and per account",
    "set_language": "only sets the language cookie",
    "core:healthz": "a health probe for the load balancer: answers ok, reads nothing",
    "core:readyz": "a readiness probe: a few cheap checks, names no data",
    "connectors:shopify-webhook": "an HMAC signature of the body with the store's secret, checked before any work",
    "connectors:woocommerce-webhook": "an HMAC signature of the body with the store's secret, checked before any work",
}


def outside(client: Client) -> Client:
    client.defaults["REMOTE_ADDR"] = OUTSIDE
    return client


def expected(rule: str) -> set[str]:
    return {ANONYMOUS, *ROLES} if rule == PUBLIC else set(rule.split())


def test_every_page_and_operation_has_exactly_one_rule() -> None:
    pages = {p.name for p in walk.pages()}
    operations = {op.key for op in walk.operations()}

    assert sorted(pages - set(PAGES)) == [], "declare these pages in core/tests/access_rules.py PAGES"
    assert sorted(set(PAGES) - pages) == [], "these declared pages no longer exist"
    assert sorted(operations - set(API)) == [], "declare these operations in core/tests/access_rules.py API"
    assert sorted(set(API) - operations) == [], "these declared operations no longer exist"


@pytest.mark.django_db
def test_pages_are_reached_by_the_declared_roles_and_run_no_inline_script(
    client_as: Callable[[str], Client],
) -> None:
    clients = {ANONYMOUS: outside(Client()), **{role: outside(client_as(role)) for role in ROLES}}
    wrong: dict[str, tuple[list[str], list[str]]] = {}
    errors: dict[str, str] = {}
    inline: dict[str, list[str]] = {}
    for page in walk.pages():
        if page.name in NOT_WALKED:
            continue
        reached = []
        for who, client in clients.items():
            client.raise_request_exception = False
            try:
                outcome, resp = walk.page_outcome(client, page)
            except AssertionError as exc:
                errors[f"{page.name} as {who}"] = str(exc)
                continue
            if outcome == walk.REACHED:
                reached.append(who)
            if resp.get("Content-Type", "").startswith("text/html"):
                found = walk.inline_scripts(resp.content.decode())
                if found:
                    inline[f"{page.name} as {who}"] = found
        if set(reached) != expected(PAGES[page.name]):
            wrong[page.name] = (sorted(reached), sorted(expected(PAGES[page.name])))

    assert errors == {}
    assert wrong == {}, "(reached by, declared)"
    assert inline == {}


@pytest.mark.django_db
def test_api_operations_are_reached_by_the_declared_roles(api_client_as: Callable[[str], Client]) -> None:
    clients = {ANONYMOUS: Client(), **{role: api_client_as(role) for role in ROLES}}
    root = walk.openapi()
    wrong: dict[str, tuple[list[str], list[str]]] = {}
    errors: dict[str, str] = {}
    for op in walk.operations():
        reached = []
        for who, client in clients.items():
            client.raise_request_exception = False
            try:
                outcome, resp = walk.operation_outcome(client, op, root)
            except AssertionError as exc:
                errors[f"{op.key} as {who}"] = str(exc)
                continue
            if outcome == walk.REACHED:
                reached.append(who)
            if outcome != walk.REACHED:  # every refusal is the API's error shape
                assert set(resp.json()) >= {"code", "message"}, op.key
        if set(reached) != expected(API[op.key]):
            wrong[op.key] = (sorted(reached), sorted(expected(API[op.key])))

    assert errors == {}
    assert wrong == {}, "(reached by, declared)"


def test_the_matrix_knows_the_roles_apart() -> None:
    """The table is not all STAFF: owners alone configure channels, agents alone of the non-managers work tickets,
    marketers alone of them run campaigns, customers' links are public."""
    assert expected(PAGES["messaging:channels"]) == {OWNER, MANAGER}
    assert expected(PAGES["service:queue"]) == {OWNER, MANAGER, AGENT}
    assert expected(PAGES["campaigns:list"]) == {OWNER, MANAGER, MARKETER}
    assert expected(PAGES["survey"]) == {ANONYMOUS, *ROLES}
    assert expected(API["POST /api/v1/tickets/assign"]) == {OWNER, MANAGER}


def test_every_public_page_is_limited_per_address() -> None:
    unlimited = [
        p.name
        for p in walk.pages()
        if PAGES.get(p.name) == PUBLIC
        and p.name not in UNLIMITED_PUBLIC
        and not getattr(resolve(p.url).func, "public_rate_limit", None)
    ]
    assert unlimited == []


@pytest.mark.parametrize(
    ("html", "found"),
    [
        ('<script src="/static/a.js"></script><script type="application/json" id="d">{}</script>', 0),
        ("<script>alert(1)</script>", 1),
        ('<select onchange="this.form.submit()"></select>', 1),
        ('<button hx-on:click="x()"></button>', 1),
        ('<a href=" JavaScript:history.back()">back</a>', 1),
        ('<script type="module">import x from "/x.js"</script><body onload="x()">', 2),
        ('<a href="/help/" data-confirm="Sure?">ok</a>', 0),
    ],
)
def test_the_inline_script_finder(html: str, found: int) -> None:
    assert len(walk.inline_scripts(html)) == found


# --- the same on real records: a page that looked a record up before checking the permission would show here ----


@pytest.fixture
def records(db: None) -> dict[str, str]:
    """One record of each kind behind a detail page; URL name -> the page's URL for that record."""
    from huitouke.audiences.services import segment_create
    from huitouke.campaigns.services import CampaignInput, campaign_save
    from huitouke.care.tests.factories import make_rule
    from huitouke.customers.tests.factories import CustomerFactory
    from huitouke.messaging.models import Template
    from huitouke.orders.tests.factories import OrderFactory, ShopFactory
    from huitouke.reviews.services import review_save
    from huitouke.service.services import ticket_create
    from huitouke.visits.models import VisitTask
    from huitouke.visits.services import visit_plan_create, visits_plan_run

    shop = ShopFactory.create(name="山岚茶食")
    customer = CustomerFactory.create(name="王小明", phone="13912345678")
    order = OrderFactory.create(shop=shop, customer=customer)
    ticket = ticket_create(customer=customer, order=order, type="inquiry", channel="phone", subject="何时发货")
    template = Template.objects.create(
        channel="sms", purpose="marketing", language="zh-hans", name="上新", body="亲，上新啦：{product}"
    )
    segment = segment_create(name="老客", definition={"conditions": [{"field": "order_count", "min": 1}]})
    campaign = campaign_save(
        data=CampaignInput(
            name="春茶",
            kind="new_products",
            segment_id=segment.pk,
            channel="sms",
            template_id=template.pk,
            shop_id=shop.pk,
            context={"product": "明前龙井"},
        )
    )
    rule = make_rule("birthday")
    review, _created = review_save(
        shop=shop, order_no=order.order_no, role="buyer", result="bad", created_at=order.ordered_at, content="太慢"
    )
    plan = visit_plan_create(
        shop=shop, name="回访", trigger="one_off", customer_ids=[customer.pk], channel="phone", assignment="pool"
    )
    visits_plan_run(at=timezone.now())
    task = VisitTask.objects.get(plan=plan)
    return {
        "reviews:detail": f"/reviews/{review.pk}/",
        "visits:task": f"/visits/tasks/{task.pk}/",
        "visits:plan-edit": f"/visits/plans/{plan.pk}/",
        "customers:privacy": f"/customers/{customer.pk}/privacy/",
        "customers:detail": f"/customers/{customer.pk}/",
        "service:ticket": f"/service/{ticket.pk}/",
        "campaigns:detail": f"/campaigns/{campaign.pk}/",
        "campaigns:edit": f"/campaigns/{campaign.pk}/edit/",
        "care:detail": f"/care/{rule.pk}/",
        "care:edit": f"/care/{rule.pk}/edit/",
        "audiences:edit": f"/segments/{segment.pk}/",
        "messaging:template-edit": f"/messages/templates/{template.pk}/",
        "loyalty:settings": f"/levels/{shop.pk}/",
        "help:shop": f"/help/s/{shop.pk}/",
    }


def test_detail_pages_of_real_records_follow_the_same_rules(
    client_as: Callable[[str], Client], records: dict[str, str]
) -> None:
    clients = {ANONYMOUS: outside(Client()), **{role: outside(client_as(role)) for role in ROLES}}
    wrong: dict[str, tuple[list[str], list[str]]] = {}
    inline: dict[str, list[str]] = {}
    shown: dict[str, int] = {}
    for name, url in records.items():
        assert resolve(url).view_name == name
        reached = []
        for who, client in clients.items():
            resp = client.get(url)
            if walk.classify(resp) == walk.REACHED:
                reached.append(who)
                shown[name] = resp.status_code
            if resp.get("Content-Type", "").startswith("text/html"):
                found = walk.inline_scripts(resp.content.decode())
                if found:
                    inline[f"{name} as {who}"] = found
        if set(reached) != expected(PAGES[name]):
            wrong[name] = (sorted(reached), sorted(expected(PAGES[name])))

    assert wrong == {}, "(reached by, declared)"
    assert inline == {}
    assert shown == dict.fromkeys(records, 200)  # real pages were rendered, not error pages
