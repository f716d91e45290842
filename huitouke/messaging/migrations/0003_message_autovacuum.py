"""PostgreSQL: vacuum the message table sooner than the default (20 % dead rows). Every message is rewritten twice
(claimed, then sent); dead index entries of the due index slow the claims until vacuum removes them."""

from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "ALTER TABLE messaging_message SET (autovacuum_vacuum_scale_factor = 0.05,"
        " autovacuum_vacuum_threshold = 5000, autovacuum_analyze_scale_factor = 0.05)"
    )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "ALTER TABLE messaging_message RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold,"
        " autovacuum_analyze_scale_factor)"
    )


class Migration(migrations.Migration):
    dependencies = [("messaging", "0002_leaner_indexes")]

    operations = [migrations.RunPython(forwards, backwards)]
