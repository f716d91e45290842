"""The "all" ticket view filtered by one status reads (and counts) the range of this index instead of every ticket
until enough have that status (benchmarks/pages.py, service:queue ?queue=all&status=open)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("service", "0012_ticket_list_order_index")]

    operations = [
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(fields=["status", "-created_at", "-id"], name="ticket_status_created_idx"),
        ),
    ]
