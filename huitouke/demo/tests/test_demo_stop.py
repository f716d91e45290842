"""`huitouke demo` as a real process: one Ctrl-C (SIGINT) or one SIGTERM stops the server and the in-process worker,
exits 0 within a few seconds and frees the port.

The process gets its own HUITOUKE_HOME with an embedded SQLite database (whatever database the suite runs on), so
it neither needs nor touches the test database.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_free(port: int) -> bool:
    """Nothing answers on the port and a new server can listen on it (with SO_REUSEADDR, as servers do: the
    connections the old one closed may linger in TIME_WAIT)."""
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", port)) == 0:
            return False
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            s.listen()
        except OSError:
            return False
        return True


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with the demo database migrated and built once (the stop tests then only serve it)."""
    home = tmp_path_factory.mktemp("demo-home")
    env = _env(home)
    for args in (["migrate", "--no-input", "-v0"], ["demo", "--customers", "40", "--no-serve"]):
        subprocess.run([sys.executable, "-m", "huitouke.cli", *args], env=env, check=True, capture_output=True)
    return home


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "HUEY_IMMEDIATE")}
    env.update({"HUITOUKE_HOME": str(home), "PYTHONUNBUFFERED": "1"})
    return env


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_one_signal_stops_server_and_worker(demo_home: Path, signum: signal.Signals) -> None:
    # given the demo serving on a free port, with its worker running
    port = _free_port()
    log = (demo_home / f"serve-{signum.name}.log").open("w+b")
    proc = subprocess.Popen(
        [sys.executable, "-m", "huitouke.cli", "demo", "--addr", f"127.0.0.1:{port}"],
        env=_env(demo_home),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2) as response:
                    assert response.status == 200
                break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None, "the demo exited before serving"
                assert time.monotonic() < deadline, "the demo did not serve within 60 s"
                time.sleep(0.2)
        # when it receives one signal
        proc.send_signal(signum)
        # then it exits 0 (rather than hanging until killed) and the port is free again
        code = proc.wait(timeout=30)
        log.seek(0)
        output = log.read().decode(errors="replace")
        assert code == 0, output
        assert _port_free(port)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
