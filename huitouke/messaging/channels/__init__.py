"""Channel adapters behind one interface (channels/base.py): which providers serve which channel."""

from __future__ import annotations

from huitouke.messaging.channels.base import Adapter, ChannelConfigError, Outcome, Outgoing, Result
from huitouke.messaging.channels.email import EmailAdapter
from huitouke.messaging.channels.manual import ManualAdapter
from huitouke.messaging.channels.sms import AliyunSmsAdapter, TencentSmsAdapter
from huitouke.messaging.channels.webhook import DingtalkAdapter, FeishuAdapter, WebhookAdapter, WecomAdapter

ADAPTERS: dict[str, type[Adapter]] = {
    a.provider: a
    for a in (
        EmailAdapter,
        AliyunSmsAdapter,
        TencentSmsAdapter,
        WebhookAdapter,
        WecomAdapter,
        DingtalkAdapter,
        FeishuAdapter,
        ManualAdapter,
    )
}

#: channel -> the providers that can serve it (the first is the default choice on the settings page)
CHANNEL_PROVIDERS: dict[str, tuple[str, ...]] = {
    "sms": ("aliyun", "tencent"),
    "email": ("smtp",),
    "webhook": ("webhook", "wecom", "dingtalk", "feishu"),
    "manual": ("manual",),
}

__all__ = ["ADAPTERS", "CHANNEL_PROVIDERS", "Adapter", "ChannelConfigError", "Outcome", "Outgoing", "Result"]
