"""Follow-ups on notes (seed 001: note a buyer and get back to them tomorrow): the service rules against the real
database, the 360 form, the "my follow-ups" page, the dashboard tile and the API."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.test import Client
from freezegun import freeze_time

from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.core.services import user_create
from huitouke.customers import selectors, services
from huitouke.customers.models import Note
from huitouke.customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

API = "/api/v1"
SHANGHAI = ZoneInfo("Asia/Shanghai")
#: 23:30 UTC on 5 May is already 6 May in Shanghai: "today" is the business date, not the UTC one.
NOW = datetime(2025, 5, 5, 23, 30, tzinfo=ZoneInfo("UTC"))
TODAY = date(2025, 5, 6)


@pytest.fixture
def frozen():
    import huitouke.urls  # noqa: F401  (the API's schemas are built before freezegun swaps `date`)

    with freeze_time(NOW):
        yield


@pytest.fixture
def buyer():
    return CustomerFactory.create(name="王小二")


def _note(customer: Any, author: Any, day: date | None, owner: Any = None, body: str = "call back") -> Note:
    return services.note_add(customer=customer, author=author, body=body, follow_up_on=day, follow_up_owner=owner)


# --- services -------------------------------------------------------------------------------------------------


def test_a_follow_up_defaults_to_the_author(frozen, agent, buyer):
    note = _note(buyer, agent, TODAY + timedelta(days=1))

    note.refresh_from_db()
    assert (note.follow_up_on, note.follow_up_owner, note.follow_up_done_at) == (date(2025, 5, 7), agent, None)
    assert note.follow_up_open


def test_a_note_without_a_day_has_no_follow_up(frozen, agent, buyer):
    note = _note(buyer, agent, None)

    assert (note.follow_up_on, note.follow_up_owner) == (None, None)
    assert not note.follow_up_open


@pytest.mark.parametrize(
    ("day", "owner_role", "field"),
    [
        (date(2025, 5, 5), None, "follow_up_on"),  # yesterday in Shanghai (today in UTC)
        (TODAY + timedelta(days=732), None, "follow_up_on"),
        (None, "manager", "follow_up_on"),  # an owner without a day
    ],
)
def test_bad_follow_ups_are_refused_naming_the_field(frozen, agent, make_user, buyer, day, owner_role, field):
    owner = make_user(owner_role) if owner_role else None

    with pytest.raises(ApplicationError) as exc:
        _note(buyer, agent, day, owner)

    assert exc.value.field == field
    assert Note.objects.count() == 0


def test_the_owner_must_be_able_to_see_customers(frozen, agent, buyer):
    outsider = User.objects.create_user("outsider", password="x")
    inactive = user_create(username="gone", role="agent", password="pass-word-123", validate=False)
    inactive.is_active = False
    inactive.save()

    for owner in (outsider, inactive):
        with pytest.raises(ApplicationError) as exc:
            _note(buyer, agent, TODAY, owner)
        assert exc.value.field == "follow_up_owner"
    assert Note.objects.count() == 0
    assert [u.username for u in selectors.follow_up_owner_choices()] == ["agent1"]


def test_today_and_the_last_allowed_day_are_accepted(frozen, agent, buyer):
    assert _note(buyer, agent, TODAY).follow_up_on == TODAY
    assert _note(buyer, agent, TODAY + timedelta(days=731)).follow_up_on == date(2027, 5, 7)


def test_open_follow_ups_are_per_owner_and_due_by_day(frozen, agent, manager, buyer):
    other = CustomerFactory.create(name="李四")
    with freeze_time("2025-05-01 02:00:00"):
        overdue = _note(buyer, agent, date(2025, 5, 2), body="overdue")
    due = _note(other, manager, TODAY, agent, body="due today")
    coming = _note(buyer, agent, TODAY + timedelta(days=1), body="tomorrow")
    _note(buyer, agent, TODAY, manager, body="the manager's")
    done = _note(buyer, agent, TODAY, body="done already")
    services.note_follow_up_done(note=done, actor=agent)

    assert list(selectors.follow_ups_open(owner=agent)) == [overdue, due, coming]
    assert list(selectors.follow_ups_open(owner=agent, due_by=TODAY)) == [overdue, due]
    assert [n.body for n in selectors.follow_ups_open(owner=manager)] == ["the manager's"]


def test_marking_done_twice_keeps_the_first_time(agent, buyer):
    with freeze_time("2025-05-06 01:00:00"):
        note = _note(buyer, agent, date(2025, 5, 6))
        services.note_follow_up_done(note=note, actor=agent)
    with freeze_time("2025-05-07 01:00:00"):
        services.note_follow_up_done(note=note, actor=agent)

    note.refresh_from_db()
    assert note.follow_up_done_at == datetime(2025, 5, 6, 1, 0, tzinfo=ZoneInfo("UTC"))


def test_marking_done_a_note_without_follow_up_is_refused(agent, buyer):
    note = _note(buyer, agent, None)

    with pytest.raises(ApplicationError) as exc:
        services.note_follow_up_done(note=note, actor=agent)
    assert exc.value.field == "follow_up_on"


def test_a_follow_up_moves_with_a_merge(frozen, agent, buyer):
    target = CustomerFactory.create(name="target")
    note = _note(buyer, agent, TODAY)

    services.customer_merge(source_id=buyer.pk, target_id=target.pk, actor=agent)

    assert [n.customer_id for n in selectors.follow_ups_open(owner=agent)] == [target.pk]
    assert note.pk == selectors.follow_ups_open(owner=agent).get().pk


# --- pages ------------------------------------------------------------------------------------------------------


def test_the_360_form_adds_a_follow_up_for_a_colleague(frozen, client_as, make_user, buyer):
    colleague = make_user("manager", username="colleague")
    client = client_as("agent")

    page = client.get(f"/customers/{buyer.pk}/").content.decode()
    response = client.post(
        f"/customers/{buyer.pk}/notes/",
        {"body": "wants the blue one", "follow_up_on": "2025-05-07", "follow_up_owner": colleague.pk},
        headers={"HX-Request": "true"},
    )

    assert 'name="follow_up_on"' in page
    assert f'<option value="{colleague.pk}">colleague</option>' in page
    note = Note.objects.get()
    assert note.author is not None
    assert (note.follow_up_on, note.follow_up_owner, note.author.username) == (
        date(2025, 5, 7),
        colleague,
        "agent-client",
    )
    html = response.content.decode()
    assert "2025年5月7日 跟进 · colleague" in html


def test_the_360_form_names_a_past_day(frozen, client_as, buyer):
    response = client_as("agent").post(
        f"/customers/{buyer.pk}/notes/",
        {"body": "x", "follow_up_on": "2025-05-05"},
        headers={"HX-Request": "true"},
    )

    assert "跟进日期已经过去了。" in response.content.decode()
    assert Note.objects.count() == 0


def test_my_follow_ups_page_lists_due_and_coming_and_marks_done(frozen, client_as, buyer):
    client = client_as("agent")
    me = User.objects.get(username="agent-client")
    with freeze_time("2025-05-01 02:00:00"):
        overdue = _note(buyer, me, date(2025, 5, 3), body="overdue one")
    _note(buyer, me, date(2025, 5, 8), body="later one")

    page = client.get("/customers/follow-ups/")
    html = page.content.decode()
    done = client.post(f"/customers/{buyer.pk}/notes/{overdue.pk}/done/", {"next": "/customers/follow-ups/"})
    after = client.get("/customers/follow-ups/").content.decode()

    assert page.status_code == 200
    due_part = html[html.index('id="follow-ups-due"') : html.index('id="follow-ups-coming"')]
    assert "overdue one" in due_part
    assert "later one" not in due_part
    assert '2025年5月3日 <span class="badge warn">已逾期</span>' in due_part
    assert "截至今天（2025年5月6日）到期：1" in html
    assert "later one" in html[html.index('id="follow-ups-coming"') :]
    assert done.status_code == 302
    assert done["Location"] == "/customers/follow-ups/"
    assert "overdue one" not in after
    assert Note.objects.get(pk=overdue.pk).follow_up_done_at == NOW


def test_the_follow_ups_page_is_in_english_too(frozen, client_as, buyer):
    client = client_as("agent")
    client.cookies["django_language"] = "en"
    me = User.objects.get(username="agent-client")
    _note(buyer, me, TODAY, body="ring")

    html = client.get("/customers/follow-ups/", headers={"Accept-Language": "en"}).content.decode()

    assert "May 6, 2025" in html
    assert "Due by today, May 6, 2025: 1" in html


def test_done_for_a_note_of_another_customer_is_404(frozen, client_as, agent, buyer):
    note = _note(buyer, agent, TODAY)
    other = CustomerFactory.create()

    assert client_as("agent").post(f"/customers/{other.pk}/notes/{note.pk}/done/").status_code == 404


def test_marketers_cannot_mark_done(frozen, client_as, agent, buyer):
    note = _note(buyer, agent, TODAY)

    assert client_as("marketer").post(f"/customers/{buyer.pk}/notes/{note.pk}/done/").status_code == 403
    assert Note.objects.get(pk=note.pk).follow_up_done_at is None


def test_the_dashboard_shows_my_due_follow_ups(frozen, client_as, make_user, buyer):
    client = client_as("manager")
    me = User.objects.get(username="manager-client")
    other = make_user("manager", username="other")
    with freeze_time("2025-05-01 02:00:00"):
        _note(buyer, me, date(2025, 5, 2))
    _note(buyer, me, TODAY)
    _note(buyer, me, TODAY + timedelta(days=1))  # not due yet
    _note(buyer, other, TODAY)  # someone else's

    html = client.get("/").content.decode()

    tile = html[html.index('id="tile-follow-ups"') :]
    tile = tile[: tile.index("</div>")]
    assert '<a href="/customers/follow-ups/">2</a>' in tile
    assert "我今天要跟进的" in tile
    assert "1 条已逾期" in tile


# --- API --------------------------------------------------------------------------------------------------------


def _post(client: Client, url: str, body: object) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json")


def test_api_notes_carry_the_follow_up(frozen, api_client_as, make_user, buyer):
    make_user("manager", username="mgr")
    client = api_client_as("agent")

    created = _post(
        client,
        f"{API}/customers/{buyer.pk}/notes",
        {"body": "send the invoice", "follow_up_on": "2025-05-07", "follow_up_owner": "mgr"},
    )
    mine = _post(client, f"{API}/customers/{buyer.pk}/notes", {"body": "ring", "follow_up_on": "2025-05-06"})
    listed = client.get(f"{API}/customers/{buyer.pk}/notes").json()

    assert created.status_code == 201
    body = created.json()
    assert (body["follow_up_on"], body["follow_up_owner"], body["follow_up_done_at"]) == ("2025-05-07", "mgr", None)
    assert mine.json()["follow_up_owner"] == "agent-api"
    assert {(n["body"], n["follow_up_on"], n["follow_up_owner"]) for n in listed} == {
        ("send the invoice", "2025-05-07", "mgr"),
        ("ring", "2025-05-06", "agent-api"),
    }


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"body": "x", "follow_up_on": "2025-05-05"}, 400, "follow_up_on"),
        ({"body": "x", "follow_up_on": "2025-05-07", "follow_up_owner": "nobody"}, 404, "follow_up_owner"),
        ({"body": "x", "follow_up_owner": "agent-api"}, 400, "follow_up_on"),
    ],
)
def test_api_bad_follow_ups_name_the_field(frozen, api_client_as, buyer, body, status, field):
    response = _post(api_client_as("agent"), f"{API}/customers/{buyer.pk}/notes", body)

    assert (response.status_code, response.json()["field"]) == (status, field)
    assert Note.objects.count() == 0


def test_api_marks_done_and_lists_my_follow_ups(frozen, api_client_as, buyer):
    client = api_client_as("agent")
    due = _post(client, f"{API}/customers/{buyer.pk}/notes", {"body": "a", "follow_up_on": "2025-05-06"}).json()
    later = _post(client, f"{API}/customers/{buyer.pk}/notes", {"body": "b", "follow_up_on": "2025-05-09"}).json()

    all_open = client.get(f"{API}/follow-ups").json()
    due_now = client.get(f"{API}/follow-ups?due=true").json()
    done = _post(client, f"{API}/customers/{buyer.pk}/notes/{due['id']}/done", {})
    after = client.get(f"{API}/follow-ups").json()

    assert [n["id"] for n in all_open] == [due["id"], later["id"]]
    assert [n["id"] for n in due_now] == [due["id"]]
    assert done.status_code == 200
    assert done.json()["follow_up_done_at"].startswith("2025-05-05T23:30:00")
    assert [n["id"] for n in after] == [later["id"]]


def test_api_done_errors(frozen, api_client_as, buyer):
    client = api_client_as("agent")
    plain = _post(client, f"{API}/customers/{buyer.pk}/notes", {"body": "plain"}).json()

    no_follow_up = _post(client, f"{API}/customers/{buyer.pk}/notes/{plain['id']}/done", {})
    unknown = _post(client, f"{API}/customers/{buyer.pk}/notes/999999/done", {})
    marketer = _post(api_client_as("marketer"), f"{API}/customers/{buyer.pk}/notes/{plain['id']}/done", {})

    assert (no_follow_up.status_code, no_follow_up.json()["field"]) == (400, "follow_up_on")
    assert (unknown.status_code, unknown.json()["field"]) == (404, "note_id")
    assert marketer.status_code == 403


def test_selector_not_found_names_the_note(buyer):
    with pytest.raises(NotFoundError):
        selectors.note_get(customer_id=buyer.pk, note_id=1)


def test_the_follow_ups_page_runs_a_fixed_number_of_queries(frozen, client_as):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_as("agent")
    me = User.objects.get(username="agent-client")
    _note(CustomerFactory.create(name="first"), me, TODAY)
    with CaptureQueriesContext(connection) as one:
        client.get("/customers/follow-ups/")
    for i in range(6):
        _note(CustomerFactory.create(name=f"c{i}"), me, TODAY + timedelta(days=i % 3))

    with CaptureQueriesContext(connection) as seven:
        html = client.get("/customers/follow-ups/").content.decode()

    assert len(seven.captured_queries) == len(one.captured_queries) <= 9
    assert html.count(">标记完成</button>") == 7
