"""The shipped SLA policies (every shop): urgent tickets, then a catch-all. Shops edit or delete them freely."""

from django.db import migrations

POLICIES = [
    # name, position, priorities, first response, next response, resolution (business minutes)
    ("Urgent", 10, ["urgent"], 15, 30, 450),
    ("Standard", 1000, [], 60, 120, 1350),
]


def seed(apps, schema_editor):
    SlaPolicy = apps.get_model("service", "SlaPolicy")
    if SlaPolicy.objects.exists():
        return
    for name, position, priorities, first, nxt, resolution in POLICIES:
        SlaPolicy.objects.create(
            name=name,
            position=position,
            priorities=priorities,
            first_response_minutes=first,
            next_response_minutes=nxt,
            resolution_minutes=resolution,
        )


class Migration(migrations.Migration):
    dependencies = [("service", "0001_tickets_sla_playbooks")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
