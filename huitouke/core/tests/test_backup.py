"""`huitouke backup` / `huitouke restore` round trip on the test database (SQLite, and PostgreSQL in the PG run):
the restored database has every table's row count and checksum of the backup, HUITOUKE_HOME's files and the
secret key come back, and bad archives, a database with data (without --force) and a missing pg_dump are refused
with a clear reason."""

from __future__ import annotations

import json
import tarfile
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from huitouke.core.backup import BackupError, backup_create, backup_restore, current_sums
from huitouke.customers.models import Customer
from huitouke.customers.tests.factories import CustomerFactory
from huitouke.orders.models import Order
from huitouke.orders.tests.factories import OrderFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def home(tmp_path: Path, settings: Any) -> Path:
    folder = tmp_path / "home"
    (folder / "uploads" / "abc").mkdir(parents=True)
    (folder / "uploads" / "abc" / "orders.csv").write_text("订单编号,买家会员名\n1,tb_a\n", encoding="utf-8")
    (folder / "attachments").mkdir()
    (folder / "attachments" / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a photo")
    (folder / "secret_key").write_text("the-kept-secret-key")
    (folder / "static").mkdir()
    (folder / "static" / "site.css").write_text("body{}")  # collected files are rebuilt, not backed up
    (folder / "queue.sqlite3").write_bytes(b"queue")  # the task queue is not backed up
    settings.HUITOUKE_HOME = folder
    return folder


def _data() -> None:
    User.objects.create_user("owner1", password="pass-word-123")
    customers = CustomerFactory.create_batch(25)
    for customer in customers[:10]:
        OrderFactory(customer=customer)


def _manifest(archive: Path) -> dict[str, Any]:
    with tarfile.open(archive) as tar:
        member = tar.extractfile("manifest.json")
        assert member is not None
        return json.loads(member.read())


def test_a_backup_restores_to_the_same_tables_and_files(home: Path, tmp_path: Path) -> None:
    _data()
    archive = tmp_path / "out" / "backup.tar.gz"

    made = backup_create(out=archive)

    manifest = _manifest(archive)
    before = current_sums()
    assert {name: {"rows": s.rows, "checksum": s.checksum} for name, s in before.items()} == manifest["tables"]
    assert manifest["tables"]["customers_customer"]["rows"] == 25
    assert manifest["tables"]["orders_order"]["rows"] == 10
    assert manifest["engine"] == connection.vendor
    assert sorted(manifest["files"]) == ["attachments/photo.jpg", "secret_key", "uploads/abc/orders.csv"]
    assert (made.tables, made.files) == (len(before), 3)
    assert archive.stat().st_mode & 0o777 == 0o600
    assert not archive.with_name("backup.tar.gz.partial").exists()

    # the site goes on: rows and files change, then the backup is restored over them
    Customer.objects.filter(pk__in=Customer.objects.order_by("pk").values("pk")[:5]).update(name="changed")
    Order.objects.all().delete()
    User.objects.create_user("intruder", password="pass-word-123")
    (home / "uploads" / "abc" / "orders.csv").unlink()
    (home / "secret_key").write_text("another key")

    with pytest.raises(BackupError, match=r"^the database already holds data; restore with --force to replace it$"):
        backup_restore(archive=archive)
    restored = backup_restore(archive=archive, force=True)

    assert restored.mismatched == []
    after = current_sums()
    assert after == before
    assert Order.objects.count() == 10
    assert list(User.objects.values_list("username", flat=True)) == ["owner1"]
    assert Customer.objects.filter(name="changed").count() == 0
    assert (home / "uploads" / "abc" / "orders.csv").read_text(encoding="utf-8") == "订单编号,买家会员名\n1,tb_a\n"
    assert (home / "secret_key").read_text() == "the-kept-secret-key"
    assert (home / "secret_key").stat().st_mode & 0o777 == 0o600


def test_the_commands_print_their_summary(home: Path, tmp_path: Path, capsys: Any) -> None:
    _data()
    archive = tmp_path / "b.tar.gz"

    call_command("backup", "--out", str(archive), "--json")
    made = json.loads(capsys.readouterr().out)
    call_command("restore", str(archive), "--force")
    said = capsys.readouterr().out

    assert made["rows"] == sum(v["rows"] for v in _manifest(archive)["tables"].values())
    assert said.startswith(f"Restored {connection.vendor}: {made['tables']} tables, {made['rows']} rows, 3 files;")
    assert said.strip().endswith("every table matches the backup.")


def test_a_damaged_or_foreign_archive_is_refused(home: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not an archive at all")
    other = tmp_path / "other.tar.gz"
    manifest: dict[str, Any] = {
        "format": 1,
        "engine": "sqlite" if connection.vendor == "postgresql" else "postgresql",
        "tables": {},
    }
    with tarfile.open(other, "w:gz") as tar:
        data = json.dumps(manifest).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        tar.addfile(info, BytesIO(data))
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 1
        tar.addfile(info, BytesIO(b"x"))

    with pytest.raises(BackupError, match="is not a readable Huitouke backup"):
        backup_restore(archive=junk, force=True)
    with pytest.raises(BackupError, match=f"^this backup is of a {manifest['engine']} database; this installation"):
        backup_restore(archive=other, force=True)
    with pytest.raises(BackupError, match=r"^the archive holds an unsafe entry: '\.\./escape\.txt'$"):
        backup_restore(archive=evil, force=True)
    with pytest.raises(CommandError, match=r"^no such backup file: "):
        call_command("restore", str(tmp_path / "missing.tar.gz"))
    assert not (tmp_path / "escape.txt").exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_dump is used on PostgreSQL only")
def test_a_missing_pg_dump_is_named(home: Path, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))

    with pytest.raises(BackupError, match=r"^pg_dump was not found on PATH: install the PostgreSQL client tools"):
        backup_create(out=tmp_path / "x.tar.gz")
    assert not (tmp_path / "x.tar.gz").exists()
