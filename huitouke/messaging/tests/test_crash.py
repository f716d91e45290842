"""Exactly once under SIGKILL: two real `huitouke worker` processes on PostgreSQL dispatch 20,000 webhook messages
to a local HTTP sink; one worker is killed (SIGKILL) three times mid-run and started again.

The sink behaves as a receiver that honours `Idempotency-Key` (as the design asks of channels that support one):
a repeated key is acknowledged, not delivered again. At the end every key was delivered exactly once
(missing 0, duplicate deliveries 0), every row is `sent`, and the repeated requests — rows a killed worker had
sent but not yet recorded — are bounded by one batch per kill.

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
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import F, Sum

from huitouke.customers.models import Customer
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
KILLS = 3
DEADLINE_S = 120


class IdempotentReceiver:
    """Counts requests and deliveries per Idempotency-Key (a repeated key is answered 200, not delivered)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: dict[str, int] = {}
        self.delivered: dict[str, int] = {}

    def __call__(self, hit: Hit) -> tuple[int, object, dict[str, str]]:
        key = hit.headers.get("Idempotency-Key", "")
        with self.lock:
            self.requests[key] = self.requests.get(key, 0) + 1
            if key not in self.delivered:
                self.delivered[key] = 1
        return 200, {"ok": True}, {}


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
    receiver = IdempotentReceiver()
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
            while len(receiver.delivered) < fraction * MESSAGES:
                assert time.monotonic() - started < DEADLINE_S, f"stalled at {len(receiver.delivered)} deliveries"
                assert survivor.poll() is None, (home / "b.log").read_text()[-2000:]
                time.sleep(0.05)
            # kill it while it holds claims (polled without sleeping: a batch takes tens of milliseconds)
            while not _claims_of(victim.pid):
                assert time.monotonic() - started < DEADLINE_S, "the victim never claimed a batch"
                assert len(receiver.delivered) < MESSAGES, "the survivor sent everything before the victim claimed"
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
    missing = keys - set(receiver.delivered)
    duplicates = sum(n - 1 for n in receiver.delivered.values())
    repeated = sum(n - 1 for n in receiver.requests.values())
    assert kills == KILLS
    assert missing == set()
    assert duplicates == 0
    assert set(receiver.requests) == keys  # nothing else arrived
    assert repeated <= KILLS * BATCH  # only rows sent but not yet recorded when a worker died
    assert Message.objects.exclude(status=Message.Status.SENT).count() == 0
    reclaimed = Message.objects.filter(attempts__gt=1).aggregate(n=Sum(F("attempts") - 1))["n"] or 0
    assert 0 < orphaned <= KILLS * BATCH
    assert reclaimed == orphaned  # exactly the killed worker's claims came back through their leases (once each)
    print(  # noqa: T201
        f"crash test: {MESSAGES} messages, {kills} kills, {reclaimed} claims taken over after a kill,"
        f" {repeated} repeated requests, {elapsed:.1f} s"
    )
