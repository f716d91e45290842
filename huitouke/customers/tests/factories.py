"""Minimal valid archive objects; tests pass every value they assert on."""

from __future__ import annotations

import factory

from huitouke.customers.models import Customer, CustomerIdentity, Note, Tag


class CustomerFactory(factory.django.DjangoModelFactory[Customer]):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"buyer{n}")


class IdentityFactory(factory.django.DjangoModelFactory[CustomerIdentity]):
    class Meta:
        model = CustomerIdentity

    customer = factory.SubFactory(CustomerFactory)
    platform = "taobao"
    handle = factory.Sequence(lambda n: f"tb_buyer_{n}")


class TagFactory(factory.django.DjangoModelFactory[Tag]):
    class Meta:
        model = Tag
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"tag{n}")


class NoteFactory(factory.django.DjangoModelFactory[Note]):
    class Meta:
        model = Note

    customer = factory.SubFactory(CustomerFactory)
    body = "note"
