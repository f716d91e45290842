"""REST endpoints of the canned-reply library: search it, and fill one reply for a ticket, customer or order.
A reply with a variable the context cannot fill is answered with `text: null` and the variables `missing`; send
them in `values` to get the text."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from huitouke.core.api import Int64, errors, require_perms
from huitouke.core.errors import NotFoundError
from huitouke.orders.models import Shop
from huitouke.service.replies import selectors, services
from huitouke.service.replies.schemas import CannedReplyOut, CannedReplyPage, RenderIn, RenderOut, ReplyFilterIn
from huitouke.service.replies.variables import variables_of

router = Router(tags=["service"])


@router.get("/replies", response={200: CannedReplyPage}, summary="Search canned replies")
def replies_list(request: HttpRequest, filters: Query[ReplyFilterIn]) -> dict[str, Any]:
    """The replies the caller may use (shipped, the shops', their own), matching `q` by a substring of the title
    or text or by the title's pinyin initials; the most used first. `count` is every match, `items` at most
    `limit` of them."""
    require_perms(request, services.AGENT_PERM)
    shop = None
    if filters.shop_id is not None:
        shop = Shop.objects.filter(pk=filters.shop_id).first()
        if shop is None:
            raise NotFoundError(f"shop {filters.shop_id} not found", field="shop_id")
    qs = selectors.reply_list(
        user=request.user, q=filters.q, shop=shop, language=filters.language, category=filters.category
    )
    rows = list(qs[: filters.limit])
    items = [
        CannedReplyOut(id=r.pk, title=r.title, category=r.category, body=r.body, variables=list(variables_of(r.body)))
        for r in rows
    ]
    return {"items": items, "count": qs.count() if len(rows) == filters.limit else len(rows)}


@router.post("/replies/{reply_id}/render", openapi_extra=errors(404), response={200: RenderOut}, summary="Fill a reply")
def replies_render(request: HttpRequest, reply_id: Int64, payload: RenderIn) -> RenderOut:
    """Fill the reply from the live ticket/customer/order (read now) and `values`. Counts a use when complete."""
    require_perms(request, services.AGENT_PERM)
    reply = selectors.reply_get(user=request.user, reply_id=reply_id)
    target = selectors.reply_target(
        ticket_id=payload.ticket_id, customer_id=payload.customer_id, order_no=payload.order_no
    )
    filled = services.canned_reply_use(reply=reply, target=target, agent=request.user, values=payload.values)
    return RenderOut(text=filled.text, missing=list(filled.missing))
