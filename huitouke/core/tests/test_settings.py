"""Settings from the environment, checked by importing huitouke.settings in a fresh interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
PRINT_KEY = "import huitouke.settings as s; print(s.SECRET_KEY)"


def run_settings(home: Path, code: str = PRINT_KEY, **env: str) -> subprocess.CompletedProcess[str]:
    """Import the settings with only the given variables set (cwd is `home`, so no .env file is read)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "HUITOUKE_", "DATABASE_"))}
    clean.update({"HUITOUKE_HOME": str(home), "PYTHONPATH": str(REPO), **env})
    return subprocess.run(
        [sys.executable, "-c", code], cwd=home, env=clean, capture_output=True, text=True, timeout=60, check=False
    )


def test_secret_key_is_generated_into_the_home_and_reused(tmp_path):
    first = run_settings(tmp_path)
    second = run_settings(tmp_path)

    assert first.returncode == 0, first.stderr
    key_file = tmp_path / "secret_key"
    key = key_file.read_text().strip()
    assert len(key) >= 50
    assert first.stdout.strip() == second.stdout.strip() == key
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_each_home_gets_its_own_key(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()

    assert run_settings(one).stdout != run_settings(two).stdout


def test_configured_secret_key_wins_and_nothing_is_written(tmp_path):
    result = run_settings(tmp_path, DJANGO_SECRET_KEY="from-the-environment")

    assert result.stdout.strip() == "from-the-environment"
    assert not (tmp_path / "secret_key").exists()


def test_production_without_a_secret_key_refuses_to_start(tmp_path):
    result = run_settings(tmp_path, HUITOUKE_PRODUCTION="true")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY" in result.stderr
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"HUITOUKE_PRODUCTION": "true", "DJANGO_SECRET_KEY": "k" * 50}, "True False True"),
        ({}, "False False False"),
        ({"DJANGO_DEBUG": "true"}, "False True False"),
    ],
)
def test_production_switches_secure_cookies_and_debug_defaults_off(tmp_path, env, expected):
    code = "import huitouke.settings as s; print(s.PRODUCTION, s.DEBUG, s.SESSION_COOKIE_SECURE)"

    result = run_settings(tmp_path, code, **env)

    assert result.stdout.strip() == expected, result.stderr


def test_sqlite_lives_in_the_home_unless_database_url_is_set(tmp_path):
    code = "import huitouke.settings as s; print(s.DATABASES['default']['ENGINE'], s.DATABASES['default']['NAME'])"

    embedded = run_settings(tmp_path, code).stdout.split()
    postgres = run_settings(tmp_path, code, DATABASE_URL="postgres://u:p@db.example:5432/crm").stdout.split()

    assert embedded == ["django.db.backends.sqlite3", str(tmp_path / "huitouke.sqlite3")]
    assert postgres == ["django.db.backends.postgresql", "crm"]


def test_argon2_is_the_first_password_hasher(tmp_path):
    result = run_settings(tmp_path, "import huitouke.settings as s; print(s.PASSWORD_HASHERS[0])")

    assert result.stdout.strip() == "django.contrib.auth.hashers.Argon2PasswordHasher"


MAIL = (
    "import huitouke.settings as s; "
    "print(s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_HOST_USER or '-', s.EMAIL_HOST_PASSWORD or '-', s.EMAIL_USE_TLS, "
    "s.EMAIL_USE_SSL, s.DEFAULT_FROM_EMAIL)"
)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "localhost 25 - - False False huitouke@localhost"),
        (
            {
                "SMTP_URL": "smtp://alerts:p%40ss@mail.example.com:587?starttls=true",
                "HUITOUKE_FROM_EMAIL": "crm@shop.cn",
            },
            "mail.example.com 587 alerts p@ss True False crm@shop.cn",
        ),
        ({"SMTP_URL": "smtps://u:pw@smtp.exmail.qq.com"}, "smtp.exmail.qq.com 465 u pw False True huitouke@localhost"),
    ],
)
def test_staff_mail_goes_through_smtp_url(tmp_path, env, expected):
    result = run_settings(tmp_path, MAIL, **env)

    assert result.stdout.strip() == expected, result.stderr


@pytest.mark.parametrize("url", ["http://mail.example.com", "smtp://", "smtp://host:notaport"])
def test_a_bad_smtp_url_refuses_to_start_and_says_which_variable(tmp_path, url):
    result = run_settings(tmp_path, MAIL, SMTP_URL=url)

    assert result.returncode != 0
    assert "ImproperlyConfigured: SMTP_URL" in result.stderr
