"""The care templates shipped with Huitouke: one text per trigger, in Simplified Chinese (friendly, 亲-style) and
English, for SMS, email and the agents' chat tasks (千牛/旺旺). Written for Huitouke.

They are system templates of the messaging app (key `care_<trigger>`), loaded after every migrate; a shop copies
one to change its wording. Each uses only the variables its trigger fills in (see `TRIGGER_VARIABLES`) plus the
ones every message has ({name}, {shop}, {level}).
"""

from __future__ import annotations

from typing import Any

from huitouke.care.triggers import TRIGGERS
from huitouke.messaging.library import Texts, scenario_rows

#: the variables each trigger's selector puts in a message's context
TRIGGER_VARIABLES: dict[str, tuple[str, ...]] = {
    "paid_today": ("order_no", "amount", "product"),
    "unpaid_reminder": ("order_no", "amount", "product"),
    "shipped": ("order_no", "product", "carrier", "tracking_no"),
    "delivered_followup": ("order_no", "product"),
    "unconfirmed_receipt": ("order_no", "product"),
    "birthday": ("date",),
    "no_contact": (),
    "dormant": ("date",),
    "level_up": ("level",),
    "holiday": ("date",),
    "replenishment": ("product", "date"),
    "new_product": ("product",),
}


def _zh(text: str) -> str:
    return f"{{name}}，您好：\n\n{text}\n\n—— {{shop}}"


def _en(text: str) -> str:
    return f"Dear {{name}},\n\n{text}\n\nWarm regards,\n{{shop}}"


TEXTS: dict[str, tuple[Texts, Texts]] = {
    "paid_today": (
        Texts(
            "关怀·付款成功",
            "亲，订单{order_no}的{amount}元我们收到啦～宝贝马上安排打包，有需要随时喊我们哦",
            "{shop}：订单{order_no}付款成功",
            _zh(
                "您为订单{order_no}支付的{amount}元已经到账，{product}正在排队打包，发出后会马上告诉您。\n"
                "如果想改地址或有别的要求，直接回复就能找到我们。"
            ),
        ),
        Texts(
            "Care · payment received",
            "Hi {name}, we've received {amount} for order {order_no} — your {product} is being packed now!",
            "{shop}: payment for order {order_no} received",
            _en(
                "Your payment of {amount} for order {order_no} has arrived and your {product} is in the packing "
                "queue. We'll let you know the moment it leaves us.\nNeed to change the address? Just reply."
            ),
        ),
    ),
    "unpaid_reminder": (
        Texts(
            "关怀·待付款提醒",
            "亲，您看中的{product}还在购物单里等您付款哦，库存有限，遇到问题随时问我们～",
            "订单{order_no}还差一步：付款",
            _zh(
                "您在{shop}拍下的{product}（订单{order_no}，{amount}元）还没有完成付款。"
                "宝贝我们先为您留着，付款遇到任何问题，回复这封邮件就好。"
            ),
        ),
        Texts(
            "Care · unpaid order",
            "Hi {name}, your {product} (order {order_no}) is still waiting for payment. Any trouble? Ask us.",
            "Order {order_no} needs one more step",
            _en(
                "Your {product} at {shop} (order {order_no}, {amount}) hasn't been paid yet. We're holding it for "
                "you for now — if anything went wrong at checkout, just reply and we'll help."
            ),
        ),
    ),
    "shipped": (
        Texts(
            "关怀·已发货",
            "亲，您的{product}已经坐上{carrier}出发啦，单号{tracking_no}，到了记得查收哦～",
            "订单{order_no}已经发出",
            _zh(
                "好消息，订单{order_no}已经发货！\n承运快递：{carrier}\n运单号：{tracking_no}\n\n"
                "签收时请先看看外包装是否完好，有问题第一时间告诉我们。"
            ),
        ),
        Texts(
            "Care · shipped",
            "Hi {name}, your {product} is on its way with {carrier}, tracking {tracking_no}.",
            "Order {order_no} is on its way",
            _en(
                "Good news: order {order_no} has shipped.\nCarrier: {carrier}\nTracking number: {tracking_no}\n\n"
                "When it arrives, please check the packaging first and tell us straight away if anything is wrong."
            ),
        ),
    ),
    "delivered_followup": (
        Texts(
            "关怀·收货回访",
            "亲，{product}用得还满意吗？有任何不顺心先找我们，满意的话给个好评就是最大的鼓励啦～",
            "{product}用得还好吗？",
            _zh(
                "订单{order_no}的{product}到您手上几天了，想问问用得怎么样？\n"
                "如有不满意，请先联系我们，一定帮您处理妥当；如果还喜欢，期待您留下真实的评价。"
            ),
        ),
        Texts(
            "Care · after delivery",
            "Hi {name}, how are you finding your {product}? Tell us first if anything's off — or leave a review!",
            "How is your {product}?",
            _en(
                "Your {product} from order {order_no} arrived a few days ago — how is it going?\n"
                "If something isn't right, please tell us first and we'll sort it out. If you're happy, an honest "
                "review would mean a lot."
            ),
        ),
    ),
    "unconfirmed_receipt": (
        Texts(
            "关怀·确认收货提醒",
            "亲，订单{order_no}的宝贝应该收到一阵子啦，没问题的话记得点确认收货哦；有问题随时找我们～",
            "别忘了确认收货",
            _zh(
                "按物流时间算，订单{order_no}的{product}应该已经送到了。\n"
                "如果一切都好，麻烦抽空确认收货；如果还没收到或者有任何问题，请回复告诉我们，我们马上跟进。"
            ),
        ),
        Texts(
            "Care · confirm receipt",
            "Hi {name}, order {order_no} should be with you by now. All good? Please confirm receipt.",
            "Please confirm you received order {order_no}",
            _en(
                "By our reckoning your {product} (order {order_no}) should have arrived a while ago.\n"
                "If all is well, please confirm receipt. If it hasn't arrived or something is wrong, reply and "
                "we'll chase it at once."
            ),
        ),
    ),
    "birthday": (
        Texts(
            "关怀·生日祝福",
            "亲爱的{name}，生日快乐！愿新的一岁开心常在、好运连连，{shop}一直在这里陪着您～",
            "{name}，生日快乐！",
            _zh("{date}是属于您的日子！{shop}的每一位小伙伴都祝您生日快乐、平安喜乐，谢谢您一路的陪伴。"),
        ),
        Texts(
            "Care · birthday",
            "Happy birthday, {name}! Wishing you a year full of good things — from all of us at {shop}.",
            "Happy birthday, {name}!",
            _en(
                "{date} is your day! Everyone at {shop} wishes you a very happy birthday. Thank you for being with us."
            ),
        ),
    ),
    "no_contact": (
        Texts(
            "关怀·好久没联系",
            "亲，好一阵子没和您聊啦，最近还好吗？之前的宝贝用着有什么问题都可以找我们哦～",
            "好久不见，一切都好吗？",
            _zh("有段时间没和您联系了，想问候一声。之前买的宝贝用着还顺手吗？有任何疑问，随时回复我们。"),
        ),
        Texts(
            "Care · keeping in touch",
            "Hi {name}, it's been a while! How are things? If anything you bought from us needs help, just ask.",
            "Just checking in",
            _en(
                "We haven't been in touch for a while and wanted to say hello. Is everything you bought from us "
                "still working well? Any questions at all, just reply."
            ),
        ),
    ),
    "dormant": (
        Texts(
            "关怀·老朋友回来看看",
            "亲，自{date}一别好久不见啦，{shop}上了不少新宝贝，有空回来逛逛吧～",
            "{shop}想您了",
            _zh("您上次光临是在{date}，这段时间{shop}添了不少新宝贝，也一直惦记着您这位老朋友，有空回来看看吧。"),
        ),
        Texts(
            "Care · we miss you",
            "Hi {name}, we haven't seen you since {date}! {shop} has lots of new things — come and have a look.",
            "We've missed you, {name}",
            _en(
                "Your last visit was on {date}. Since then {shop} has added plenty of new things, and we'd love "
                "to see you again."
            ),
        ),
    ),
    "level_up": (
        Texts(
            "关怀·会员升级",
            "恭喜亲升级为{level}！专属优惠和服务已经为您准备好，感谢一路支持～",
            "恭喜您升级为{level}",
            _zh("恭喜您成为{shop}的{level}！新等级的折扣和专属服务即刻生效，感谢您的信任与支持。"),
        ),
        Texts(
            "Care · level up",
            "Congratulations {name} — you're now {level}! Your new member perks are ready.",
            "You're now {level}",
            _en("Congratulations on reaching {level} at {shop}! Your new discount and member perks apply from today."),
        ),
    ),
    "holiday": (
        Texts(
            "关怀·节日问候",
            "亲，节日快乐！{shop}祝您和家人平安喜乐、万事顺心～",
            "{shop}祝您节日快乐",
            _zh("{date}佳节将至，{shop}祝您和家人节日快乐、幸福安康。感谢您一直以来的支持！"),
        ),
        Texts(
            "Care · holiday greetings",
            "Happy holidays, {name}! Warm wishes to you and your family from {shop}.",
            "Season's greetings from {shop}",
            _en("As {date} comes round, all of us at {shop} send warm wishes to you and your family. Thank you!"),
        ),
    ),
    "replenishment": (
        Texts(
            "关怀·补货提醒",
            "亲，{date}入手的{product}是不是快用完啦？需要补货的话{shop}随时为您备着～",
            "{product}快用完了吗？",
            _zh("您在{date}买的{product}，按平常的用量差不多快用完了。需要补货时，{shop}随时为您准备。"),
        ),
        Texts(
            "Care · time to restock",
            "Hi {name}, the {product} you got on {date} may be running low. Need more? {shop} has it ready.",
            "Running low on {product}?",
            _en(
                "The {product} you bought on {date} is probably running low by now. Whenever you need more, {shop} "
                "has it ready for you."
            ),
        ),
    ),
    "new_product": (
        Texts(
            "关怀·新品通知",
            "亲，{shop}上新啦：{product}！您是老朋友，第一个告诉您～",
            "{shop}新品：{product}",
            _zh("{shop}刚刚上新：{product}。您说过想第一时间知道新品消息，所以先告诉您啦。"),
        ),
        Texts(
            "Care · new arrival",
            "Hi {name}, new at {shop}: {product}! You asked to hear first, so here it is.",
            "New at {shop}: {product}",
            _en("Just in at {shop}: {product}. You asked to hear about new products first — so here it is."),
        ),
    ),
}


def template_key(trigger: str) -> str:
    return f"care_{trigger}"


def library_rows() -> list[dict[str, Any]]:
    """Every care template as field values: 12 triggers × 2 languages × 3 channels."""
    return [
        row
        for trigger, (zh, en) in TEXTS.items()
        for row in scenario_rows(template_key(trigger), TRIGGERS[trigger].purpose, zh, en)
    ]
