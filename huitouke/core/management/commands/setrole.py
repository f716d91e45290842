"""`huitouke setrole NAME ROLE [--json]`: give an existing user exactly one role (audited)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from huitouke.core.errors import ApplicationError
from huitouke.core.roles import ROLE_PERMISSIONS
from huitouke.core.services import user_role_set


class Command(BaseCommand):
    """Replace a user's role (owner, manager, agent, marketer). The change is written to the audit trail."""

    help = "Give an existing user exactly one role (owner, manager, agent, marketer)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="the login name")
        parser.add_argument("role", help=f"one of {', '.join(ROLE_PERMISSIONS)}")
        parser.add_argument("--json", action="store_true", help="print one JSON object instead of a sentence")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = user_role_set(username=options["username"], role=options["role"])
        except ApplicationError as exc:
            raise CommandError(f"{exc.field}: {exc.message}" if exc.field else exc.message) from exc
        if options["json"]:
            self.stdout.write(json.dumps({"id": user.pk, "username": user.username, "role": options["role"]}))
        else:
            self.stdout.write(f"User {user.username} now has the role {options['role']}.")
