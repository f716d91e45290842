"""`{{ ticket|self_service_link }}`: the customer's signed status-page link for a ticket ("" when the shop's
self-service page is off), for agents to paste into a reply."""

from __future__ import annotations

from django import template

from huitouke.service import portal
from huitouke.service.models import Ticket

register = template.Library()


@register.filter
def self_service_link(ticket: Ticket) -> str:
    if not isinstance(ticket, Ticket) or not portal.portal_enabled(ticket.shop):
        return ""
    return portal.portal_ticket_link(ticket=ticket)
