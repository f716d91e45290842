"""POST /api/v1/orders against the real database: the import's writer, idempotence, bad rows, scope."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from huitouke.connectors.models import Source, SourceEvent
from huitouke.core.services import token_create
from huitouke.customers.models import Customer
from huitouke.loyalty.services import LevelSpec, levels_configure
from huitouke.orders.models import Order, OrderLine
from huitouke.orders.tests.factories import ShopFactory

URL = "/api/v1/orders"


def order(no: str, **over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "shop": "Tea House",
        "order_no": no,
        "buyer_handle": "tea_lover",
        "status": "paid",
        "total_amount": "100.00",
        "created_at": "2026-12-07T10:00:00+08:00",
        "paid_at": "2026-12-07T10:05:00+08:00",
        "lines": [{"product_id": "P1", "title": "Longjing", "quantity": 1, "price": "100"}],
    }
    base.update(over)
    return base


def push(client: Client, orders: list[Any]) -> Any:
    return client.post(URL, json.dumps({"orders": orders}), content_type="application/json")


@pytest.fixture
def shop(db: Any) -> Any:
    return ShopFactory(name="Tea House", platform="taobao")


@pytest.mark.django_db(transaction=True)
def test_push_creates_then_counts_unchanged_then_updates(shop: Any, api_client_as: Any) -> None:
    client = api_client_as("manager")
    first = push(client, [order("A1"), order("A2", buyer_handle="other", total_amount="50.00")])
    assert first.status_code == 200, first.content
    assert first.json() == {"created": 2, "updated": 0, "unchanged": 0, "rejected": []}
    again = push(client, [order("A1"), order("A2", buyer_handle="other", total_amount="50.00")])
    assert again.json() == {"created": 0, "updated": 0, "unchanged": 2, "rejected": []}
    shipped = order("A1", status="shipped", shipped_at="2026-12-08T09:00:00+08:00", carrier="SF", tracking_no="1")
    changed = push(client, [shipped, order("A2", buyer_handle="other", total_amount="50.00")])
    assert changed.json() == {"created": 0, "updated": 1, "unchanged": 1, "rejected": []}
    a1 = Order.objects.get(shop=shop, order_no="A1")
    assert (a1.status, a1.logistics_company, a1.tracking_no) == ("shipped", "SF", "1")
    assert OrderLine.objects.filter(order=a1).count() == 1
    buyer = Customer.objects.get(identities__handle="tea_lover")
    assert (buyer.order_count, buyer.total_spent) == (1, Decimal("100.00"))  # stats refreshed
    source = Source.objects.get(shop=shop, kind="push")
    assert list(SourceEvent.objects.filter(source=source).order_by("at").values_list("orders", "ok")) == [
        (2, True),
        (2, True),
        (2, True),
    ]


@pytest.mark.django_db(transaction=True)
def test_bad_orders_are_rejected_and_the_others_written(shop: Any, api_client_as: Any) -> None:
    client = api_client_as("manager")
    answer = push(client, [order("B1"), order("B2", status="lost"), 7, order("B3", shop="Elsewhere"), order("B4")])
    assert answer.status_code == 200
    assert answer.json() == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "rejected": [
            {"index": 1, "field": "status", "message": answer.json()["rejected"][0]["message"]},
            {"index": 2, "field": "order", "message": "an order is a JSON object"},
            {"index": 3, "field": "shop", "message": "no shop is named 'Elsewhere'"},
        ],
    }
    assert "'pending'" in answer.json()["rejected"][0]["message"]
    assert sorted(Order.objects.values_list("order_no", flat=True)) == ["B1", "B4"]
    event = SourceEvent.objects.get()
    assert (event.orders, event.ok) == (2, False)
    assert event.reason.startswith("3 of 5 orders rejected; index 1, status:")


@pytest.mark.django_db(transaction=True)
def test_levels_are_regraded_for_the_touched_buyers(shop: Any, api_client_as: Any, owner: Any) -> None:
    levels_configure(
        shop=shop,
        specs=[LevelSpec(name="Silver", min_amount=Decimal("150"), min_orders=2, discount=95)],
        window_months=None,
        downgrade="never",
        grace_days=30,
        actor=owner,
    )
    client = api_client_as("manager")
    push(client, [order("C1")])
    buyer = Customer.objects.get(identities__handle="tea_lover")
    assert "Silver" not in buyer.memberships.values_list("level__name", flat=True)
    push(client, [order("C2")])
    assert list(buyer.memberships.values_list("level__name", flat=True)) == ["Silver"]


def test_more_than_a_thousand_orders_is_refused_whole(shop: Any, api_client_as: Any) -> None:
    answer = push(api_client_as("manager"), [order(f"D{i}") for i in range(1001)])
    assert answer.status_code == 413
    assert answer.json() == {
        "code": "too_large",
        "message": "a push carries at most 1000 orders, this one 1001",
        "field": "orders",
    }
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "orders"), ({"orders": {"a": 1}}, "orders"), ({"orders": "x"}, "orders")],
)
def test_a_body_without_a_list_of_orders_is_invalid(shop: Any, api_client_as: Any, body: Any, field: str) -> None:
    answer = api_client_as("manager").post(URL, json.dumps(body), content_type="application/json")
    assert answer.status_code == 422
    assert answer.json()["field"] == field


def test_pushing_needs_add_order(shop: Any, api_client_as: Any) -> None:
    answer = push(api_client_as("marketer"), [order("E1")])
    assert answer.status_code == 403
    assert answer.json()["message"] == "you lack the permission orders.add_order"
    assert not Order.objects.exists()


def test_a_push_scoped_token_may_push_and_nothing_else(shop: Any, manager: Any) -> None:
    _token, key = token_create(user=manager, name="erp", scope="orders_push")
    client = Client(headers={"Authorization": f"Bearer {key}"})
    assert push(client, [order("F1")]).json()["created"] == 1
    refused = client.get("/api/v1/me")
    assert refused.status_code == 403
    assert refused.json() == {"code": "forbidden", "message": "this token is limited to the scope orders_push"}
    assert client.get("/api/v1/customers").status_code == 403


def test_unknown_scope_is_refused(manager: Any) -> None:
    from huitouke.core.errors import ApplicationError

    with pytest.raises(ApplicationError, match="unknown scope 'all'"):
        token_create(user=manager, scope="all")


def test_the_openapi_document_describes_each_pushed_order(client: Client) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/orders"]["post"]
    assert "413" in operation["responses"]
    body = schema["components"]["schemas"]["OrderPushIn"]["properties"]["orders"]
    assert body["maxItems"] == 1000
    item = body["items"]
    assert {"shop", "order_no", "buyer_handle", "status", "created_at", "carrier", "tracking_no", "lines"} <= set(
        item["properties"]
    )
    assert set(item["properties"]["lines"]["items"]["properties"]) == {
        "product_id", "title", "sku", "quantity", "price", "amount", "refund_state",
    }  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_concurrent_pushes_sharing_new_buyers_and_products_all_succeed(shop: Any, manager: Any) -> None:
    import threading

    from django.db import connection

    _token, key = token_create(user=manager, name="erp", scope="orders_push")
    answers: list[Any] = []

    def client(n: int) -> None:
        c = Client(headers={"Authorization": f"Bearer {key}"})
        batch = [
            order(f"T{n}-{i}", buyer_handle=f"shared{i % 7}",
                  lines=[{"product_id": f"NEW{i % 5}", "title": f"new {i % 5}", "price": "100"}])
            for i in range(40)
        ]  # fmt: skip
        answers.append(push(c, batch))
        connection.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a.status_code for a in answers) == [200] * 4
    assert sum(a.json()["created"] for a in answers) == 160
    assert Customer.objects.filter(identities__handle__startswith="shared").count() == 7
    assert Order.objects.count() == 160
    counts = Customer.objects.filter(identities__handle__startswith="shared").values_list("order_count", flat=True)
    assert sorted(counts) == [20, 20, 24, 24, 24, 24, 24]  # 40 orders per client over 7 buyers, stats refreshed


def test_a_body_beyond_the_upload_limit_is_413_json(shop: Any, api_client_as: Any, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    answer = push(api_client_as("manager"), [order(f"G{i}", buyer_remark="x" * 900) for i in range(20)])
    assert answer.status_code == 413
    assert answer.json() == {
        "code": "too_large",
        "message": "the request body is larger than 10000 bytes: send fewer records",
    }


@pytest.mark.django_db(transaction=True)
def test_concurrent_pushes_sharing_existing_buyers_in_any_order_keep_their_stats(shop: Any, manager: Any) -> None:
    """Buyers known before, listed in opposite orders by the concurrent pushes: their rows are locked in id order
    once the orders are written, so no push fails on a deadlock, and each stats refresh sees the others' orders."""
    import threading

    from django.db import connection

    _token, key = token_create(user=manager, name="erp", scope="orders_push")
    first = push(
        Client(headers={"Authorization": f"Bearer {key}"}), [order(f"K{i}", buyer_handle=f"known{i}") for i in range(6)]
    )
    assert first.json()["created"] == 6
    answers: list[Any] = []

    def client(n: int) -> None:
        c = Client(headers={"Authorization": f"Bearer {key}"})
        handles = [f"known{i}" for i in range(6)]
        if n % 2:
            handles.reverse()
        answers.append(push(c, [order(f"R{n}-{i}", buyer_handle=handle) for i, handle in enumerate(handles * 5)]))
        connection.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a.status_code for a in answers) == [200] * 4
    assert sum(a.json()["created"] for a in answers) == 120
    counts = Customer.objects.filter(identities__handle__startswith="known").values_list("order_count", flat=True)
    assert sorted(counts) == [21] * 6  # 1 + 4 pushes × 5 orders each


@pytest.mark.django_db(transaction=True)
def test_a_push_sharing_a_buyer_with_a_push_in_flight_writes_its_orders_before_it_waits(
    shop: Any, manager: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Concurrent pushes sharing a known buyer overlap until that buyer's row is written: the second writes its
    orders while the first still holds the buyer, and its stats refresh, after the first commits, counts both."""
    import threading

    from django.db import connection

    from huitouke.connectors import services

    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writes")
    _token, key = token_create(user=manager, name="erp", scope="orders_push")
    assert (
        push(Client(headers={"Authorization": f"Bearer {key}"}), [order("S0", buyer_handle="shared")]).json()["created"]
        == 1
    )
    holding, release, second_wrote = threading.Event(), threading.Event(), threading.Event()
    real_finish, real_apply = services._LiveWriter._buyers_finish, services._LiveWriter._apply

    def finish(self: Any, now: Any) -> None:
        real_finish(self, now)  # the buyers' rows locked and written
        if threading.current_thread().name == "first":
            holding.set()
            release.wait(30)

    def apply(self: Any, *args: Any) -> None:
        real_apply(self, *args)  # the orders written
        if threading.current_thread().name == "second":
            second_wrote.set()

    monkeypatch.setattr(services._LiveWriter, "_buyers_finish", finish)
    monkeypatch.setattr(services._LiveWriter, "_apply", apply)
    answers: dict[str, Any] = {}

    def client(name: str, orders: list[dict[str, Any]]) -> None:
        answers[name] = push(Client(headers={"Authorization": f"Bearer {key}"}), orders)
        connection.close()

    first = threading.Thread(target=client, name="first", args=("first", [order("S1", buyer_handle="shared")]))
    second = threading.Thread(
        target=client,
        name="second",
        args=("second", [order("S2", buyer_handle="shared"), order("S3", buyer_handle="new")]),
    )
    first.start()
    assert holding.wait(30)
    second.start()
    wrote_meanwhile = second_wrote.wait(10)
    release.set()
    first.join()
    second.join()
    assert wrote_meanwhile
    assert (answers["first"].status_code, answers["second"].status_code) == (200, 200)
    assert Customer.objects.get(identities__handle="shared").order_count == 3


@pytest.mark.django_db
def test_a_push_looks_its_orders_and_buyers_up_without_reading_the_shops_others(shop: Any, api_client_as: Any) -> None:
    """Each order number and buyer handle is searched in its unique index, whatever the planner's statistics say
    (none here: the tables were never analysed): a push of 20 orders reads the rows of its own buyers, not the
    1,500 orders and 300 buyers already archived (as a join it hashed them all, for every batch)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's plans and row counters")
    client = api_client_as("manager")
    for start in range(0, 1500, 500):
        batch = [order(f"H{i}", buyer_handle=f"b{i % 300}") for i in range(start, start + 500)]
        assert push(client, batch).json()["created"] == 500
    tables = ["orders_order", "customers_customeridentity", "customers_customer"]

    def rows_read() -> dict[str, int]:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT relname, seq_tup_read + COALESCE(idx_tup_fetch, 0) FROM pg_stat_xact_user_tables"
                " WHERE relname = ANY(%s)",
                [tables],
            )
            return dict(cur.fetchall())

    before = rows_read()
    answer = push(client, [order(f"N{i}", buyer_handle=f"b{i}") for i in range(20)])
    assert answer.json()["created"] == 20
    after = rows_read()
    read = {table: after[table] - before[table] for table in tables}
    # the 20 buyers' counted orders for their stats (5 archived + 1 new each), their identities and rows
    assert read["orders_order"] <= 20 * 6
    assert read["customers_customeridentity"] <= 20
    assert read["customers_customer"] <= 3 * 20
