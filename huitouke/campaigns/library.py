"""The campaign templates of the message library (网络营销): restock, holiday sale, member day and a win-back coupon,
in Simplified Chinese and English for SMS, email and chat tasks; the new-arrival notice is messaging's own.
Written for Huitouke. Registered with messaging's library at start-up (`library_register`), so they are loaded
after every migrate and by `huitouke templates-load` like the rest; a shop copies one to add its SMS code.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from huitouke.messaging.library import Scenario, Texts, _en_mail, _zh_mail, scenario_rows

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "campaign_restock",
        "marketing",
        Texts(
            "补货到货通知",
            "亲，您关注的{product}补货到啦，数量有限，想要的话早点下手哦～回T退订",
            "{product}补货到了",
            _zh_mail("好消息：{product}已经补货到店。之前没抢到的话，这次可以早点下单，数量有限哦。"),
        ),
        Texts(
            "Back in stock",
            "Hi {name}, {product} is back in stock at {shop}. Stock is limited, so don't wait too long! Reply T "
            "to opt out",
            "{product} is back in stock",
            _en_mail(
                "Good news: {product} is back in stock. If you missed it last time, now is your chance, while stock "
                "lasts."
            ),
        ),
    ),
    Scenario(
        "campaign_holiday_sale",
        "marketing",
        Texts(
            "节日促销",
            "亲，{shop}节日特惠开始啦，{product}等好物限时优惠，详情{link}，祝您节日快乐～回T退订",
            "{shop}节日特惠，限时开启",
            _zh_mail(
                "节日到了，{shop}为老朋友准备了限时优惠，{product}等好物都在其中。\n\n详情：{link}\n\n祝您节日快乐！"
            ),
        ),
        Texts(
            "Holiday sale",
            "Hi {name}, the {shop} holiday sale is on: {product} and more at special prices for a short time. "
            "{link} Reply T to opt out",
            "The {shop} holiday sale is on",
            _en_mail(
                "The holidays are here and {shop} has a limited-time offer for regulars, {product} "
                "included.\n\nDetails: {link}\n\nHappy holidays!"
            ),
        ),
    ),
    Scenario(
        "campaign_member_day",
        "marketing",
        Texts(
            "会员日",
            "亲爱的{level}，{shop}会员日到啦，今天下单享专属优惠，别错过哦～回T退订",
            "{shop}会员日：{level}专属优惠",
            _zh_mail("今天是{shop}会员日，作为{level}，您今天下单可以享受专属优惠。感谢一直以来的支持！"),
        ),
        Texts(
            "Member day",
            "Hi {name}, it's member day at {shop}: as a {level} member you get an exclusive offer today only. "
            "Reply T to opt out",
            "Member day at {shop}: an offer for {level} members",
            _en_mail(
                "Today is member day at {shop}. As a {level} member, your orders today come with an exclusive offer. "
                "Thank you for being with us!"
            ),
        ),
    ),
    Scenario(
        "campaign_winback_coupon",
        "marketing",
        Texts(
            "回归优惠券",
            "亲，好久不见～{shop}给您准备了一张{coupon}，回来看看新品吧，期待再次为您服务！回T退订",
            "{shop}送您一张{coupon}",
            _zh_mail("好久没见到您了！{shop}给您准备了一张{coupon}，这段时间上了不少新品，欢迎回来看看。"),
        ),
        Texts(
            "Come back coupon",
            "Hi {name}, we've missed you! {shop} has a {coupon} waiting for you. Come and see what's new. Reply "
            "T to opt out",
            "A {coupon} from {shop}, just for you",
            _en_mail(
                "We haven't seen you in a while! {shop} has set aside a {coupon} for you, and there is plenty that's "
                "new. Welcome back."
            ),
        ),
    ),
)


def library_rows() -> Iterator[dict[str, Any]]:
    for s in SCENARIOS:
        yield from scenario_rows(s.key, s.purpose, s.zh, s.en)
