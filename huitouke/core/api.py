"""What every API router shares: the permission check, the caller's masking rules, and GET /me."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from huitouke.core.errors import PermissionDeniedError
from huitouke.core.pii import EXPORT_PERMISSION, UNMASK_PERMISSION, Masker
from huitouke.core.roles import role_of

router = Router(tags=["me"])


def require_perms(request: HttpRequest, *perms: str) -> None:
    """Refuse (403 JSON) unless the token's user holds every one of `perms`."""
    missing = [p for p in perms if not request.user.has_perm(p)]
    if missing:
        raise PermissionDeniedError(f"you lack the permission {missing[0]}")


def masker_for(request: HttpRequest) -> Masker:
    """The masking rules for the caller: real values only with core.unmask_pii."""
    return Masker(unmasked=request.user.has_perm(UNMASK_PERMISSION))


class MeOut(Schema):
    username: str
    role: str | None
    sees_unmasked_pii: bool
    can_export: bool


@router.get("/me", response=MeOut, summary="Who the token belongs to")
def me(request: HttpRequest) -> MeOut:
    """The user behind the bearer token, their role and whether they see unmasked contact data."""
    user = request.user
    return MeOut(
        username=user.get_username(),
        role=role_of(user),
        sees_unmasked_pii=user.has_perm(UNMASK_PERMISSION),
        can_export=user.has_perm(EXPORT_PERMISSION),
    )
