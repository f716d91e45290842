"""read_ahead: same items in the same order, producer errors surface in the consumer, early stops clean up."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huitouke.core.readahead import read_ahead


@given(st.lists(st.integers(), max_size=300), st.integers(1, 50), st.integers(1, 5))
def test_yields_every_item_in_order(items, chunk, depth):
    assert list(read_ahead(items, chunk=chunk, depth=depth)) == items


def test_the_producer_runs_in_another_thread():
    seen: list[str] = []

    def source() -> Iterator[int]:
        for i in range(3):
            seen.append(threading.current_thread().name)
            yield i

    assert list(read_ahead(source())) == [0, 1, 2]
    assert set(seen) == {"read-ahead"}


def test_a_producer_error_is_raised_after_the_items_before_it():
    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("row 3 is broken")

    got: list[int] = []
    with pytest.raises(ValueError, match="row 3 is broken"):
        got.extend(read_ahead(source(), chunk=1))
    assert got == [1, 2]


def test_stopping_early_stops_and_closes_the_producer():
    closed = threading.Event()
    produced: list[int] = []

    def source() -> Iterator[int]:
        try:
            for i in range(1_000_000):
                produced.append(i)
                yield i
        finally:
            closed.set()

    stream = read_ahead(source(), chunk=10, depth=2)
    assert [next(stream) for _ in range(5)] == [0, 1, 2, 3, 4]
    stream.close()
    assert closed.is_set()
    assert len(produced) < 1000  # bounded by chunk × depth, not the whole source


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="at least 1"):
        list(read_ahead([1], chunk=0))
