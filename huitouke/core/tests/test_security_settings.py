"""Browser and transport policies: the headers every answer carries, the production switch (HSTS, HTTPS redirect,
the proxy's header only when the operator names it, `check --deploy` clean) and a home readable by its owner only.
Production settings are checked in a fresh interpreter (test_settings.run_settings)."""

from __future__ import annotations

import secrets
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from huitouke.core.tests.test_settings import REPO, run_settings

PROD_KEY = secrets.token_urlsafe(50)


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/login/", "/api/v1/me", "/help/"])
def test_every_answer_carries_the_browser_policies(client: Client, url: str) -> None:
    resp = client.get(url)

    csp = resp["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert "unsafe-inline" not in directives["script-src"]
    assert "unsafe-eval" not in csp
    assert "camera=()" in resp["Permissions-Policy"]
    assert resp["Referrer-Policy"] == "same-origin"
    assert resp["X-Frame-Options"] == "DENY"
    assert resp["X-Content-Type-Options"] == "nosniff"


def _settings_of(home: Path, names: str, **env: str) -> list[str]:
    code = "import huitouke.settings as s; " + "; ".join(f"print(repr(getattr(s, {n!r}, None)))" for n in names.split())
    result = run_settings(home, code, **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_production_turns_on_hsts_and_the_https_redirect(tmp_path: Path) -> None:
    values = _settings_of(
        tmp_path,
        "SECURE_SSL_REDIRECT SECURE_HSTS_SECONDS SECURE_HSTS_INCLUDE_SUBDOMAINS SESSION_COOKIE_SECURE "
        "SECURE_PROXY_SSL_HEADER",
        HUITOUKE_PRODUCTION="true",
        DJANGO_SECRET_KEY=PROD_KEY,
    )

    assert values == ["True", "31536000", "True", "True", "None"]


def test_outside_production_there_is_no_hsts(tmp_path: Path) -> None:
    assert _settings_of(tmp_path, "SECURE_SSL_REDIRECT SECURE_HSTS_SECONDS") == ["None", "None"]


@pytest.mark.parametrize(
    ("header", "expected"),
    [("X-Forwarded-Proto", "('HTTP_X_FORWARDED_PROTO', 'https')"), ("x-scheme", "('HTTP_X_SCHEME', 'https')")],
)
def test_the_proxy_header_is_trusted_only_when_the_operator_names_it(
    tmp_path: Path, header: str, expected: str
) -> None:
    values = _settings_of(
        tmp_path,
        "SECURE_PROXY_SSL_HEADER",
        HUITOUKE_PRODUCTION="true",
        DJANGO_SECRET_KEY=PROD_KEY,
        DJANGO_SECURE_PROXY_SSL_HEADER=header,
    )

    assert values == [expected]


def test_check_deploy_is_clean_in_production(tmp_path: Path) -> None:
    """The same command scripts/test.sh runs in CI."""
    env = {
        "HUITOUKE_PRODUCTION": "true",
        "DJANGO_SECRET_KEY": PROD_KEY,
        "DJANGO_ALLOWED_HOSTS": "crm.example.com",
        "DJANGO_SETTINGS_MODULE": "huitouke.settings",
    }
    result = run_settings(
        tmp_path, "import huitouke.cli as c; c.main(['check', '--deploy', '--fail-level', 'WARNING'])", **env
    )

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_a_new_home_and_its_sqlite_files_are_readable_by_the_owner_only(tmp_path: Path) -> None:
    home = tmp_path / "fresh" / "home"

    run_settings(tmp_path, "import huitouke.settings", HUITOUKE_HOME=str(home))

    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    for name in ("huitouke.sqlite3", "queue.sqlite3", "secret_key"):
        assert stat.S_IMODE((home / name).stat().st_mode) == 0o600, name


def test_sqlite_gives_its_wal_file_the_database_file_mode(tmp_path: Path) -> None:
    """Once Django opens the database in WAL mode, the -wal and -shm files are as private as the database."""
    home = tmp_path / "home"
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'huitouke.settings'; django.setup(); "
        "from django.db import connection; c = connection.cursor(); c.execute('CREATE TABLE t (x)'); "
        "c.execute('INSERT INTO t VALUES (1)'); "
        "home = os.environ['HUITOUKE_HOME']; "
        "print(sorted((n, oct(os.stat(os.path.join(home, n)).st_mode & 0o777)) for n in os.listdir(home) "
        "if n.startswith('huitouke.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"HUITOUKE_HOME": str(home), "PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "[('huitouke.sqlite3', '0o600'), ('huitouke.sqlite3-shm', '0o600'), ('huitouke.sqlite3-wal', '0o600')]"
    )
