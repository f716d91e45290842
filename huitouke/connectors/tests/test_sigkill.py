"""A real `huitouke shopify-sync` process killed with SIGKILL mid-backfill, then run again: it resumes from the
last page it wrote and the archive holds every order once. PostgreSQL only (two processes on one database)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from huitouke.connectors.models import Source
from huitouke.connectors.services import store_connect
from huitouke.connectors.tests.stores import TOKEN, WEBHOOK_SECRET, FakeShopify, graphql_order
from huitouke.messaging.tests.sinks import HttpSink
from huitouke.orders.models import Order
from huitouke.orders.tests.factories import ShopFactory

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="two processes on one database: PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]

ORDERS = 300  # six pages of 50
DEADLINE_S = 120


def _database_url() -> str:
    db = settings.DATABASES["default"]
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _sync(home: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "HUITOUKE_HOME": str(home),
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,  # the store's secrets were encrypted under it
        "REDIS_URL": "",
        "HUEY_IMMEDIATE": "false",
        "HUITOUKE_OUTBOUND_ALLOW_PRIVATE": "true",  # the fake store listens on 127.0.0.1
    }
    log = (home / "sync.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "huitouke.cli", "shopify-sync", "--shop", "Tea EU", "--json"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def test_a_killed_backfill_resumes_and_doubles_nothing(tmp_path: Path) -> None:
    api = FakeShopify(orders=[graphql_order(n) for n in range(1, ORDERS + 1)], delay=0.4)
    sink = HttpSink(responder=api).start()
    try:
        shop: Any = ShopFactory(name="Tea EU", platform="shopify")
        source = store_connect(shop=shop, kind="shopify", address=sink.url,
                               secrets_given={"access_token": TOKEN, "webhook_secret": WEBHOOK_SECRET})  # fmt: skip
        proc = _sync(tmp_path)
        started = time.monotonic()
        while Order.objects.count() < 100:  # two pages written
            assert proc.poll() is None, (tmp_path / "sync.log").read_text()[-2000:]
            assert time.monotonic() - started < DEADLINE_S
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        cursor = Source.objects.get(pk=source.pk).cursor
        written = Order.objects.count()
        assert written % 50 == 0  # whole pages only: a page and its cursor commit together
        assert cursor == str(written)
        asked_before = len(api.queries)
        api.delay = 0
        again = _sync(tmp_path)
        assert again.wait(timeout=DEADLINE_S) == 0, (tmp_path / "sync.log").read_text()[-2000:]
    finally:
        sink.stop()
    assert api.queries[asked_before]["after"] == cursor  # resumed where the killed run had stopped
    assert Order.objects.count() == ORDERS
    assert Order.objects.values("order_no").distinct().count() == ORDERS
    assert Source.objects.get(pk=source.pk).cursor == ""
