"""The production web server behind `huitouke serve`: gunicorn run in-process with this project's defaults.

gunicorn's arbiter forks the web processes after this module configured it, so every process loads Django itself
(no preload: SIGHUP then reloads new code too). What the defaults are and why:

- workers: 2 per CPU core + 1, at most 8 (requests mostly wait on the database);
- timeout 120 s: a request that takes longer gets its process replaced (long work belongs to the worker: exports
  and imports are background jobs); graceful_timeout 30 s: on SIGTERM/SIGHUP a process finishes its request;
- max_requests 2,000 (+ jitter): a process is recycled now and then, so a slow leak never grows without bound;
- the access log goes to stdout, one line per request, with the request id (JSON when LOG_FORMAT=json).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

MAX_DEFAULT_WORKERS = 8


def parse_bind(value: str) -> tuple[str, int]:
    """`host:port` → (host, port); raises ValueError with a readable reason."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--bind must look like 127.0.0.1:8000, got {value!r}")
    return host.strip("[]"), int(port)


def default_workers(cpus: int | None) -> int:
    """2 per core + 1, capped (the classic gunicorn rule; the cap keeps small machines' memory in check)."""
    return min(2 * max(cpus or 1, 1) + 1, MAX_DEFAULT_WORKERS)


@dataclass(frozen=True)
class ServeOptions:
    """What `huitouke serve` runs: address, process count, request timeout, whether a worker runs alongside."""

    host: str
    port: int
    workers: int
    timeout: int
    with_worker: bool = False

    @classmethod
    def build(
        cls, *, host: str, port: int, workers: int | None, timeout: int | None, with_worker: bool = False
    ) -> ServeOptions:
        return cls(
            host=host,
            port=port,
            workers=workers or settings.HUITOUKE_WEB_WORKERS or default_workers(os.cpu_count()),
            timeout=timeout or settings.HUITOUKE_WEB_TIMEOUT,
            with_worker=with_worker,
        )

    @property
    def bind(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def gunicorn_config(self) -> dict[str, Any]:
        return {
            "bind": [self.bind],
            "workers": self.workers,
            "worker_class": "sync",
            "timeout": self.timeout,
            "graceful_timeout": 30,
            "keepalive": 5,
            "max_requests": 2000,
            "max_requests_jitter": 200,
            "accesslog": "-",
            "errorlog": "-",
            "loglevel": "info",
            "logger_class": f"{__name__}.AccessLogger",
            "forwarded_allow_ips": ",".join(settings.HUITOUKE_FORWARDED_ALLOW_IPS),
            "proc_name": "huitouke-web",
            "limit_request_field_size": 16380,
        }


class AccessLogger(Logger):
    """gunicorn's logger with one access line per request carrying the request id our middleware set; a JSON
    object when LOG_FORMAT=json (the same shape as the application's log lines), the server's own lines too."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        if settings.LOG_FORMAT == "json":
            from huitouke.core.observability import JsonFormatter

            for handler in self.error_log.handlers:
                handler.setFormatter(JsonFormatter())

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.access_log_enabled:
            return
        headers = dict(resp.headers) if isinstance(resp.headers, list) else {}
        request_id = next((v for k, v in headers.items() if k.lower() == "x-request-id"), "")
        ms = round(request_time.total_seconds() * 1000, 1)
        status = str(resp.status).split()[0]
        line: dict[str, Any] = {
            "event": "access",
            "remote": environ.get("REMOTE_ADDR", ""),
            "method": environ.get("REQUEST_METHOD", ""),
            "path": environ.get("PATH_INFO", ""),
            "status": int(status) if status.isdigit() else status,
            "bytes": getattr(resp, "sent", 0),
            "ms": ms,
            "request_id": request_id,
        }
        if settings.LOG_FORMAT == "json":
            self.access_log.info(json.dumps(line, ensure_ascii=False))
        else:
            self.access_log.info(
                '%s "%s %s" %s %s %.1fms rid=%s',
                line["remote"],
                line["method"],
                line["path"],
                line["status"],
                line["bytes"],
                ms,
                request_id or "-",
            )


def metrics_dir() -> Path:
    """Where the web processes keep their Prometheus counters (prometheus-client multiprocess mode)."""
    return Path(settings.HUITOUKE_HOME) / "metrics" / "web"


class _Application(BaseApplication):
    def __init__(self, options: ServeOptions) -> None:
        self.options = options
        self.worker_process: subprocess.Popen[bytes] | None = None
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.gunicorn_config().items():
            self.cfg.set(key, value)
        if "control_socket_disable" in self.cfg.settings:
            # gunicorn 24+'s control socket sits in the user's home: two servers on one machine would share it
            self.cfg.set("control_socket_disable", True)
        self.cfg.set("on_starting", self._on_starting)
        self.cfg.set("on_exit", self._on_exit)
        self.cfg.set("child_exit", _child_exit)

    def load(self) -> Any:
        from huitouke.wsgi import application

        return application

    def _on_starting(self, server: Any) -> None:
        if self.options.with_worker:
            # the worker is its own process (its own signal handling); it stops when the server stops
            self.worker_process = subprocess.Popen([sys.executable, "-m", "huitouke.cli", "worker"])
            server.log.info("Background worker started (pid %s)", self.worker_process.pid)

    def _on_exit(self, server: Any) -> None:
        proc = self.worker_process
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # the worker finishes its task, then leaves
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
            server.log.info("Background worker stopped")


def _child_exit(server: Any, worker: Any) -> None:
    """A web process left: its live gauges go with it (prometheus-client multiprocess mode)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def serve(options: ServeOptions) -> None:
    """Run gunicorn until it is stopped (SIGINT/SIGTERM: graceful stop; SIGHUP: graceful reload)."""
    folder = metrics_dir()
    shutil.rmtree(folder, ignore_errors=True)  # counters of an earlier run would be added to this one's
    folder.mkdir(parents=True, exist_ok=True)
    # set before any web process imports prometheus_client: it picks its storage when first imported
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    from prometheus_client import values

    values.ValueClass = values.get_value_class()  # in case something imported prometheus-client before
    _Application(options).run()
