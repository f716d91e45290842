"""A throw-away PostgreSQL primary and streaming replica made from the machine's PostgreSQL binaries.

The machine's own server is left alone (its pg_hba.conf has no `replication` line, so `pg_basebackup` cannot copy
it): a fresh primary is created with `initdb` in a temporary folder (initdb's pg_hba trusts local replication),
started with `pg_ctl` on a free port, and copied with `pg_basebackup -R` into a replica started on another port.
PostgreSQL refuses to run as root: under root the binaries run as the `postgres` system user.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


def pg_bindir() -> Path | None:
    """The newest /usr/lib/postgresql/*/bin that holds initdb, pg_ctl and pg_basebackup."""
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True):
        if all(Path(folder, tool).exists() for tool in ("initdb", "pg_ctl", "pg_basebackup", "psql")):
            return Path(folder)
    return None


def why_impossible() -> str | None:
    """None when a cluster can be made here, else the reason (for pytest.skip)."""
    if pg_bindir() is None:
        return "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres user to run PostgreSQL as"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    folder: Path
    primary_port: int
    replica_port: int

    def url(self, port: int, db: str = "huitouke") -> str:
        return f"postgres://postgres@127.0.0.1:{port}/{db}"

    @property
    def primary_url(self) -> str:
        return self.url(self.primary_port)

    @property
    def replica_url(self) -> str:
        return self.url(self.replica_port)


def _as_postgres(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    return subprocess.run(args, check=True, capture_output=True, text=True, timeout=180, **kwargs)  # type: ignore[call-overload]


def start() -> Cluster:
    """initdb a primary, start it, create the `huitouke` database, basebackup a replica (-R) and start it."""
    bindir = pg_bindir()
    assert bindir is not None
    folder = Path(tempfile.mkdtemp(prefix="htk-pg-", dir="/tmp"))
    folder.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    primary, replica = folder / "primary", folder / "replica"
    cluster = Cluster(folder=folder, primary_port=_free_port(), replica_port=_free_port())
    _as_postgres([str(bindir / "initdb"), "-D", str(primary), "-U", "postgres", "-A", "trust", "--no-sync"])
    opts = f"-c listen_addresses=127.0.0.1 -k {folder} -c fsync=off -c wal_level=replica -c max_wal_senders=4"
    _as_postgres([str(bindir / "pg_ctl"), "-D", str(primary), "-l", str(folder / "primary.log"), "-w",
                  "-o", f"-p {cluster.primary_port} {opts}", "start"])  # fmt: skip
    _as_postgres([str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(cluster.primary_port), "-U", "postgres",
                  "huitouke"])  # fmt: skip
    _as_postgres([str(bindir / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(cluster.primary_port), "-U", "postgres",
                  "-D", str(replica), "-R", "-X", "stream"])  # fmt: skip
    _as_postgres([str(bindir / "pg_ctl"), "-D", str(replica), "-l", str(folder / "replica.log"), "-w",
                  "-o", f"-p {cluster.replica_port} {opts} -c hot_standby=on", "start"])  # fmt: skip
    return cluster


def stop(cluster: Cluster) -> None:
    bindir = pg_bindir()
    assert bindir is not None
    for name in ("replica", "primary"):
        with contextlib.suppress(subprocess.CalledProcessError):
            _as_postgres([str(bindir / "pg_ctl"), "-D", str(cluster.folder / name), "-m", "immediate", "stop"])
    time.sleep(0.2)
    shutil.rmtree(cluster.folder, ignore_errors=True)
