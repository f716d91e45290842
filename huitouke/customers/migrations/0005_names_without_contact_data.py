"""Display names that are contact data (a Shopify/WooCommerce email or a phone that became the name when the
customer was created from their handle) become the real name, or the masked value: names are shown to every
role unmasked. The same rule as core.pii.name_from_handle, which new customers go through."""

from typing import Any

from django.db import migrations
from django.db.models import Q

from huitouke.core.pii import PHONE_RUN, is_contact_like, name_from_handle

BATCH = 2000


def names_mask(apps: Any, schema_editor: Any) -> None:
    Customer = apps.get_model("customers", "Customer")
    suspects = Customer.objects.filter(Q(name__contains="@") | Q(name__regex=f"[0-9]{{{PHONE_RUN}}}")).order_by("id")
    changed = []
    for customer in suspects.only("id", "name", "real_name").iterator(chunk_size=BATCH):
        if not is_contact_like(customer.name):
            continue
        customer.name = name_from_handle(customer.name, customer.real_name)[:128]
        changed.append(customer)
        if len(changed) >= BATCH:
            Customer.objects.bulk_update(changed, ["name"])
            changed = []
    if changed:
        Customer.objects.bulk_update(changed, ["name"])


class Migration(migrations.Migration):
    dependencies = [("customers", "0004_phone_last4_index")]

    operations = [migrations.RunPython(names_mask, migrations.RunPython.noop)]
