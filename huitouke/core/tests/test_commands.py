"""`huitouke createuser` and `huitouke token`: in-process through call_command, and once end to end."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from huitouke.core.models import ApiToken
from huitouke.core.services import token_authenticate, token_create

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[3]


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(*args: str, stdin: io.StringIO | None = None) -> str:
    out = io.StringIO()
    options: dict[str, Any] = {"stdout": out}
    if stdin is not None:
        options["stdin"] = stdin
    call_command(*args, **options)
    return out.getvalue()


# --- createuser ------------------------------------------------------------------------------------------


def test_createuser_reads_the_password_from_stdin():
    out = run(
        "createuser",
        "li",
        "--role",
        "agent",
        "--email",
        "li@example.com",
        "--password-stdin",
        stdin=io.StringIO("tea-leaf-2025\nignored\n"),
    )

    user = User.objects.get(username="li")
    assert user.check_password("tea-leaf-2025")
    assert (user.email, list(user.groups.values_list("name", flat=True))) == ("li@example.com", ["agent"])
    assert "li" in out
    assert "agent" in out


def test_createuser_json():
    out = run(
        "createuser", "wang", "--role", "manager", "--password-stdin", "--json", stdin=io.StringIO("tea-leaf-2025")
    )

    assert json.loads(out) == {"id": User.objects.get().pk, "username": "wang", "role": "manager"}


def test_createuser_asks_twice_on_a_terminal(monkeypatch):
    answers = iter(["tea-leaf-2025", "tea-leaf-2025"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))

    run("createuser", "zhao", "--role", "marketer", stdin=Tty())

    assert User.objects.get(username="zhao").check_password("tea-leaf-2025")


def test_createuser_refuses_differing_passwords(monkeypatch):
    answers = iter(["tea-leaf-2025", "tea-leaf-2026"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))

    with pytest.raises(CommandError, match=r"^password: the two passwords differ$"):
        run("createuser", "zhao", "--role", "marketer", stdin=Tty())
    assert not User.objects.exists()


def test_createuser_without_a_terminal_or_stdin_flag_refuses():
    with pytest.raises(CommandError, match=r"^password: .*--password-stdin"):
        run("createuser", "zhao", "--role", "agent", stdin=io.StringIO("tea-leaf-2025\n"))
    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("args", "stdin", "field"),
    [
        (["x", "--role", "boss"], "tea-leaf-2025\n", "role"),
        (["x y", "--role", "agent"], "tea-leaf-2025\n", "username"),
        (["x", "--role", "agent"], "123\n", "password"),
        (["x", "--role", "agent"], "\n", "password"),
        (["x", "--role", "agent", "--email", "nope"], "tea-leaf-2025\n", "email"),
    ],
)
def test_createuser_errors_are_one_line_naming_the_field(args, stdin, field):
    with pytest.raises(CommandError) as exc:
        run("createuser", *args, "--password-stdin", stdin=io.StringIO(stdin))

    assert str(exc.value).startswith(f"{field}: ")
    assert "\n" not in str(exc.value)
    assert not User.objects.exists()


def test_createuser_refuses_a_duplicate(agent):
    with pytest.raises(CommandError, match=r"^username: "):
        run("createuser", agent.username, "--role", "agent", "--password-stdin", stdin=io.StringIO("tea-leaf-2025"))


# --- token -----------------------------------------------------------------------------------------------


def test_token_create_prints_the_token_alone_on_the_last_line(agent):
    out = run("token", "create", agent.username, "--name", "erp sync")

    key = out.rstrip("\n").splitlines()[-1]
    assert token_authenticate(key) == agent
    assert ApiToken.objects.get(user=agent).name == "erp sync"


def test_token_create_json(agent):
    body = json.loads(run("token", "create", agent.username, "--json"))

    assert token_authenticate(body["token"]) == agent
    assert body["user"] == agent.username


def test_token_list_and_revoke(agent):
    token, key = token_create(user=agent, name="old")

    listed = run("token", "list", agent.username)
    as_json = json.loads(run("token", "list", agent.username, "--json"))
    revoked = run("token", "revoke", str(token.pk))

    assert token.prefix in listed
    assert "old" in listed
    assert key not in listed
    assert [t["id"] for t in as_json["tokens"]] == [token.pk]
    assert "revoked" in revoked
    assert token_authenticate(key) is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "ghost"], "^user: no user named 'ghost'$"),
        (["list", "ghost"], "^user: "),
        (["revoke", "424242"], "^token_id: no token 424242$"),
    ],
)
def test_token_errors_are_one_line(db, args, message):
    with pytest.raises(CommandError, match=message):
        run("token", *args)


# --- the console script, end to end ----------------------------------------------------------------------


def test_console_script_creates_a_user_and_a_working_token(tmp_path):
    """`huitouke` in a fresh embedded installation: exit codes, stdout and the one-line stderr reason."""
    script = Path(sys.executable).with_name("huitouke")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "HUITOUKE_", "DATABASE_"))}
    env["HUITOUKE_HOME"] = str(tmp_path)

    def huitouke(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(script), *args],
            input=stdin,
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    assert huitouke("migrate", "--verbosity", "0").returncode == 0
    created = huitouke("createuser", "li", "--role", "agent", "--password-stdin", stdin="tea-leaf-2025\n")
    refused = huitouke("createuser", "li", "--role", "agent", "--password-stdin", stdin="tea-leaf-2025\n")
    no_tty = huitouke("createuser", "wu", "--role", "agent")
    token = huitouke("token", "create", "li", "--name", "cli")
    check = huitouke(
        "shell",
        "-c",
        "import sys; from huitouke.core.services import token_authenticate as t; "
        "print(t(sys.stdin.readline().strip()))",
        stdin=token.stdout.splitlines()[-1] + "\n",
    )

    assert created.returncode == 0, created.stderr
    assert refused.returncode != 0
    assert refused.stderr.strip().splitlines() == ["CommandError: username: user 'li' already exists"]
    assert no_tty.returncode != 0
    assert len(no_tty.stderr.strip().splitlines()) == 1
    assert token.returncode == 0, token.stderr
    assert token.stdout.splitlines()[-1].startswith("htk_")
    assert check.stdout.strip().splitlines()[-1] == "li"
