"""Start-up wiring of the canned-reply library: the shipped replies are loaded after every migrate, and
`{self_service_link}` comes from the self-service help page (a signed link to the ticket's status page or the
order's page; empty when the shop has switched its page off, so the reply asks the agent instead)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models.signals import post_migrate
from django.urls import reverse
from django.utils.translation import gettext as _


def _starter_after_migrate(**kwargs: Any) -> None:
    from huitouke.service.replies.services import replies_starter_load

    replies_starter_load()


def portal_self_service_link(*, ticket: Any = None, customer: Any = None, order: Any = None, shop: Any = None) -> str:
    """The signed status-page link of the ticket, else the signed page of the order, else the public help page;
    "" when the shop's self-service page is off."""
    from huitouke.service import portal

    if shop is not None and not portal.portal_enabled(shop):
        return ""
    if ticket is not None:
        return portal.portal_ticket_link(ticket=ticket)
    if order is not None:
        return portal.portal_link(order=order)
    return str(settings.HUITOUKE_PUBLIC_URL) + reverse("help:index")


def register() -> None:
    from django.apps import apps

    from huitouke.messaging.registry import register_task_link
    from huitouke.service.replies.links import self_service_link_register

    post_migrate.connect(
        _starter_after_migrate, sender=apps.get_app_config("service"), dispatch_uid="service-canned-replies"
    )
    self_service_link_register(portal_self_service_link)
    register_task_link("canned_replies", canned_reply_task_link)


def canned_reply_task_link(message: Any, user: Any) -> tuple[str, str] | None:
    """Beside a manual task in messaging's queue: answer that customer with a canned reply (the compose page
    fills the reply from their latest order, shows it to copy and queues it as a task)."""
    from huitouke.service.replies.services import AGENT_PERM

    if not message.customer_id or not user.has_perm(AGENT_PERM):
        return None
    return str(_("Canned reply")), reverse("service:reply-compose") + f"?customer={message.customer_id}"
