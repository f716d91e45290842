"""Every write of the service desk (`<entity>_<verb>`, keyword-only, each owning its transaction), split by
subject: tickets (create, take, transfer, assign, change, status, steps), conversation (replies, notes, the
customer's messages), compensation, configuration (calendar, SLA policies, playbooks, settings), the SLA tick
and attachments. Import them from here."""

from huitouke.service.services.attachments import AttachmentError, attachment_add
from huitouke.service.services.common import ConflictError, notifications_mark_read
from huitouke.service.services.compensation import compensation_add, compensation_approve
from huitouke.service.services.config import (
    PolicySpec,
    StepSpec,
    calendar_set,
    playbook_delete,
    playbook_save,
    playbooks_defaults_load,
    service_settings_set,
    sla_policies_defaults_load,
    sla_policy_create,
    sla_policy_delete,
    sla_policy_update,
)
from huitouke.service.services.conversation import ticket_customer_message, ticket_reply, ticket_sms_reply_receive
from huitouke.service.services.tick import SlaTickResult, sla_tick
from huitouke.service.services.tickets import (
    TRANSITIONS,
    ticket_create,
    ticket_status_set,
    ticket_step_tick,
    ticket_take,
    ticket_transfer,
    ticket_update,
    tickets_assign,
)

__all__ = [
    "TRANSITIONS",
    "AttachmentError",
    "ConflictError",
    "PolicySpec",
    "SlaTickResult",
    "StepSpec",
    "attachment_add",
    "calendar_set",
    "compensation_add",
    "compensation_approve",
    "notifications_mark_read",
    "playbook_delete",
    "playbook_save",
    "playbooks_defaults_load",
    "service_settings_set",
    "sla_policies_defaults_load",
    "sla_policy_create",
    "sla_policy_delete",
    "sla_policy_update",
    "sla_tick",
    "ticket_create",
    "ticket_customer_message",
    "ticket_reply",
    "ticket_sms_reply_receive",
    "ticket_status_set",
    "ticket_step_tick",
    "ticket_take",
    "ticket_transfer",
    "ticket_update",
    "tickets_assign",
]
