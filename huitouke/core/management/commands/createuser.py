"""`huitouke createuser NAME --role ROLE [--password-stdin] [--email E] [--json]`: add a user with one role."""

from __future__ import annotations

import getpass
import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from huitouke.core.errors import ApplicationError
from huitouke.core.roles import ROLE_PERMISSIONS
from huitouke.core.services import user_create


class Command(BaseCommand):
    """Create a user holding one role (owner, manager, agent, marketer).

    The password is read from one line of stdin with --password-stdin; otherwise it is asked twice on the
    terminal, and without a terminal the command refuses. Errors name the field (role, username, password).
    """

    help = "Create a user with one role (owner, manager, agent, marketer)."
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="the login name")
        parser.add_argument("--role", required=True, help=f"one of {', '.join(ROLE_PERMISSIONS)}")
        parser.add_argument("--email", default="", help="the user's email address")
        parser.add_argument(
            "--password-stdin", action="store_true", help="read the password from the first line of stdin"
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object instead of a sentence")

    def handle(self, *args: Any, **options: Any) -> None:
        stdin = options.get("stdin") or sys.stdin
        password = self._read_password(stdin) if options["password_stdin"] else self._ask_password(stdin)
        try:
            user = user_create(
                username=options["username"], role=options["role"], password=password, email=options["email"]
            )
        except ApplicationError as exc:
            raise CommandError(f"{exc.field}: {exc.message}" if exc.field else exc.message) from exc
        if options["json"]:
            self.stdout.write(json.dumps({"id": user.pk, "username": user.username, "role": options["role"]}))
        else:
            self.stdout.write(f"Created user {user.username} (id {user.pk}) with role {options['role']}.")

    def _read_password(self, stdin: Any) -> str:
        line = stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise CommandError("password: no password on stdin (send it as the first line)")
        return password

    def _ask_password(self, stdin: Any) -> str:
        if not (hasattr(stdin, "isatty") and stdin.isatty()):
            raise CommandError("password: no terminal to ask on; pipe it in with --password-stdin")
        first = getpass.getpass("Password: ")
        second = getpass.getpass("Password (again): ")
        if first != second:
            raise CommandError("password: the two passwords differ")
        if not first:
            raise CommandError("password: the password is empty")
        return first
