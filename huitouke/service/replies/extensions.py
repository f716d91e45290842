"""Start-up wiring of the canned-reply library: the shipped replies are loaded after every migrate."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_migrate


def _starter_after_migrate(**kwargs: Any) -> None:
    from huitouke.service.replies.services import replies_starter_load

    replies_starter_load()


def register() -> None:
    from django.apps import apps

    post_migrate.connect(
        _starter_after_migrate, sender=apps.get_app_config("service"), dispatch_uid="service-canned-replies"
    )
