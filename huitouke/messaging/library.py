"""The library of system templates: one text per care or service scenario, in Simplified Chinese and English,
for SMS, email and the agents' chat tasks (千牛/旺旺). Written for Huitouke; friendly, 亲-style in Chinese.

`library_load()` creates the missing ones and brings the existing system templates up to date (they are not
editable: a shop copies one to change it). It runs after every migrate and as `huitouke templates-load`. Apps
above messaging add their own system templates with `library_register` (care's trigger templates).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import transaction


@dataclass(frozen=True)
class Texts:
    name: str
    sms: str
    subject: str
    email: str = ""


@dataclass(frozen=True)
class Scenario:
    key: str
    purpose: str
    zh: Texts
    en: Texts


def _zh_mail(text: str) -> str:
    return f"亲爱的{{name}}：\n\n{text}\n\n{{shop}}"


def _en_mail(text: str) -> str:
    return f"Hi {{name}},\n\n{text}\n\nThe {{shop}} team"


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "paid_thanks",
        "care",
        Texts(
            "付款感谢",
            "亲，您在{shop}的订单{order_no}已付款成功，我们会尽快打包发出，有问题随时找我们哦～",
            "{shop}：订单{order_no}已收到",
            _zh_mail(
                "谢谢您在{shop}下单！订单{order_no}已经付款成功，仓库的小伙伴正在为您仔细打包，"
                "发货后会第一时间通知您。\n\n有任何疑问，直接回复这封邮件就能找到我们。"
            ),
        ),
        Texts(
            "Thanks for your order",
            "Hi {name}, thanks for order {order_no} at {shop}! It's paid and we're packing it now.",
            "{shop}: we've got your order {order_no}",
            _en_mail(
                "Thank you for shopping with {shop}. Your payment for order {order_no} came through and our team "
                "is packing it with care. We'll let you know as soon as it ships.\n\nQuestions? Just reply."
            ),
        ),
    ),
    Scenario(
        "shipped",
        "transactional",
        Texts(
            "发货通知",
            "亲，您的宝贝已由{carrier}发出，运单号{tracking_no}，请留意查收～",
            "您的订单{order_no}已发货",
            _zh_mail(
                "您在{shop}买的宝贝已经出发啦！\n快递公司：{carrier}\n运单号：{tracking_no}\n\n"
                "收到后请先看看包裹是否完好，有问题随时联系我们。"
            ),
        ),
        Texts(
            "Order shipped",
            "Good news {name}: order {order_no} is on its way with {carrier}, tracking {tracking_no}.",
            "Your order {order_no} has shipped",
            _en_mail(
                "Your order from {shop} is on its way.\nCarrier: {carrier}\nTracking number: {tracking_no}\n\n"
                "When it arrives, please check the parcel is intact and tell us if anything is wrong."
            ),
        ),
    ),
    Scenario(
        "nearby",
        "care",
        Texts(
            "同城派送提醒",
            "亲，您的包裹已到达所在城市，很快就会派送，请保持电话畅通哦～",
            "包裹快到啦",
            _zh_mail("您的包裹（运单号{tracking_no}）已经到达您所在的城市，很快就会送到，请保持电话畅通。"),
        ),
        Texts(
            "Parcel nearly there",
            "Hi {name}, your parcel {tracking_no} has reached your city and will be with you soon.",
            "Your parcel is nearly there",
            _en_mail(
                "Your parcel (tracking {tracking_no}) has reached your city and should be with you shortly. "
                "Please keep your phone handy for the courier."
            ),
        ),
    ),
    Scenario(
        "delivered_check",
        "care",
        Texts(
            "签收关怀",
            "亲，宝贝已签收啦，麻烦检查一下是否完好，有不满意请先联系我们，一定帮您处理好！",
            "宝贝收到了吗？",
            _zh_mail(
                "系统显示您的订单{order_no}已经签收。麻烦您抽空检查一下商品是否完好、和描述是否一致。\n\n"
                "如果有任何不满意，请先联系我们，我们一定负责到底。"
            ),
        ),
        Texts(
            "Delivered: all well?",
            "Hi {name}, order {order_no} was delivered. If anything isn't right, tell us first and we'll fix it.",
            "Did everything arrive safely?",
            _en_mail(
                "Our records show order {order_no} was delivered. Could you take a moment to check that "
                "everything arrived intact and as described?\n\nIf something isn't right, please contact us "
                "first: we'll put it right."
            ),
        ),
    ),
    Scenario(
        "usage_tips",
        "care",
        Texts(
            "使用关怀",
            "亲，{product}用着还顺手吗？想了解使用和保养的小窍门，随时问我们哦～",
            "{product}的使用小贴士",
            _zh_mail(
                "您入手的{product}已经用上一段时间了吧？为了让它陪您更久，我们整理了一些使用和保养的小建议："
                "{link}\n\n有任何问题都可以回复邮件问我们。"
            ),
        ),
        Texts(
            "Usage tips",
            "Hi {name}, how are you getting on with your {product}? Ask us anytime for tips.",
            "Getting the most from your {product}",
            _en_mail(
                "You've had your {product} for a little while now. To help it last, we've put together a few "
                "tips on using and looking after it: {link}\n\nAny questions? Just reply."
            ),
        ),
    ),
    Scenario(
        "feedback_invite",
        "care",
        Texts(
            "评价邀请",
            "亲，用了一段时间感觉如何？方便时留下您的真实评价，您的意见对我们很重要～",
            "想听听您的真实感受",
            _zh_mail(
                "感谢您选择{shop}。方便的话，请在订单{order_no}下写下您的真实评价：好的我们继续保持，"
                "不足的我们马上改进。"
            ),
        ),
        Texts(
            "Review invitation",
            "Hi {name}, how was order {order_no}? An honest review would mean a lot to us.",
            "How did we do?",
            _en_mail(
                "Thanks for choosing {shop}. If you have a minute, we'd love an honest review of order "
                "{order_no}: what you liked helps us keep it up, and what you didn't helps us improve."
            ),
        ),
    ),
    Scenario(
        "birthday",
        "care",
        Texts(
            "生日祝福",
            "亲爱的{name}，生日快乐！{shop}的小伙伴祝您新的一岁开开心心、万事顺意～",
            "{name}，生日快乐！",
            _zh_mail("今天是您的生日，{shop}全体小伙伴祝您生日快乐、身体健康、天天好心情！\n\n谢谢您一直以来的支持。"),
        ),
        Texts(
            "Birthday wishes",
            "Happy birthday, {name}! Everyone at {shop} wishes you a wonderful year ahead.",
            "Happy birthday, {name}!",
            _en_mail("Everyone at {shop} wishes you a very happy birthday and a year full of good things."),
        ),
    ),
    Scenario(
        "holiday",
        "care",
        Texts(
            "节日问候",
            "亲，节日快乐！感谢一路有您，{shop}祝您和家人节日愉快、阖家安康～",
            "{shop}祝您节日快乐",
            _zh_mail("值此佳节，{shop}祝您和家人节日快乐、幸福安康！感谢您一直以来的信任与支持。"),
        ),
        Texts(
            "Holiday greetings",
            "Happy holidays, {name}! Thank you for being with {shop} this year.",
            "Happy holidays from {shop}",
            _en_mail("Warm wishes to you and your family for the holidays, and thank you for your trust this year."),
        ),
    ),
    Scenario(
        "level_up",
        "care",
        Texts(
            "会员升级",
            "恭喜亲升级为{shop}{level}！会员专享的折扣和服务已经为您开启～",
            "恭喜您成为{level}",
            _zh_mail("恭喜您升级为{shop}的{level}！从现在起您可以享受对应的会员折扣和专属服务。\n\n感谢您的一路支持。"),
        ),
        Texts(
            "Member level up",
            "Congratulations {name}, you're now {level} at {shop}! Your member perks are ready.",
            "Welcome to {level}",
            _en_mail("You've reached {level} at {shop}! From now on you enjoy the discount and service of your level."),
        ),
    ),
    Scenario(
        "replenish",
        "care",
        Texts(
            "回购提醒",
            "亲，上次买的{product}快用完了吧？需要补货的话记得来{shop}看看哦～",
            "{product}该补货啦",
            _zh_mail("算算时间，您上次买的{product}可能快用完了。需要补货的话，随时来{shop}看看。"),
        ),
        Texts(
            "Time to restock",
            "Hi {name}, running low on {product}? {shop} is here when you need more.",
            "Running low on {product}?",
            _en_mail("By our count your {product} may be running low. Whenever you need more, {shop} is here."),
        ),
    ),
    Scenario(
        "winback",
        "marketing",
        Texts(
            "老客回访",
            "亲，好久不见～{shop}上了不少新品，有空回来逛逛吧回T退订",
            "好久不见，{shop}想您了",
            _zh_mail("好久不见！这段时间{shop}上了不少新品，有空回来看看吧。"),
        ),
        Texts(
            "We miss you",
            "Hi {name}, it's been a while! {shop} has new things to show you. Reply T to opt out",
            "It's been a while, {name}",
            _en_mail("It's been a while! {shop} has added plenty of new things since your last visit. Come and look."),
        ),
    ),
    Scenario(
        "coupon_expiring",
        "marketing",
        Texts(
            "优惠券到期提醒",
            "亲，您在{shop}的{coupon}快到期啦，别忘了用哦回T退订",
            "您的{coupon}快到期了",
            _zh_mail("温馨提醒：您在{shop}领取的{coupon}即将到期，别让它白白浪费哦。"),
        ),
        Texts(
            "Coupon expiring",
            "Hi {name}, your {coupon} at {shop} expires soon. Reply T to opt out",
            "Your {coupon} expires soon",
            _en_mail("A friendly reminder: your {coupon} at {shop} expires soon. Don't let it go to waste."),
        ),
    ),
    Scenario(
        "new_arrival",
        "marketing",
        Texts(
            "新品通知",
            "亲，{shop}上新啦：{product}，老朋友优先尝鲜～回T退订",
            "{shop}新品：{product}",
            _zh_mail("{shop}上新啦：{product}。作为老朋友，第一时间告诉您。"),
        ),
        Texts(
            "New arrival",
            "Hi {name}, new at {shop}: {product}. Regulars hear first! Reply T to opt out",
            "New at {shop}: {product}",
            _en_mail("Something new at {shop}: {product}. As one of our regulars, you hear about it first."),
        ),
    ),
    Scenario(
        "unpaid_reminder",
        "transactional",
        Texts(
            "待付款提醒",
            "亲，您在{shop}拍下的{product}还没付款哦，需要帮忙随时找我们～",
            "您的订单{order_no}还未付款",
            _zh_mail("您在{shop}拍下的{product}（订单{order_no}）还在等您付款。遇到任何问题，随时联系我们。"),
        ),
        Texts(
            "Payment reminder",
            "Hi {name}, your {product} at {shop} is waiting for payment. Need a hand? Just ask.",
            "Order {order_no} is waiting for payment",
            _en_mail("Your {product} (order {order_no}) at {shop} is still waiting for payment. Need help? Ask us."),
        ),
    ),
    Scenario(
        "ticket_received",
        "service",
        Texts(
            "售后受理",
            "亲，订单{order_no}的售后申请我们已受理，客服会尽快联系您，请放心～",
            "售后申请已受理",
            _zh_mail("您为订单{order_no}提交的售后申请我们已经收到并受理，客服会尽快与您联系，请放心。"),
        ),
        Texts(
            "After-sales request received",
            "Hi {name}, we've received your after-sales request for order {order_no}. We'll be in touch soon.",
            "We've received your request",
            _en_mail("We've received your after-sales request for order {order_no}. One of us will contact you soon."),
        ),
    ),
    Scenario(
        "ticket_resolved",
        "service",
        Texts(
            "售后处理完成",
            "亲，订单{order_no}的售后问题已处理完毕，如还有不满意请随时告诉我们～",
            "售后问题已处理",
            _zh_mail("订单{order_no}的售后问题已经处理完毕。如果您还有任何不满意，请随时告诉我们。"),
        ),
        Texts(
            "After-sales resolved",
            "Hi {name}, your request for order {order_no} is resolved. Tell us if anything is still not right.",
            "Your request is resolved",
            _en_mail(
                "Your after-sales request for order {order_no} is resolved. If anything is still not right, tell us."
            ),
        ),
    ),
    Scenario(
        "refund_done",
        "service",
        Texts(
            "退款完成",
            "亲，订单{order_no}的退款{amount}元已原路退回，请注意查收～",
            "退款已完成",
            _zh_mail("订单{order_no}的退款{amount}元已经按原支付方式退回，到账时间以支付渠道为准。"),
        ),
        Texts(
            "Refund completed",
            "Hi {name}, the refund of {amount} for order {order_no} is on its way to your original payment.",
            "Your refund is on its way",
            _en_mail("The refund of {amount} for order {order_no} was sent back to your original payment method."),
        ),
    ),
    Scenario(
        "return_visit",
        "service",
        Texts(
            "客户回访",
            "亲，我是{shop}的客服，想问问您对上次的购物和服务还满意吗？您的意见对我们很重要～",
            "您对我们的服务满意吗？",
            _zh_mail("我们想了解一下您对上次购物和服务的感受。无论好坏，都欢迎直接回复告诉我们。"),
        ),
        Texts(
            "Return visit",
            "Hi {name}, this is {shop} customer service. Were you happy with your last order and our service?",
            "Were you happy with us?",
            _en_mail(
                "We'd like to know how your last order and our service felt. Good or bad, just reply and tell us."
            ),
        ),
    ),
)

CHANNELS = ("sms", "email", "manual")


def scenario_rows(key: str, purpose: str, zh: Texts, en: Texts) -> Iterator[dict[str, Any]]:
    """One template's field values per language and channel (the library's unit; care and campaigns use it for
    theirs): the e-mail text and subject on email, the short text elsewhere."""
    for language, texts in (("zh-hans", zh), ("en", en)):
        for channel in CHANNELS:
            yield {
                "key": key,
                "channel": channel,
                "language": language,
                "purpose": purpose,
                "name": texts.name,
                "subject": texts.subject if channel == "email" else "",
                "body": texts.email if channel == "email" else texts.sms,
            }


def library_rows() -> list[dict[str, Any]]:
    """Every system template as field values (three channels × two languages per scenario)."""
    return [row for s in SCENARIOS for row in scenario_rows(s.key, s.purpose, s.zh, s.en)]


#: Template rows other apps ship (care's trigger templates …), registered at start-up: name -> rows().
_REGISTERED: dict[str, Callable[[], Iterable[dict[str, Any]]]] = {}


def library_register(name: str, rows: Callable[[], Iterable[dict[str, Any]]]) -> None:
    """Add another app's system templates to the library: `rows()` yields dicts with key, channel, language,
    purpose, name, subject, body (keys must not clash with other apps'; prefix them, e.g. `care_birthday`).
    They are loaded with messaging's own after every migrate and by `huitouke templates-load`."""
    _REGISTERED[name] = rows


def library_load(*, rows: Iterable[dict[str, Any]] | None = None) -> dict[str, int]:
    """Create the missing system templates and update the others to the library's text; returns counts.
    `rows` defaults to messaging's scenarios plus every registered app's rows."""
    from huitouke.messaging.models import Template

    if rows is None:
        wanted = list(library_rows())
        for more in _REGISTERED.values():
            wanted.extend(more())
    else:
        wanted = list(rows)
    created = updated = 0
    with transaction.atomic():
        keys = sorted({str(r["key"]) for r in wanted})
        existing = {(t.key, t.channel, t.language): t for t in Template.objects.filter(system=True, key__in=keys)}
        for row in wanted:
            fields = {k: row.get(k, "") for k in ("purpose", "name", "subject", "body", "provider_code")}
            current = existing.get((row["key"], row["channel"], row["language"]))
            if current is None:
                Template.objects.create(
                    system=True, key=row["key"], channel=row["channel"], language=row["language"], **fields
                )
                created += 1
                continue
            changed = [f for f, v in fields.items() if getattr(current, f) != v]
            if changed:
                for f in changed:
                    setattr(current, f, fields[f])
                current.save(update_fields=[*changed, "updated_at"])
                updated += 1
    return {"created": created, "updated": updated, "total": len(wanted)}


def library_load_after_migrate(**kwargs: Any) -> None:
    """post_migrate hook: the library ships with the code, like the role groups."""
    library_load()
