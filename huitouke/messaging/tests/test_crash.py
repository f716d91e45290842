"""Exactly once under SIGKILL: two real `huitouke worker` processes on PostgreSQL dispatch 20,000 webhook messages
to a local HTTP sink; one worker is killed (SIGKILL) three times mid-run and started again.

The sink counts every request it receives, per `Idempotency-Key` (a real receiver would acknowledge a repeated key
without acting on it again, so repeats are safe, but they are counted here, not folded away). At the end every
key arrived (missing 0, nothing else arrived), every row is `sent`, a row no killed worker held arrived exactly
once, a repeated row is one the killed worker held, and the repeats — rows a killed worker had sent but not yet
recorded — are at most one chunk (the webhook adapter's batch of 50) per kill.

PostgreSQL only (SELECT … FOR UPDATE SKIP LOCKED across processes); runs in CI's PostgreSQL job.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import F, Sum

from huitouke.customers.models import Customer
from huitouke.messaging.channels.webhook import WebhookAdapter
from huitouke.messaging.models import Message
from huitouke.messaging.services import OutgoingMessage, channel_config_save, message_enqueue_many
from huitouke.messaging.tests.sinks import Hit, HttpSink

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the crash test runs on PostgreSQL"),
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("no_wake"),
]

MESSAGES = 20_000
BATCH = 200  # claimed per batch; a kill re-sends at most one sent-but-unrecorded chunk (50 webhooks)
CHUNK = WebhookAdapter.max_batch  # sent, then recorded together: what a kill can leave sent but unrecorded
KILLS = 3
DEADLINE_S = 120


class CountingReceiver:
    """Counts every delivery (request) the sink receives, in total and per Idempotency-Key; answers 200."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.deliveries = 0
        self.per_key: Counter[str] = Counter()

    def __call__(self, hit: Hit) -> tuple[int, object, dict[str, str]]:
        key = hit.headers.get("Idempotency-Key", "")
        with self.lock:
            self.deliveries += 1
            self.per_key[key] += 1
        return 200, {"ok": True}, {}

    @property
    def keys_seen(self) -> int:
        return len(self.per_key)


def _database_url() -> str:
    db = settings.DATABASES["default"]
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _worker(home: Path, name: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "HUITOUKE_HOME": str(home),
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,  # the channel secrets were encrypted under it
        "HUITOUKE_MESSAGE_LEASE_SECONDS": "3",
        "HUITOUKE_OUTBOUND_ALLOW_PRIVATE": "true",  # the sink listens on 127.0.0.1
        "HUITOUKE_DISPATCH_BATCH": str(BATCH),
        "REDIS_URL": "",
        "HUEY_IMMEDIATE": "false",
        "LOG_LEVEL": "WARNING",
    }
    log = (home / f"{name}.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "huitouke.cli", "worker", "--workers", "1"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _claims_of(pid: int) -> int:
    """Rows a worker process holds right now (`claimed_by` is host:pid:thread)."""
    return Message.objects.filter(status=Message.Status.SENDING, claimed_by__contains=f":{pid}:").count()


def test_two_workers_one_killed_three_times_deliver_every_message_once():
    receiver = CountingReceiver()
    sink = HttpSink(responder=receiver).start()
    workers: list[subprocess.Popen[bytes]] = []
    try:
        channel_config_save(
            shop_id=None,
            channel="webhook",
            provider="webhook",
            options={"url": f"{sink.url}/hook"},
            secrets_new={"signing_secret": "crash-test"},
        )
        Customer.objects.bulk_create([Customer(name=f"c{i}") for i in range(MESSAGES)], batch_size=5000)
        ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
        added = message_enqueue_many(
            messages=(
                OutgoingMessage(
                    idempotency_key=f"crash:{cid}",
                    channel="webhook",
                    purpose="service",
                    customer_id=cid,
                    body="您的订单已发货",
                )
                for cid in ids
            )
        )
        assert added == MESSAGES

        home = Path(settings.HUITOUKE_HOME) / "crash-workers"  # the workers' queue file and logs (kept to read)
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        victim, survivor = _worker(home, "a"), _worker(home, "b")
        workers += [victim, survivor]
        started = time.monotonic()
        kills = orphaned = 0
        for fraction in (0.2, 0.45, 0.7)[:KILLS]:
            while receiver.keys_seen < fraction * MESSAGES:
                assert time.monotonic() - started < DEADLINE_S, f"stalled at {receiver.keys_seen} keys"
                assert survivor.poll() is None, (home / "b.log").read_text()[-2000:]
                time.sleep(0.05)
            # kill it while it holds claims (polled without sleeping: a batch takes tens of milliseconds)
            while not _claims_of(victim.pid):
                assert time.monotonic() - started < DEADLINE_S, "the victim never claimed a batch"
                assert receiver.keys_seen < MESSAGES, "the survivor sent everything before the victim claimed"
            os.killpg(victim.pid, signal.SIGKILL)
            victim.wait()
            orphaned += _claims_of(victim.pid)  # what the dead worker left behind, to come back through leases
            kills += 1
            victim = _worker(home, "a")
            workers.append(victim)

        elapsed = 0.0
        while Message.objects.filter(status=Message.Status.SENT).count() < MESSAGES:
            elapsed = time.monotonic() - started
            assert elapsed < DEADLINE_S, (
                f"after {elapsed:.0f} s: {Message.objects.exclude(status='sent').count()} not sent; "
                + (home / "a.log").read_text()[-1500:]
            )
            time.sleep(0.25)
        elapsed = time.monotonic() - started
    finally:
        for p in workers:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        sink.stop()

    keys = {f"crash:{cid}" for cid in ids}
    taken_over = {
        f"crash:{cid}" for cid in Message.objects.filter(attempts__gt=1).values_list("customer_id", flat=True)
    }
    repeated = receiver.deliveries - MESSAGES
    repeated_keys = {key for key, n in receiver.per_key.items() if n > 1}
    assert kills == KILLS
    assert set(receiver.per_key) == keys  # every key arrived, and nothing else
    assert MESSAGES <= receiver.deliveries <= MESSAGES + KILLS * CHUNK  # at most one unrecorded chunk per kill
    assert sum(n - 1 for n in receiver.per_key.values()) == repeated
    assert repeated_keys <= taken_over  # only rows a killed worker held arrived twice …
    assert max(receiver.per_key.values()) <= 1 + KILLS  # … once more per kill at most
    assert all(receiver.per_key[key] == 1 for key in keys - taken_over)  # the rest exactly once
    assert Message.objects.exclude(status=Message.Status.SENT).count() == 0
    reclaimed = Message.objects.filter(attempts__gt=1).aggregate(n=Sum(F("attempts") - 1))["n"] or 0
    assert 0 < orphaned <= KILLS * BATCH
    assert reclaimed == orphaned  # exactly the killed worker's claims came back through their leases (once each)
    print(  # noqa: T201
        f"crash test: {MESSAGES} messages, {kills} kills, {reclaimed} claims taken over after a kill,"
        f" {repeated} repeated requests, {elapsed:.1f} s"
    )
