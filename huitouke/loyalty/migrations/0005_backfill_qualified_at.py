"""Data: the grace clock so far was the membership's updated_at; start qualified_at from it (one set-based UPDATE)."""

from django.db import migrations
from django.db.models import F


def forwards(apps, schema_editor):
    Membership = apps.get_model("loyalty", "Membership")
    Membership.objects.filter(qualified_at__isnull=True).update(qualified_at=F("updated_at"))


class Migration(migrations.Migration):

    dependencies = [
        ('loyalty', '0004_membership_qualified_at'),
    ]

    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
