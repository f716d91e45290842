"""Backup and restore of one installation: the database, HUITOUKE_HOME's files (uploads, attachments, reports) and
the generated secret key, in one archive (`huitouke backup --out FILE`, `huitouke restore FILE [--force]`).

The archive is a gzip'd tar holding:

- `manifest.json`: format version, database engine, time, the applied migrations, and per table its row count and a
  checksum of its rows (in primary-key order) taken from the same snapshot as the dump;
- `database.sqlite3` (SQLite: sqlite3's online backup API, a consistent copy while the site keeps running) or
  `database.pgdump` (PostgreSQL: `pg_dump --format=custom`, run inside an exported snapshot that the checksums read
  too, so manifest and dump agree even while the site writes);
- `home/…`: every file under HUITOUKE_HOME except the database, the task queue, collected static files and metrics.

Restore puts all of it back, then recomputes every table's count and checksum and compares them with the manifest;
any difference is reported by table and the command fails. A restore over a database that holds data needs
--force (PostgreSQL: `pg_restore --clean`; SQLite: the file is replaced through the backup API).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

from huitouke.core.errors import ApplicationError

FORMAT = 1
#: names directly under HUITOUKE_HOME that are not part of a backup (rebuilt, transient or the backup itself)
SKIPPED_HOME_NAMES = {"static", "metrics", "test", "backups"}
SKIPPED_SUFFIXES = (".sqlite3", ".sqlite3-wal", ".sqlite3-shm", ".sqlite3-journal", ".partial")


class BackupError(ApplicationError):
    """A backup or restore that cannot go on; the message says why and what to do."""


@dataclass
class TableSum:
    rows: int
    checksum: str


@dataclass
class BackupResult:
    path: str
    engine: str
    tables: int
    rows: int
    files: int
    bytes: int

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class RestoreResult:
    engine: str
    tables: int
    rows: int
    files: int
    mismatched: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _engine() -> str:
    vendor = connection.vendor
    if vendor not in ("sqlite", "postgresql"):
        raise BackupError(f"backups support SQLite and PostgreSQL, not {vendor}")
    return vendor


def _home() -> Path:
    return Path(settings.HUITOUKE_HOME).resolve()


def _home_files(exclude: set[Path]) -> Iterator[Path]:
    home = _home()
    for path in sorted(home.rglob("*")):
        rel = path.relative_to(home)
        if rel.parts[0] in SKIPPED_HOME_NAMES or path.is_symlink() or not path.is_file():
            continue
        if path.name.endswith(SKIPPED_SUFFIXES) or path.resolve() in exclude:
            continue
        yield path


# ------------------------------------------------------------------------------------------------- checksums
def _hash_rows(rows: Iterator[tuple[Any, ...]]) -> TableSum:
    digest = hashlib.sha256()
    count = 0
    for row in rows:
        digest.update(repr(row).encode())
        digest.update(b"\n")
        count += 1
    return TableSum(count, digest.hexdigest())


def sqlite_sums(path: Path) -> dict[str, TableSum]:
    """Row count and checksum of every table of a SQLite file, rows in rowid order."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [
            name
            for (name,) in con.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        sums = {}
        for table in tables:
            quoted = '"' + table.replace('"', '""') + '"'
            try:
                cursor = con.execute(f"SELECT * FROM {quoted} ORDER BY rowid")
            except sqlite3.OperationalError:  # a WITHOUT ROWID table
                cursor = con.execute(f"SELECT * FROM {quoted} ORDER BY 1")
            sums[table] = _hash_rows(iter(cursor))
        return sums
    finally:
        con.close()


def postgres_sums(cursor: Any) -> dict[str, TableSum]:
    """Row count and checksum of every table of the current schema, computed by the server (md5 of each row's text
    in primary-key order, then of all of them) within the cursor's transaction."""
    cursor.execute(
        "SELECT c.relname, (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY array_position(i.indkey, a.attnum))"
        "  FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
        "  WHERE i.indrelid = c.oid AND i.indisprimary)"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema() ORDER BY c.relname"
    )
    sums = {}
    for table, pk in cursor.fetchall():
        order = pk or "t::text"
        cursor.execute(
            f"SELECT count(*), coalesce(md5(string_agg(md5(t::text), '' ORDER BY {order})), '')"
            f" FROM {_quote_pg(table)} t"
        )
        rows, checksum = cursor.fetchone()
        sums[table] = TableSum(int(rows), checksum)
    return sums


def _quote_pg(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def current_sums() -> dict[str, TableSum]:
    """The live database's counts and checksums (after a restore: to compare with the manifest)."""
    if _engine() == "sqlite":
        connections.close_all()
        return sqlite_sums(Path(settings.DATABASES["default"]["NAME"]))
    with connection.cursor() as cursor:
        return postgres_sums(cursor)


# --------------------------------------------------------------------------------------------------- backup
def _pg_env() -> dict[str, str]:
    db = settings.DATABASES["default"]
    env = {**os.environ}
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"), ("PASSWORD", "PGPASSWORD")):
        if db.get(key):
            env[var] = str(db[key])
    env["PGDATABASE"] = str(db["NAME"])
    return env


def _pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} was not found on PATH: install the PostgreSQL client tools of the server's major version "
            f"(Debian/Ubuntu: apt install postgresql-client-15) or add their folder to PATH"
        )
    return path


def _run(args: list[str], what: str) -> None:
    proc = subprocess.run(args, env=_pg_env(), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise BackupError(f"{what} failed: {detail[-1] if detail else f'exit code {proc.returncode}'}")


def _migrations() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
        return [f"{app}.{name}" for app, name in cursor.fetchall()]


@contextmanager
def _pg_snapshot() -> Iterator[tuple[str, dict[str, TableSum]]]:
    """An exported snapshot (kept while the block runs) and the table sums read inside it."""
    import psycopg

    db = settings.DATABASES["default"]
    params = {
        k: v
        for k, v in {
            "dbname": db["NAME"],
            "user": db.get("USER"),
            "password": db.get("PASSWORD"),
            "host": db.get("HOST"),
            "port": db.get("PORT"),
        }.items()
        if v
    }
    with psycopg.connect(**params) as con:
        con.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        row = con.execute("SELECT pg_export_snapshot()").fetchone()
        assert row is not None
        with con.cursor() as cursor:
            sums = postgres_sums(cursor)
        yield str(row[0]), sums
        con.execute("COMMIT")


def backup_create(*, out: Path) -> BackupResult:
    """Write the archive to `out` (through `out.partial`, renamed when complete; mode 0600: it holds the secret key
    and personal data). Raises BackupError when the database tool is missing or fails."""
    engine = _engine()
    if "django_migrations" not in connection.introspection.table_names():
        raise BackupError("the database is not set up yet (run `huitouke migrate`): there is nothing to back up")
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with tempfile.TemporaryDirectory(prefix="huitouke-backup-") as tmp:
        work = Path(tmp)
        if engine == "sqlite":
            dump = work / "database.sqlite3"
            source = sqlite3.connect(str(settings.DATABASES["default"]["NAME"]))
            target = sqlite3.connect(str(dump))
            try:
                with target:
                    source.backup(target, pages=4096)  # steps: the site's writers get the lock in between
            finally:
                target.close()
                source.close()
            sums = sqlite_sums(dump)
        else:
            dump = work / "database.pgdump"
            pg_dump = _pg_tool("pg_dump")
            with _pg_snapshot() as (snapshot, sums):
                _run([pg_dump, "--format=custom", "--no-owner", f"--snapshot={snapshot}", "-f", str(dump)], "pg_dump")
        manifest = {
            "format": FORMAT,
            "engine": engine,
            "created_at": timezone.now().isoformat(),
            "migrations": _migrations(),
            "tables": {name: {"rows": s.rows, "checksum": s.checksum} for name, s in sums.items()},
            "files": [],
        }
        files = list(_home_files(exclude={out, partial}))
        home = _home()
        manifest["files"] = [str(p.relative_to(home)) for p in files]
        (work / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz", compresslevel=3) as tar:
            tar.add(work / "manifest.json", arcname="manifest.json")
            tar.add(dump, arcname=dump.name)
            for path in files:
                tar.add(path, arcname=f"home/{path.relative_to(home)}")
    partial.replace(out)
    return BackupResult(
        path=str(out),
        engine=engine,
        tables=len(sums),
        rows=sum(s.rows for s in sums.values()),
        files=len(files),
        bytes=out.stat().st_size,
    )


# -------------------------------------------------------------------------------------------------- restore
def _has_data() -> bool:
    tables = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        for table in ("auth_user", "customers_customer", "orders_order", "messaging_message", "core_auditentry"):
            if table in tables:
                cursor.execute(f"SELECT 1 FROM {connection.ops.quote_name(table)} LIMIT 1")
                if cursor.fetchone():
                    return True
    return False


def _safe_members(tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    members = []
    for member in tar.getmembers():
        name = member.name
        if not (member.isfile() or member.isdir()) or name.startswith("/") or ".." in Path(name).parts:
            raise BackupError(f"the archive holds an unsafe entry: {name!r}")
        members.append(member)
    return members


def backup_restore(*, archive: Path, force: bool = False) -> RestoreResult:
    """Restore the archive into this installation's database and HUITOUKE_HOME, then verify every table against
    the manifest. Refuses (BackupError) an archive of the other database engine, a database that already holds
    data without `force`, or a damaged archive. Stop web and worker processes first."""
    engine = _engine()
    if not archive.is_file():
        raise BackupError(f"no such backup file: {archive}")
    with tempfile.TemporaryDirectory(prefix="huitouke-restore-") as tmp:
        work = Path(tmp)
        try:
            with tarfile.open(archive, mode="r:*") as tar:
                tar.extractall(work, members=_safe_members(tar), filter="data")
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise BackupError(f"{archive} is not a readable Huitouke backup: {exc}") from exc
        manifest_path = work / "manifest.json"
        if not manifest_path.is_file():
            raise BackupError(f"{archive} has no manifest.json: not a Huitouke backup")
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("format") != FORMAT:
            raise BackupError(f"backup format {manifest.get('format')!r} is not supported (expected {FORMAT})")
        if manifest["engine"] != engine:
            raise BackupError(
                f"this backup is of a {manifest['engine']} database; this installation uses {engine} "
                f"(set DATABASE_URL to a {manifest['engine']} database to restore it)"
            )
        if not force and _has_data():
            raise BackupError("the database already holds data; restore with --force to replace it")
        if engine == "sqlite":
            _restore_sqlite(work / "database.sqlite3")
        else:
            _restore_postgres(work / "database.pgdump")
        files = _restore_home(work / "home")
    expected = {name: TableSum(v["rows"], v["checksum"]) for name, v in manifest["tables"].items()}
    actual = current_sums()
    mismatched = sorted(name for name in set(expected) | set(actual) if expected.get(name) != actual.get(name))
    return RestoreResult(
        engine=engine,
        tables=len(expected),
        rows=sum(s.rows for s in expected.values()),
        files=files,
        mismatched=mismatched,
    )


def _restore_sqlite(dump: Path) -> None:
    if not dump.is_file():
        raise BackupError("the archive has no database.sqlite3")
    connections.close_all()
    source = sqlite3.connect(f"file:{dump}?mode=ro", uri=True)
    target = sqlite3.connect(str(settings.DATABASES["default"]["NAME"]), timeout=30)
    try:
        source.backup(target)  # replaces every page of the live file, WAL included, under its lock
    finally:
        target.close()
        source.close()


def _restore_postgres(dump: Path) -> None:
    if not dump.is_file():
        raise BackupError("the archive has no database.pgdump")
    pg_restore = _pg_tool("pg_restore")
    connections.close_all()
    with connection.cursor() as cursor:  # an empty database first: --clean alone leaves tables the dump lacks
        cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    connections.close_all()
    _run([pg_restore, "--no-owner", "--exit-on-error", "-d", str(settings.DATABASES["default"]["NAME"]), str(dump)],
         "pg_restore")  # fmt: skip


def _restore_home(folder: Path) -> int:
    home = _home()
    count = 0
    if not folder.is_dir():
        return 0
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        target = home / path.relative_to(folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        if target.name == "secret_key":
            target.chmod(0o600)
        count += 1
    return count
