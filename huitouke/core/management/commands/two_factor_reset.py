"""`huitouke two-factor-reset NAME`: remove a user's authenticator and recovery codes (a lost phone)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from huitouke.core.twofactor import two_factor_disable


class Command(BaseCommand):
    """Turn two-factor sign-in off for a user who lost both phone and recovery codes (audited as the system).
    If their role requires two-factor, they are asked to set it up again after their next sign-in."""

    help = "Remove a user's authenticator and recovery codes (audited)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="the login name")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"username: user {options['username']!r} not found")
        two_factor_disable(user=user, actor=None)
        self.stdout.write(f"Two-factor sign-in removed for {user.username}.")
