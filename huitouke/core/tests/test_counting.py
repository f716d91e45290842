"""List counts: exact while cheap, the planner's estimate (marked) beyond; the customer list shows "about"."""

from __future__ import annotations

import pytest
from django.db import connection

from huitouke.core import counting
from huitouke.core.counting import ListCount, list_count
from huitouke.customers.models import Customer
from huitouke.customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_small_lists_are_counted_exactly():
    CustomerFactory.create_batch(12)
    assert list_count(Customer.objects.all(), exact_up_to=12) == ListCount(12, True)
    assert list_count(Customer.objects.filter(pk__lt=0), exact_up_to=5) == ListCount(0, True)


def test_longer_lists_are_estimated_on_postgresql_and_counted_on_sqlite():
    CustomerFactory.create_batch(12)
    counted = list_count(Customer.objects.all(), exact_up_to=5)
    if connection.vendor == "postgresql":
        assert counted.exact is False
        assert counted.value >= 6  # at least the rows seen
    else:
        assert counted == ListCount(12, True)


def test_customer_list_says_about_when_the_count_is_an_estimate(client_as, monkeypatch):
    manager_client = client_as("manager")
    manager_client.cookies["django_language"] = "en"
    CustomerFactory.create_batch(3)
    monkeypatch.setattr(counting, "EXACT_UP_TO", 2)
    monkeypatch.setattr(counting, "planner_estimate", lambda qs: 1234)
    body = manager_client.get("/customers/").content.decode()
    assert "about 1234 customers" in body
    monkeypatch.setattr(counting, "EXACT_UP_TO", 10)
    body = manager_client.get("/customers/").content.decode()
    assert "3 customers" in body
    assert "about" not in body.split('class="count"')[1][:80]


def test_review_list_says_about_when_the_count_is_an_estimate(client_as, monkeypatch):
    monkeypatch.setattr(counting, "EXACT_UP_TO", -1)  # even an empty list is "too long" to count
    monkeypatch.setattr(counting, "planner_estimate", lambda qs: 2_000_000)
    client = client_as("manager")
    client.cookies["django_language"] = "en"
    body = client.get("/reviews/").content.decode()
    assert "about 2000000 reviews" in body
