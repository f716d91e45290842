"""`huitouke serve` as an operator runs it: gunicorn with two web processes and its worker on the test database;
probes answer, the request id reaches the access log (JSON), /metrics adds up both processes, SIGHUP reloads
without dropping the site, SIGTERM stops server and worker cleanly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from huitouke.core.serving import default_workers, parse_bind

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("127.0.0.1:8000", ("127.0.0.1", 8000)), ("0.0.0.0:80", ("0.0.0.0", 80)), ("[::1]:8080", ("::1", 8080))],
)
def test_bind_addresses(value: str, expected: tuple[str, int]) -> None:
    assert parse_bind(value) == expected


@pytest.mark.parametrize("value", ["8000", "localhost", "host:", ":8000", "host:99999", "host:http"])
def test_bad_bind_addresses_are_named(value: str) -> None:
    with pytest.raises(ValueError, match=r"^--bind must look like 127\.0\.0\.1:8000, got "):
        parse_bind(value)


@pytest.mark.parametrize(("cpus", "workers"), [(None, 3), (1, 3), (2, 5), (3, 7), (4, 8), (64, 8)])
def test_default_web_processes(cpus: int | None, workers: int) -> None:
    assert default_workers(cpus) == workers


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return answer.status, dict(answer.headers), answer.read()


def _wait_up(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if _get(url)[0] == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"serve did not answer:\n{log.read_text()[-3000:]}")


@pytest.mark.django_db(transaction=True)
def test_serve_runs_the_site_with_its_worker(tmp_path: Path) -> None:
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        url = f"sqlite:///{db['NAME']}"
    else:
        url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    port = _free_port()
    log = tmp_path / "serve.log"
    env: dict[str, Any] = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": url,
        "HUITOUKE_HOME": str(tmp_path / "home"),
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "LOG_FORMAT": "json",
        "REDIS_URL": "",
        "HUEY_IMMEDIATE": "false",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "huitouke.cli",
            "serve",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--with-worker",
        ],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_up(f"{base}/healthz", proc, log)
        status, _, body = _get(f"{base}/readyz")
        assert (status, json.loads(body)["failing"]) == (200, [])
        for i in range(6):
            status, headers, _ = _get(f"{base}/login/", {"X-Request-ID": f"probe-{i:04d}-abcdef"})
            assert (status, headers["X-Request-ID"]) == (200, f"probe-{i:04d}-abcdef")
        _, _, metrics = _get(f"{base}/metrics")
        lines = metrics.decode().splitlines()
        assert 'huitouke_http_requests_total{method="GET",status="200",view="login"} 6.0' in lines

        deadline = time.monotonic() + 180  # the worker child boots on its own (slowly on a busy machine)
        while "on queues default, imports, sending" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.5)

        os.kill(proc.pid, signal.SIGHUP)  # graceful reload: new processes, the site stays up
        time.sleep(2)
        _wait_up(f"{base}/healthz", proc, log)

        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=120) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    output = log.read_text()
    access = [json.loads(line) for line in output.splitlines() if line.startswith('{"event": "access"')]
    assert {(a["path"], a["status"], a["request_id"]) for a in access if a["path"] == "/login/"} == {
        ("/login/", 200, f"probe-{i:04d}-abcdef") for i in range(6)
    }
    assert "Background worker started" in output
    assert "Worker stopped." in output  # the worker child was stopped with the server
    assert "development server" not in output
