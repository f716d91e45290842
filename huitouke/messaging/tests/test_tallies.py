"""The kept message counts (MessageTally, kept by triggers) equal a full recount after every kind of write: the
enqueue (INSERT … ON CONFLICT, a failed key queued again in place), the dispatcher's set-based updates, manual
tasks, pausing / resuming / cancelling a source, resending, raw bulk UPDATEs that move messages between sources,
deletes — in random sequences (hypothesis), on whichever database the suite runs on."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huitouke.customers.tests.factories import CustomerFactory
from huitouke.messaging import tallies
from huitouke.messaging.control import messages_cancel_source, messages_pause_source, messages_resume_source
from huitouke.messaging.dispatch import messages_dispatch
from huitouke.messaging.models import Message, MessageTally, SourceKind
from huitouke.messaging.services import (
    OutgoingMessage,
    SourceRef,
    channel_config_save,
    manual_task_mark_sent,
    manual_task_skip,
    message_enqueue_many,
    messages_resend,
)
from huitouke.orders.models import Shop

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_wake")]

SOURCES = (1, 2, 3)


@pytest.fixture(autouse=True)
def _tally_of_this_database(db):
    """Start from the tally of what is in the database: on SQLite a transactional test's flush (DELETE FROM each
    table, in no fixed order) may empty the tally before the messages, whose delete trigger then leaves negative
    rows of sources that no longer exist (harmless to pages, whose sources are gone; not to a whole-table
    comparison)."""
    tallies.tallies_rebuild()


def _type_id() -> int:
    return ContentType.objects.get_for_model(Shop).pk  # any content type serves as the sources' type


def _enqueue(customers: list[Any], keys: list[int], source: int, channel: str, purpose: str) -> int:
    ref = SourceRef(SourceKind.CAMPAIGN, _type_id(), source)
    rows = [
        OutgoingMessage(
            idempotency_key=f"k{k}",
            channel=channel,
            purpose=purpose,
            customer_id=customers[k % len(customers)].pk,
            source=ref,
            body="您好",
        )
        for k in keys
    ]
    return message_enqueue_many(messages=rows, retry_failed=True)


def _recount() -> dict[tuple[int, int, str, str, str], int]:
    counts: dict[tuple[int, int, str, str, str], int] = {}
    for m in Message.objects.filter(source_id__isnull=False):
        key = (int(m.source_type_id or 0), int(m.source_id or 0), m.purpose, m.status, m.reason)
        counts[key] = counts.get(key, 0) + 1
    return counts


def _assert_kept_equals_recount() -> None:
    assert tallies.kept_counts() == _recount()
    assert tallies.kept_counts() == tallies.recounted()
    assert tallies.tallies_check() == {}


def _apply(op: tuple[Any, ...], customers: list[Any], agent: Any) -> None:
    kind = op[0]
    type_id = _type_id()
    if kind == "enqueue":
        _, keys, source, channel, purpose = op
        _enqueue(customers, keys, source, channel, purpose)
    elif kind == "dispatch":
        messages_dispatch(batch_size=op[1])
    elif kind == "task":  # an agent works the oldest manual task
        task = Message.objects.filter(channel="manual", status="sending", lease_until__isnull=True).first()
        if task is not None:
            (manual_task_mark_sent if op[1] else manual_task_skip)(message_id=task.pk, actor=agent)
    elif kind == "pause":
        messages_pause_source(kind=SourceKind.CAMPAIGN, type_id=type_id, object_id=op[1])
    elif kind == "resume":
        messages_resume_source(kind=SourceKind.CAMPAIGN, type_id=type_id, object_id=op[1])
    elif kind == "cancel":
        messages_cancel_source(kind=SourceKind.CAMPAIGN, type_id=type_id, object_id=op[1])
    elif kind == "resend":
        messages_resend(source_kind=SourceKind.CAMPAIGN, source_type_id=type_id, source_id=op[1])
    elif kind == "move":  # a bulk UPDATE moving messages to another source, or out of any (the raw-SQL path)
        _, source, target = op
        with connection.cursor() as cur:
            if target:
                cur.execute(
                    "UPDATE messaging_message SET source_id = %s, status = 'expired', reason = 'deadline_passed' "
                    "WHERE source_id = %s",
                    [target, source],
                )
            else:
                cur.execute(
                    "UPDATE messaging_message SET source_id = NULL, source_type_id = NULL WHERE source_id = %s",
                    [source],
                )
    elif kind == "delete":
        Message.objects.filter(source_id=op[1], status=op[2]).delete()
    elif kind == "fold":
        tallies.tallies_fold(limit=op[1])
    else:  # pragma: no cover - the strategy makes only the kinds above
        raise AssertionError(kind)


_keys = st.lists(st.integers(0, 11), min_size=1, max_size=6)
_source = st.sampled_from(SOURCES)
OPS = st.one_of(
    st.tuples(
        st.just("enqueue"),
        _keys,
        _source,
        st.sampled_from(["manual", "sms", "email"]),
        st.sampled_from(["care", "marketing", "service"]),
    ),
    st.tuples(st.just("dispatch"), st.integers(1, 5)),
    st.tuples(st.just("task"), st.booleans()),
    st.tuples(st.sampled_from(["pause", "resume", "cancel", "resend"]), _source),
    st.tuples(st.just("move"), _source, st.sampled_from([0, *SOURCES])),
    st.tuples(st.just("delete"), _source, st.sampled_from([s.value for s in Message.Status])),
    st.tuples(st.just("fold"), st.integers(1, 20)),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(OPS, min_size=1, max_size=12))
def test_kept_counts_equal_a_recount_after_any_sequence_of_writes(ops):
    with transaction.atomic():
        channel_config_save(shop_id=None, channel="manual", provider="manual", options={})
        customers = [
            CustomerFactory.create(phone="13800000001", name="小王"),
            CustomerFactory.create(phone="", email="", name="小李"),  # no address: suppressed no_address
        ]
        agent = SimpleNamespace(username="agent")  # who works a task: only the name is recorded
        for op in ops:
            _apply(op, customers, agent)
            _assert_kept_equals_recount()
        tallies.tallies_fold()
        _assert_kept_equals_recount()
        assert not MessageTally.objects.filter(folded=False).exists()  # the fold took every delta
        assert not MessageTally.objects.filter(n=0).exists()  # and dropped the totals that came to zero
        transaction.set_rollback(True)


def test_one_grouped_delta_per_key_and_statement_then_folded():
    """A bulk insert of many messages adds one tally row per key (PostgreSQL: a delta; SQLite: the total), and
    the fold leaves exactly one row per key with the sum."""
    customers = [CustomerFactory.create(phone="13800000001")]
    assert _enqueue(customers, list(range(40)), 1, "sms", "care") == 40
    Message.objects.filter(idempotency_key__in=["k1", "k2", "k3"]).update(status="failed", reason="send_error")
    rows = sorted(MessageTally.objects.values_list("status", "reason", "n", "folded"))
    if connection.vendor == "postgresql":
        assert rows == [("failed", "send_error", 3, False), ("queued", "", -3, False), ("queued", "", 40, False)]
        assert tallies.tallies_fold() == 3
    assert sorted(MessageTally.objects.values_list("status", "reason", "n", "folded")) == [
        ("failed", "send_error", 3, True),
        ("queued", "", 37, True),
    ]
    assert tallies.source_counts(source_type_id=_type_id(), source_ids=[1, 2]) == {
        1: {("failed", "send_error"): 3, ("queued", ""): 37}
    }
    assert tallies.source_counts(source_type_id=_type_id(), source_ids=[1], purposes=["marketing"]) == {}


def test_updates_that_change_no_key_write_no_tally_row():
    customers = [CustomerFactory.create(phone="13800000001")]
    _enqueue(customers, [1, 2], 1, "sms", "care")
    tallies.tallies_fold()
    before = list(MessageTally.objects.values_list("id", "n"))
    Message.objects.update(detail="x", updated_at=timezone.now())
    assert list(MessageTally.objects.values_list("id", "n")) == before


def test_rebuild_repairs_a_tally_that_was_tampered_with():
    customers = [CustomerFactory.create(phone="13800000001")]
    _enqueue(customers, [1, 2, 3], 2, "sms", "care")
    MessageTally.objects.update(n=99)
    assert tallies.tallies_check() == {(_type_id(), 2, "care", "queued", ""): (99 * MessageTally.objects.count(), 3)}
    assert tallies.tallies_rebuild() == 1
    assert tallies.tallies_check() == {}


def test_the_triggers_are_installed():
    """A later migration that rebuilds messaging_message (SQLite rebuilds a table to alter it, and drops its
    triggers) must install them again: this fails until it does."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = 'messaging_message'::regclass AND NOT tgisinternal"
            )
        else:
            cur.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'messaging_message'")
        names = sorted(r[0] for r in cur.fetchall())
    expected = ["messaging_tally_delete", "messaging_tally_insert", "messaging_tally_update"]
    if connection.vendor == "postgresql":
        expected = sorted([*expected, "messaging_tally_truncate"])
    assert names == expected
