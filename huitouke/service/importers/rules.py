"""What a platform refund means for a ticket: the ticket type from the buyer's reason, the ticket status from the
platform's refund status, the goods status. Pure tables; the string values mirror `service.models.TicketType`
and `TicketStatus` (copied so this module never loads Django; tests check they stay equal)."""

from __future__ import annotations

from huitouke.orders.importers.cells import status_key

WAIT_SELLER_AGREE = "WAIT_SELLER_AGREE"
WAIT_BUYER_RETURN_GOODS = "WAIT_BUYER_RETURN_GOODS"
WAIT_SELLER_CONFIRM_GOODS = "WAIT_SELLER_CONFIRM_GOODS"
SELLER_REFUSE_BUYER = "SELLER_REFUSE_BUYER"
CLOSED = "CLOSED"
SUCCESS = "SUCCESS"
PLATFORM_STATUSES = (
    WAIT_SELLER_AGREE,
    WAIT_BUYER_RETURN_GOODS,
    WAIT_SELLER_CONFIRM_GOODS,
    SELLER_REFUSE_BUYER,
    CLOSED,
    SUCCESS,
)

#: platform status → ticket status. While the platform holds the case (the buyer or the seller still has a move
#: there) the ticket waits on a third party; a refund paid out resolves it; a refund withdrawn or closed closes it.
TICKET_STATUS: dict[str, str] = {
    WAIT_SELLER_AGREE: "waiting_third_party",
    WAIT_BUYER_RETURN_GOODS: "waiting_third_party",
    WAIT_SELLER_CONFIRM_GOODS: "waiting_third_party",
    SELLER_REFUSE_BUYER: "waiting_third_party",
    SUCCESS: "resolved",
    CLOSED: "closed",
}

_STATUS_TEXTS: dict[str, tuple[str, ...]] = {
    WAIT_SELLER_AGREE: (
        "买家已经申请退款，等待卖家同意",
        "买家已经申请退款,等待卖家同意",
        "等待卖家同意",
        "待卖家处理",
        "退款待处理",
        "待审核",
        "待商家处理",
        "pending",
        "requested",
        "open",
        "申请中",
        "待处理",
    ),
    WAIT_BUYER_RETURN_GOODS: (
        "卖家已经同意退款，等待买家退货",
        "卖家已经同意退款,等待买家退货",
        "等待买家退货",
        "待买家退货",
        "待买家寄回",
        "awaiting return",
        "待寄回",
    ),
    WAIT_SELLER_CONFIRM_GOODS: (
        "买家已经退货，等待卖家确认收货",
        "买家已经退货,等待卖家确认收货",
        "等待卖家确认收货",
        "待卖家收货",
        "待商家收货",
        "待收货",
        "returned",
        "in transit",
    ),
    SELLER_REFUSE_BUYER: ("卖家拒绝退款", "拒绝退款", "商家已拒绝", "已拒绝", "审核不通过", "rejected", "declined"),
    CLOSED: ("退款关闭", "已关闭", "关闭", "已取消", "取消", "已撤销", "买家撤销", "closed", "cancelled", "canceled"),
    SUCCESS: ("退款成功", "已退款", "退款完成", "已完成", "完成", "success", "refunded", "completed", "succeeded"),
}


def _table() -> dict[str, str]:
    out: dict[str, str] = {}
    for status, texts in _STATUS_TEXTS.items():
        for t in (status, *texts):
            out[status_key(t)] = status
    return out


_STATUS = _table()


def platform_status(cell: str) -> str | None:
    """The platform status a cell names (code or Chinese/English text), or None."""
    return _STATUS.get(status_key(cell))


BUYER_NOT_RECEIVED = "BUYER_NOT_RECEIVED"
BUYER_RECEIVED = "BUYER_RECEIVED"
BUYER_RETURNED_GOODS = "BUYER_RETURNED_GOODS"
_GOODS: dict[str, str] = {}
for _code, _texts in {
    BUYER_NOT_RECEIVED: ("买家未收到货", "未收到货", "未收货", "not received"),
    BUYER_RECEIVED: ("买家已收到货", "已收到货", "已收货", "received"),
    BUYER_RETURNED_GOODS: ("买家已退货", "已退货", "returned"),
}.items():
    for _t in (_code, *_texts):
        _GOODS[status_key(_t)] = _code


def goods_status(cell: str) -> str | None:
    """The goods status code a cell names; "" for an empty cell; None when unknown."""
    key = status_key(cell)
    if key in ("", "-", "--", "null", "none"):
        return ""
    return _GOODS.get(key)


#: (keywords found in the reason, ticket type), first match wins; the order matters (发错货 before 质量,
#: 七天无理由退换货 is a return, not an exchange).
REASON_TYPES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("退运费", "运费", "差价", "补差", "价格变化", "价保", "少退"), "refund"),
    (("发错货", "错发", "发错", "漏发", "少发", "少件", "缺件", "wrong item", "missing item"), "wrong_item"),
    (
        (
            "未收到货",
            "没收到",
            "物流",
            "快递",
            "未按约定时间发货",
            "延迟发货",
            "虚假发货",
            "空包",
            "破损",
            "压坏",
            "丢件",
            "not received",
            "damaged",
            "lost",
        ),
        "logistics",
    ),
    (
        ("与描述不符", "描述不符", "与商品描述不符", "色差", "尺码", "大小", "材质", "图片不符", "not as described"),
        "not_as_described",
    ),
    (
        (
            "质量问题",
            "质量",
            "做工",
            "瑕疵",
            "开线",
            "起球",
            "掉色",
            "假冒",
            "假货",
            "坏了",
            "故障",
            "defective",
            "quality",
        ),
        "quality",
    ),
    (
        (
            "七天无理由",
            "7天无理由",
            "无理由",
            "不想要",
            "不喜欢",
            "拍错",
            "多拍",
            "拍多",
            "买错",
            "不合适",
            "changed my mind",
            "no longer needed",
            "unwanted",
        ),
        "return",
    ),
    (("换货", "exchange"), "exchange"),
    (("维修", "三包", "保修", "repair"), "repair"),
)


def ticket_type(reason: str) -> str:
    """The ticket type a refund reason points to; a refund when nothing matches."""
    lowered = reason.lower()
    for keywords, kind in REASON_TYPES:
        if any(k in lowered for k in keywords):
            return kind
    return "refund"
