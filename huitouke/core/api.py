"""What every API router shares: the permission check, the caller's masking rules, and GET /me."""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from huitouke.core.errors import INT64_MAX, INT64_MIN, PermissionDeniedError
from huitouke.core.pii import EXPORT_PERMISSION, UNMASK_PERMISSION, Masker
from huitouke.core.roles import role_of

router = Router(tags=["me"])

#: The error type of an integer beyond 64 bits (the API answers 404 for a path id, 400 for a query value).
OUT_OF_RANGE = "int_out_of_range"


def _int64(value: int) -> int:
    if not INT64_MIN <= value <= INT64_MAX:
        raise PydanticCustomError(OUT_OF_RANGE, "the number is out of range (at most {limit})", {"limit": INT64_MAX})
    return value


#: Every integer path and query parameter of the API is declared with this type (ids, shop, customer, product …),
#: so a value a database integer cannot hold is refused before any query: tests/test_int_params walks them all.
Int64 = Annotated[int, AfterValidator(_int64), Field(json_schema_extra={"minimum": INT64_MIN, "maximum": INT64_MAX})]


class ErrorOut(Schema):
    """The JSON of every error answer."""

    code: str = Field(..., description="invalid, not_found, forbidden, conflict, unauthorized …")
    message: str
    field: str | None = Field(None, description="the parameter or body field at fault, when there is one")


def errors(*statuses: int) -> dict[str, Any]:
    """`openapi_extra` of an operation that can answer `statuses` besides the ones every operation declares
    (huitouke/api.py adds 401/403 for authenticated operations, 404 where there is a path id, 400/422 where there
    is input)."""
    return {"x-errors": sorted(statuses)}


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
