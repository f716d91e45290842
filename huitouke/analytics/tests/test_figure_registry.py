"""Figures other apps keep in FigureSnapshot: stored and read back with when they were computed, recomputed
when out of date, and refreshed through the registry, where one refresher's failure spares the others."""

from __future__ import annotations

from typing import Any

import pytest

from huitouke.analytics import snapshots
from huitouke.analytics.models import FigureSnapshot

pytestmark = pytest.mark.django_db


def test_read_stores_once_and_recomputes_when_out_of_date() -> None:
    calls: list[int] = []

    def compute() -> dict[str, int]:
        calls.append(1)
        return {"n": len(calls)}

    first = snapshots.figure_read(key="test.figure", compute=compute)
    again = snapshots.figure_read(key="test.figure", compute=compute)
    assert (first.value, again.value, again.computed_at, len(calls)) == ({"n": 1}, {"n": 1}, first.computed_at, 1)
    stale = snapshots.figure_read(key="test.figure", compute=compute, current=lambda v: v["n"] >= 2)
    assert (stale.value, len(calls)) == ({"n": 2}, 2)
    assert snapshots.figure_keys(prefix="test.") == ["test.figure"]
    snapshots.figures_forget(keys=["test.figure"])
    assert not FigureSnapshot.objects.filter(key__startswith="test.").exists()


def test_a_failing_refresher_spares_the_others() -> None:
    def broken() -> Any:
        FigureSnapshot.objects.create(key="test.half-written", value=b"", computed_at="2026-01-01T00:00:00Z")
        raise RuntimeError("boom")

    def fine() -> Any:
        return snapshots.figure_store(key="test.fine", compute=lambda: 42)

    snapshots.register_refresher("test.a-broken", broken)
    snapshots.register_refresher("test.b-fine", fine)
    try:
        took = snapshots.snapshots_refresh()
    finally:
        snapshots.unregister_refresher("test.a-broken")
        snapshots.unregister_refresher("test.b-fine")
    assert "test.a-broken" not in took
    assert "test.b-fine" in took
    assert snapshots.figure_read(key="test.fine", compute=lambda: 0).value == 42
    assert not FigureSnapshot.objects.filter(key="test.half-written").exists()  # rolled back with its failure
