"""`huitouke token create|list|revoke`: personal API tokens from the command line."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from huitouke.core.errors import ApplicationError
from huitouke.core.models import ApiToken
from huitouke.core.selectors import token_list_for_user
from huitouke.core.services import token_create, token_revoke


def _user(username: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"user: no user named {username!r}")
    return user


class Command(BaseCommand):
    """Create, list and revoke a user's API tokens.

    `token create USER [--name N]` prints the clear-text token alone on its last line (it is shown only once;
    only its hash is stored). `token list USER` shows the user's tokens; `token revoke ID` revokes one.
    """

    help = "Create, list or revoke API tokens. `create` prints the token alone on its last line."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a token for USER and print it")
        create.add_argument("username")
        create.add_argument("--name", default="", help="what the token is for (max 64 characters)")
        create.add_argument(
            "--scope", default="", choices=[s for s in ApiToken.Scope.values if s], help="limit what the token may call"
        )
        create.add_argument("--json", action="store_true")
        listing = sub.add_parser("list", help="list USER's tokens")
        listing.add_argument("username")
        listing.add_argument("--json", action="store_true")
        revoke = sub.add_parser("revoke", help="revoke token ID")
        revoke.add_argument("token_id", type=int)
        revoke.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except ApplicationError as exc:
            raise CommandError(f"{exc.field}: {exc.message}" if exc.field else exc.message) from exc

    def _create(self, options: dict[str, Any]) -> None:
        user = _user(options["username"])
        token, key = token_create(user=user, name=options["name"], scope=options["scope"])
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {"id": token.pk, "user": user.username, "name": token.name, "scope": token.scope, "token": key}
                )
            )
            return
        self.stdout.write(f"Token {token.pk} for {user.username} created; it is shown only this once:")
        self.stdout.write(key)

    def _list(self, options: dict[str, Any]) -> None:
        user = _user(options["username"])
        rows = [
            {
                "id": t.pk,
                "name": t.name,
                "prefix": t.prefix,
                "created_at": t.created_at.isoformat(),
                "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
                "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None,
            }
            for t in token_list_for_user(user=user)
        ]
        if options["json"]:
            self.stdout.write(json.dumps({"user": user.username, "tokens": rows}))
            return
        if not rows:
            self.stdout.write(f"{user.username} has no tokens.")
        for r in rows:
            state = f"revoked {r['revoked_at']}" if r["revoked_at"] else f"last used {r['last_used_at'] or 'never'}"
            self.stdout.write(f"{r['id']}\t{r['prefix']}…\t{r['name'] or '-'}\tcreated {r['created_at']}\t{state}")

    def _revoke(self, options: dict[str, Any]) -> None:
        # The shell operator acts with the owner's rights: the CLI is run by whoever runs the installation.
        found = ApiToken.objects.select_related("user").filter(pk=options["token_id"]).first()
        if found is None:
            raise CommandError(f"token_id: no token {options['token_id']}")
        token = token_revoke(token_id=found.pk, user=found.user)
        if options["json"]:
            revoked = token.revoked_at.isoformat() if token.revoked_at else None
            self.stdout.write(json.dumps({"id": token.pk, "revoked_at": revoked}))
        else:
            self.stdout.write(f"Token {token.pk} ({token.prefix}…) of {token.user.username} is revoked.")
