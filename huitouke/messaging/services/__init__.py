"""Writes of the messaging engine: enqueueing (one or many thousands), templates, channel settings, the contact
policy, unsubscribing, manual tasks and resending. The dispatcher (sending) is the dispatch package.

Every message anywhere in the product goes through `message_enqueue_many` (or `message_enqueue`, the same path
for one): it writes Message rows in the caller's transaction, ignores keys that exist already, and wakes the
dispatcher once the transaction commits. Nothing here talks to a provider.
"""

from huitouke.messaging.services.channel_settings import ChannelSettingsError, channel_config_save, contact_policy_save
from huitouke.messaging.services.enqueue import (
    _ENQUEUE_LISTENERS,
    MessageInvalidError,
    OutgoingMessage,
    SourceRef,
    enqueue_listener_register,
    message_enqueue,
    message_enqueue_many,
)
from huitouke.messaging.services.tasks import (
    manual_task_mark_sent,
    manual_task_skip,
    messages_merge,
    messages_resend,
)
from huitouke.messaging.services.templates import TemplateInvalidError, template_copy, template_save
from huitouke.messaging.services.unsubscribe import (
    CONSENT_CHANNEL,
    OPT_OUT_PURPOSES,
    OPT_OUT_REPLIES,
    customer_opt_out,
    is_opt_out_reply,
    sms_reply_receive,
    unsubscribe_by_token,
    unsubscribe_message,
    unsubscribe_token,
)
from huitouke.messaging.services.writing import ENQUEUE_COLUMNS

__all__ = [
    "CONSENT_CHANNEL",
    "ENQUEUE_COLUMNS",
    "OPT_OUT_PURPOSES",
    "OPT_OUT_REPLIES",
    "_ENQUEUE_LISTENERS",
    "ChannelSettingsError",
    "MessageInvalidError",
    "OutgoingMessage",
    "SourceRef",
    "TemplateInvalidError",
    "channel_config_save",
    "contact_policy_save",
    "customer_opt_out",
    "enqueue_listener_register",
    "is_opt_out_reply",
    "manual_task_mark_sent",
    "manual_task_skip",
    "message_enqueue",
    "message_enqueue_many",
    "messages_merge",
    "messages_resend",
    "sms_reply_receive",
    "template_copy",
    "template_save",
    "unsubscribe_by_token",
    "unsubscribe_message",
    "unsubscribe_token",
]
