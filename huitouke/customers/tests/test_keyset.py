"""Keyset pagination of the customer list: reading on after a customer gives exactly the rows the offset would,
for every sort, with ties and customers without orders (NULL last order), on either database; the list's Next
link carries the cursor."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from huitouke.customers import selectors
from huitouke.customers.selectors import SORTS, CustomerFilter, customer_list, customer_list_after
from huitouke.customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def archive():
    when = [None, datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 3, 1, tzinfo=UTC), None]
    for i in range(12):
        CustomerFactory.create(
            name=f"客户{i % 5}",
            last_order_at=when[i % 4],
            total_spent=Decimal(100 * (i % 3)),
            order_count=i % 4,
        )


@pytest.mark.parametrize("sort", list(SORTS))
def test_reading_on_after_each_row_gives_the_rest_of_the_list(archive, sort):
    qs = customer_list(filters=CustomerFilter(sort=sort))
    full = [c.pk for c in qs]
    assert len(full) == 12
    for i, pk in enumerate(full):
        after = customer_list_after(qs, sort=sort, after_id=pk)
        assert after is not None
        assert [c.pk for c in after] == full[i + 1 :], (sort, i)


def test_an_unknown_cursor_is_ignored(archive):
    qs = customer_list(filters=CustomerFilter())
    assert customer_list_after(qs, sort="last_order", after_id=10**9) is None


def test_next_link_carries_the_cursor_and_the_page_reads_on(archive, client_as, settings, monkeypatch):
    settings.HUITOUKE_PAGE_SIZE = 5
    manager = client_as("manager")
    full = [c.pk for c in customer_list(filters=CustomerFilter(sort="spent"))]
    first = manager.get("/customers/", {"sort": "spent"}).content.decode()
    assert f"page=2&amp;after={full[4]}" in first
    calls: list[dict] = []
    real = selectors.customer_list_after

    def spy(qs, **kw):
        calls.append(kw)
        return real(qs, **kw)

    monkeypatch.setattr(selectors, "customer_list_after", spy)
    second = manager.get("/customers/", {"sort": "spent", "page": "2", "after": str(full[4])})
    assert calls == [{"sort": "spent", "after_id": full[4]}]
    assert [c.pk for c in second.context["page"].object_list] == full[5:10]


@pytest.mark.parametrize("sort", ["last_order", "spent", "-orders"])
def test_a_page_read_in_two_steps_is_the_page_in_order_with_its_annotations(archive, sort, django_assert_num_queries):
    filters = CustomerFilter(sort=sort, spent_min=Decimal(100))
    qs = customer_list(filters=filters)
    expected = list(selectors.customer_list_rows(qs)[2:7])
    assert len(expected) == 5
    with django_assert_num_queries(4):  # ids, rows with annotations, tags, identities
        rows = selectors.customer_page_rows(qs[2:7])
    assert [(c.pk, c.level, c.total_spent) for c in rows] == [(c.pk, c.level, c.total_spent) for c in expected]  # type: ignore[attr-defined]
    assert all(c.total_spent >= 100 for c in rows)
    after = customer_list_after(qs, sort=sort, after_id=expected[0].pk)
    assert after is not None
    assert [c.pk for c in selectors.customer_page_rows(after[:3])] == [c.pk for c in expected[1:4]]
