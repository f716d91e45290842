"""The starter library: one reply per scenario of the seeds' FAQ (客服常见问题集) and per ticket type, in Simplified
Chinese and English, written for Huitouke. Chinese replies open with 亲, say 您, stay short and promise nothing
they cannot keep (none of the banned words). Loaded after every migrate; a shop copies one to change it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Starter:
    key: str
    category: str
    ticket_type: str
    zh_title: str
    zh: str
    en_title: str
    en: str


STARTERS: tuple[Starter, ...] = (
    Starter(
        "review_sorry",
        "review",
        "negative_review",
        "中差评：先道歉再商量",
        "亲，{name}您好，这次的东西没让您满意，还影响了您的心情，真是对不起。订单{order_no}的问题您具体说说，"
        "咱们一起看看怎么处理您觉得最合适？",
        "Review: apologise, then ask",
        "Hi {name}, we are sorry order {order_no} did not please you and spoiled your day. Could you tell us what "
        "went wrong? We would like to find the fix that suits you best.",
    ),
    Starter(
        "colour_light",
        "colour",
        "not_as_described",
        "图片色差：说明原因",
        "亲，谢谢您告诉我们。照片是在灯光下拍的，加上屏幕显示不同，颜色难免有些出入，给您添麻烦了，"
        "我们会尽快把图片调得更接近实物。",
        "Colour: explain the difference",
        "Thank you for telling us, {name}. Our photos are taken under studio lights and every screen shows colour "
        "a little differently, so the real item can look different. Sorry for the surprise; we will adjust the "
        "photos.",
    ),
    Starter(
        "colour_swap",
        "colour",
        "exchange",
        "图片色差：问款式还是颜色",
        "亲，想跟您确认一下：是颜色和图片不一样，还是款式不如图片好看？如果是款式，店里还有别的款您可以看看，"
        "喜欢哪款我给您换。",
        "Colour: style or shade?",
        "May we ask, {name}: is it the colour or the style that is not like the photo? If it is the style, have a "
        "look at our other designs; we can swap it for one you like.",
    ),
    Starter(
        "bargain_value",
        "bargain",
        "",
        "讨价还价：讲性价比",
        "亲，我们的价格在同类里已经很实在了。价钱再往下压，用料和售后都要打折扣，您挑的是性价比高的那一款，"
        "用着放心最重要，您说是吧？",
        "Bargaining: value, not just price",
        "We understand, {name}. Our price is already among the lowest for this quality; cutting it further would "
        "mean cheaper materials or weaker after-sales care. You picked the best value, and that matters most.",
    ),
    Starter(
        "bargain_other",
        "bargain",
        "",
        "讨价还价：推荐其他款",
        "亲，真的很想满足您，可这个价已经是我们能给的最大诚意了。要不我给您推荐几款价位低一点的，您看看合不合适？",
        "Bargaining: suggest other items",
        "We would love to say yes, {name}, but this is truly our best price. Shall we suggest a few similar items "
        "at a lower price for you to compare?",
    ),
    Starter(
        "shipping_event",
        "shipping",
        "",
        "包邮：引导参加店铺活动",
        "亲，单件暂时不能包邮，不过您再凑一点就能参加店里的满额包邮活动，算下来更划算，要不要我帮您看看凑哪件合适？",
        "Free shipping: point to the offer",
        "Free shipping is not available for a single item, {name}, but a little more in your basket reaches our "
        "free-shipping offer. Shall we help you find something that fits?",
    ),
    Starter(
        "shipping_rule",
        "shipping",
        "",
        "包邮：说明规则一致",
        "亲，包邮的规则对每位顾客都是一样的，单独给您破例对其他顾客不公平，还请您理解。我这边尽量在其他方面给您多照顾一些。",
        "Free shipping: the same rule for everyone",
        "Our shipping rule is the same for every customer, {name}, so we cannot make an exception; we hope you "
        "understand. We will gladly look after you in other ways.",
    ),
    Starter(
        "payment_safe",
        "payment",
        "inquiry",
        "支付顾虑：第三方担保",
        "亲，请放心，您付的款先由平台代为保管，不会直接到我们账上。等您收到宝贝、检查没问题再确认收货，钱才会转给我们；"
        "有问题可以直接在平台申请退款。",
        "Paying: the platform holds the money",
        "No need to worry, {name}: the platform holds your payment, not us. We are paid only after you receive "
        "the item, check it and confirm; if anything is wrong you can ask the platform for a refund.",
    ),
    Starter(
        "new_arrivals",
        "new_arrivals",
        "",
        "没有合适的宝贝：上新通知",
        "亲，这次没帮您挑到合适的，真不好意思。有新品上架我们第一时间告诉您，也欢迎常来店里逛逛，期待下次为您服务～",
        "Nothing suitable: we'll tell you about new arrivals",
        "Sorry we could not find the right item for you this time, {name}. We will let you know as soon as new "
        "items arrive at {shop}; we hope to help you next time.",
    ),
    Starter(
        "tracking",
        "tracking",
        "logistics",
        "物流查询",
        "亲，您的订单{order_no}已由{carrier}发出，运单号{tracking_no}，可以在快递官网或App查看进度。有延误我们会帮您跟进。",
        "Where is my parcel",
        "Hi {name}, order {order_no} left with {carrier}, tracking number {tracking_no}. You can follow it on the "
        "carrier's site or app; if it is held up, we will chase it for you.",
    ),
    Starter(
        "tracking_delay",
        "tracking",
        "logistics",
        "物流延误安抚",
        "亲，{carrier}那边的运输有些耽搁（运单号{tracking_no}），让您久等了。我们已经联系快递加急处理，有新消息马上告诉您。",
        "Parcel delayed",
        "Sorry for the wait, {name}. Your parcel with {carrier} ({tracking_no}) is delayed; we have asked the "
        "carrier to hurry and will tell you as soon as we hear more.",
    ),
    Starter(
        "arrival_check",
        "arrival",
        "",
        "到货回访",
        "亲，订单{order_no}的{items}应该已经到了，包装和宝贝都完好吗？用着有任何不合适，随时告诉我们。",
        "Did it arrive well?",
        "Hi {name}, your {items} from order {order_no} should have arrived. Is everything in good shape? If "
        "anything is not right, just tell us.",
    ),
    Starter(
        "return_how",
        "return",
        "return",
        "退货流程",
        "亲，订单{order_no}可以退货。请在订单页申请退货，把宝贝和配件一起包好寄回，填上运单号，我们收到后尽快为您处理。"
        "也可以在这里提交：{self_service_link}",
        "How to return",
        "Hi {name}, order {order_no} can be returned. Request the return on the order page, pack the item with "
        "all its parts, send it back and enter the tracking number; we handle it as soon as it arrives. You can "
        "also start it here: {self_service_link}",
    ),
    Starter(
        "exchange_how",
        "return",
        "exchange",
        "换货流程",
        "亲，想换尺码或颜色没问题。请告诉我们想换成哪一款，把{items}寄回来，我们收到后马上给您发新的。",
        "How to exchange",
        "Happy to swap it, {name}. Tell us the size or colour you would like, send the {items} back, and we will "
        "ship the new one as soon as it reaches us.",
    ),
    Starter(
        "refund_done",
        "refund",
        "refund",
        "退款已处理",
        "亲，订单{order_no}的退款{refund_amount}已经办好，一般1到3个工作日原路退回，请留意查收。工单号{ticket_no}，有问题随时找我们。",
        "Refund on its way",
        "Hi {name}, the refund of {refund_amount} for order {order_no} has been issued and usually reaches your "
        "account within 1-3 working days. Your case number is {ticket_no}.",
    ),
    Starter(
        "repair",
        "quality",
        "repair",
        "保修维修",
        "亲，宝贝出了故障，给您添麻烦了。请把{items}寄回给我们检修，运费由我们承担，修好后会尽快寄还给您。工单号{ticket_no}。",
        "Warranty repair",
        "Sorry your {items} stopped working, {name}. Please send it back for repair at our cost; we will return "
        "it as soon as it is fixed. Case number {ticket_no}.",
    ),
    Starter(
        "quality",
        "quality",
        "quality",
        "质量问题：请拍照",
        "亲，真抱歉宝贝有质量问题。麻烦您拍几张照片发给我们，我们核实后给您退换或补发，尽量不让您多跑一趟。",
        "Quality problem: ask for photos",
        "We are sorry about the fault, {name}. Could you send us a few photos? Once we have seen them we will "
        "replace, refund or resend, with as little trouble for you as we can.",
    ),
    Starter(
        "wrong_item",
        "quality",
        "wrong_item",
        "发错货",
        "亲，是我们发错了，非常抱歉！正确的宝贝我们马上给您补发，错发的那件麻烦您寄回，运费我们来出。",
        "Wrong item sent",
        "That was our mistake, {name}, and we are sorry. We are sending the right item now; please return the "
        "wrong one at our cost.",
    ),
    Starter(
        "complaint",
        "complaint",
        "complaint",
        "投诉受理",
        "亲，您的意见我们已经记下，工单号{ticket_no}，由{agent}负责跟进。我们会尽快查明原因，每一步进展都会告诉您。",
        "Complaint received",
        "Thank you for telling us, {name}. Your complaint is case {ticket_no} and {agent} is looking after it; we "
        "will find out what happened and keep you posted at every step.",
    ),
    Starter(
        "dispute",
        "complaint",
        "dispute",
        "平台纠纷：先沟通",
        "亲，看到您在平台提交了申请，给您带来不便很抱歉。我是{agent}，想先听听您的想法，咱们商量一个您满意的解决办法。",
        "Platform dispute: talk first",
        "Hi {name}, we saw your request on the platform and are sorry for the trouble. I'm {agent}; could we hear "
        "your side first and agree on a solution you are happy with?",
    ),
    Starter(
        "apology_compensation",
        "apology",
        "",
        "道歉并补偿",
        "亲，这次的事情确实是我们没做好，再次向您道歉。为表歉意，我们为您办理了{refund_amount}的补偿，希望能弥补一点您的不便。",
        "Apology with compensation",
        "We are truly sorry, {name}; we let you down this time. As an apology we have arranged {refund_amount} "
        "for you, and we hope it makes up a little for the trouble.",
    ),
    Starter(
        "inquiry",
        "general",
        "inquiry",
        "咨询答复",
        "亲，您好，我是{shop}的客服{agent}，很高兴为您服务。您的问题我们已经收到，有什么需要随时说。",
        "Answering a question",
        "Hello {name}, this is {agent} from {shop}. We have your question and are happy to help; ask us anything.",
    ),
)
