"""Keyset pagination (core/keyset.py): reading on from the last row gives exactly the rows OFFSET gives, for
descending and ascending orders with ties, and for a nullable column whose NULLs the order places; orders it
cannot follow are declined."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db.models import F
from django.http import QueryDict

from huitouke.core.keyset import after_id, rows_after
from huitouke.core.models import Job

pytestmark = pytest.mark.django_db


@pytest.fixture
def jobs() -> list[int]:
    """Nine jobs over three creation times (ties) and totals with NULLs and repeats."""
    totals = [5, None, 3, 5, None, 1, 3, None, 5]
    ids = []
    for n, total in enumerate(totals):
        job = Job.objects.create(kind="k", total=total)
        Job.objects.filter(pk=job.pk).update(created_at=datetime(2025, 1, 1 + n % 3, tzinfo=UTC))
        ids.append(job.pk)
    return ids


def walk(qs, size: int) -> list[list[int]]:
    """Every page of `qs`, each read on from the last row of the page before."""
    pages = [list(qs.values_list("pk", flat=True)[:size])]
    while pages[-1]:
        following = rows_after(qs, after_id=pages[-1][-1])
        assert following is not None
        pages.append(list(following.values_list("pk", flat=True)[:size]))
    return pages[:-1]


def offsets(qs, size: int) -> list[list[int]]:
    ids = list(qs.values_list("pk", flat=True))
    return [ids[i : i + size] for i in range(0, len(ids), size)]


@pytest.mark.parametrize(
    "order",
    [
        ("-created_at", "-id"),
        ("created_at", "id"),
        (F("total").asc(nulls_last=True), "id"),
        (F("total").desc(nulls_last=True), "-id"),
        (F("total").asc(nulls_first=True), "id"),
        (F("total").desc(nulls_first=True), "-id"),
        ("-created_at", F("total").asc(nulls_last=True), "id"),
    ],
)
@pytest.mark.parametrize("size", [1, 2, 4])
def test_every_keyset_page_equals_the_offset_page(jobs, order, size):
    qs = Job.objects.order_by(*order)
    assert walk(qs, size) == offsets(qs, size)
    assert sum(len(p) for p in walk(qs, size)) == 9


def test_the_models_own_ordering_is_followed(jobs):
    qs = Job.objects.all()  # Meta.ordering: -created_at, -id
    assert walk(qs, 2) == offsets(Job.objects.order_by("-created_at", "-id"), 2)


def test_a_filtered_list_reads_on_within_its_filter(jobs):
    qs = Job.objects.filter(total__isnull=False).order_by("-created_at", "-id")
    assert walk(qs, 2) == offsets(qs, 2)
    assert sum(len(p) for p in walk(qs, 2)) == 6


@pytest.mark.parametrize(
    "order",
    [
        ("total", "id"),  # NULLs not placed: the databases differ
        ("-created_at",),  # not ending in the id: not a total order
        ("created_by__username", "id"),  # a related column
    ],
)
def test_orders_it_cannot_follow_are_declined(jobs, order):
    assert rows_after(Job.objects.order_by(*order), after_id=jobs[0]) is None


def test_an_unknown_row_is_declined(jobs):
    assert rows_after(Job.objects.order_by("-created_at", "-id"), after_id=max(jobs) + 1) is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("after=12", 12),
        ("after=", None),
        ("after=-3", None),
        ("after=x", None),
        (f"after={'9' * 19}", None),
        ("", None),
    ],
)
def test_after_id_reads_only_plain_ids(query, expected):
    assert after_id(QueryDict(query)) == expected
