"""Run a pure producer (a file parser) in a background thread while the caller writes what it produced.

An import alternates between parsing (pure Python, holds the GIL) and writing (waiting on the database server,
which releases it). Reading ahead in a thread lets the database work on one batch while the next is parsed, so
the two overlap instead of adding up. Only the producer moves to the thread: the consumer keeps its own thread,
database connection and transaction, so nothing about how the writes commit or roll back changes.

The producer must not touch the database or anything thread-bound. Items cross in chunks (one queue operation
per `chunk` items) and at most `depth` chunks wait, which bounds the memory held ahead of the consumer.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterable
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def read_ahead(source: Iterable[T], *, chunk: int = 1000, depth: int = 8) -> Generator[T, None, None]:
    """Iterate `source` in a daemon thread, yielding its items here in the same order.

    An exception raised by the producer is re-raised in the consumer at the point where it happened. When the
    consumer stops early (break, exception, close), the producer is told to stop and the source is closed.
    """
    if chunk < 1 or depth < 1:
        raise ValueError("chunk and depth must be at least 1")
    handoff: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        iterator = iter(source)
        try:
            buffer: list[T] = []
            for item in iterator:
                buffer.append(item)
                if len(buffer) >= chunk:
                    if not put(buffer):
                        return
                    buffer = []
            if buffer and not put(buffer):
                return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(_Failed(exc))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            got = handoff.get()
            if got is _DONE:
                return
            if isinstance(got, _Failed):
                raise got.exc
            yield from got  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()
