"""Request and answer shapes of the canned-reply endpoints."""

from __future__ import annotations

from ninja import Field, Schema

from huitouke.core.api import Int64
from huitouke.service.schemas import _Input


class ReplyFilterIn(Schema):
    q: str = Field("", max_length=50, description="a substring of the title or text, or pinyin initials (zcp)")
    language: str = Field("", description="zh-hans or en; empty: both")
    category: str = Field("", description="a scenario (review, colour, bargain, shipping …); empty: all")
    shop_id: Int64 | None = Field(None, description="only this shop's replies besides the shipped and personal ones")
    limit: int = Field(50, ge=1, le=200)


class CannedReplyOut(Schema):
    id: int
    title: str
    category: str
    body: str
    variables: list[str]


class CannedReplyPage(Schema):
    items: list[CannedReplyOut]
    count: int


class RenderIn(_Input):
    ticket_id: Int64 | None = None
    customer_id: Int64 | None = None
    order_no: str | None = Field(None, max_length=64)
    values: dict[str, str] | None = Field(None, description="what the agent typed for variables: {var: text}")


class RenderOut(Schema):
    text: str | None = Field(..., description="the reply filled in; null while `missing` is not empty")
    missing: list[str]
