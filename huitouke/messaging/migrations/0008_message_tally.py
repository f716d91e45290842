"""MessageTally: the messages of each source counted by (purpose, status, reason), kept by triggers on
messaging_message rather than recounted by every page (issue 22).

Triggers rather than Python hooks: messages are written by the ORM, by set-based UPDATEs of the dispatcher
(UPDATE … FROM unnest), by INSERT … SELECT / INSERT … ON CONFLICT of the enqueue, by benchmarks' INSERT … SELECT
and by whatever raw SQL comes next; a trigger sees every one of them in the same transaction, so the counts cannot
drift from the rows. PostgreSQL: one statement-level trigger per event (transition tables) appends one delta row
per key the statement changed — never an UPDATE of a shared counter row, so parallel dispatch workers neither wait
on each other nor deadlock — and the minute tick folds the deltas (messaging.services.tallies). SQLite has row
triggers only and one writer at a time: they add to the folded row at once (UPSERT). The counts of the messages
already there are filled in the same transaction, the table locked against writers meanwhile.
"""

import django.db.models.deletion
from django.db import migrations, models

PG_FORWARD = """
LOCK TABLE messaging_message IN SHARE ROW EXCLUSIVE MODE;

CREATE FUNCTION messaging_tally_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO messaging_messagetally (source_type_id, source_id, purpose, status, reason, n, folded)
    SELECT source_type_id, source_id, purpose, status, reason, COUNT(*), false FROM tally_new WHERE source_id IS NOT NULL
    GROUP BY source_type_id, source_id, purpose, status, reason;
    RETURN NULL;
END $$;

CREATE FUNCTION messaging_tally_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO messaging_messagetally (source_type_id, source_id, purpose, status, reason, n, folded)
    SELECT source_type_id, source_id, purpose, status, reason, SUM(d), false FROM (
        SELECT source_type_id, source_id, purpose, status, reason, -1 AS d FROM tally_old WHERE source_id IS NOT NULL
        UNION ALL
        SELECT source_type_id, source_id, purpose, status, reason, 1 AS d FROM tally_new WHERE source_id IS NOT NULL
    ) AS changed
    GROUP BY source_type_id, source_id, purpose, status, reason HAVING SUM(d) <> 0;
    RETURN NULL;
END $$;

CREATE FUNCTION messaging_tally_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO messaging_messagetally (source_type_id, source_id, purpose, status, reason, n, folded)
    SELECT source_type_id, source_id, purpose, status, reason, -COUNT(*), false FROM tally_old WHERE source_id IS NOT NULL
    GROUP BY source_type_id, source_id, purpose, status, reason;
    RETURN NULL;
END $$;

CREATE FUNCTION messaging_tally_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM messaging_messagetally;
    RETURN NULL;
END $$;

CREATE TRIGGER messaging_tally_insert AFTER INSERT ON messaging_message
    REFERENCING NEW TABLE AS tally_new FOR EACH STATEMENT EXECUTE FUNCTION messaging_tally_insert();
CREATE TRIGGER messaging_tally_update AFTER UPDATE ON messaging_message
    REFERENCING OLD TABLE AS tally_old NEW TABLE AS tally_new FOR EACH STATEMENT
    EXECUTE FUNCTION messaging_tally_update();
CREATE TRIGGER messaging_tally_delete AFTER DELETE ON messaging_message
    REFERENCING OLD TABLE AS tally_old FOR EACH STATEMENT EXECUTE FUNCTION messaging_tally_delete();
CREATE TRIGGER messaging_tally_truncate AFTER TRUNCATE ON messaging_message
    FOR EACH STATEMENT EXECUTE FUNCTION messaging_tally_truncate();
"""

PG_REVERSE = """
DROP TRIGGER IF EXISTS messaging_tally_insert ON messaging_message;
DROP TRIGGER IF EXISTS messaging_tally_update ON messaging_message;
DROP TRIGGER IF EXISTS messaging_tally_delete ON messaging_message;
DROP TRIGGER IF EXISTS messaging_tally_truncate ON messaging_message;
DROP FUNCTION IF EXISTS messaging_tally_insert();
DROP FUNCTION IF EXISTS messaging_tally_update();
DROP FUNCTION IF EXISTS messaging_tally_delete();
DROP FUNCTION IF EXISTS messaging_tally_truncate();
"""

SQLITE_FORWARD = [
    """
CREATE TRIGGER messaging_tally_insert AFTER INSERT ON messaging_message WHEN NEW.source_id IS NOT NULL
BEGIN
    INSERT INTO messaging_messagetally (source_type_id, source_id, purpose, status, reason, n, folded)
    SELECT NEW.source_type_id, NEW.source_id, NEW.purpose, NEW.status, NEW.reason, 1, 1 WHERE true
    ON CONFLICT (source_type_id, source_id, purpose, status, reason) WHERE folded DO UPDATE SET n = n + excluded.n;
END
""",
    """
CREATE TRIGGER messaging_tally_update AFTER UPDATE OF source_type_id, source_id, purpose, status, reason ON messaging_message
WHEN OLD.source_type_id IS NOT NEW.source_type_id OR OLD.source_id IS NOT NEW.source_id
    OR OLD.purpose IS NOT NEW.purpose OR OLD.status IS NOT NEW.status OR OLD.reason IS NOT NEW.reason
BEGIN
    INSERT INTO messaging_messagetally (source_type_id, source_id, purpose, status, reason, n, folded)
    SELECT OLD.source_type_id, OLD.source_id, OLD.purpose, OLD.status, OLD.reason, -1, 1
    WHERE OLD.source_id IS NOT NULL
    ON CONFLICT (source_type_id, source_id, purpose, status, reason) WHERE folded DO UPDATE SET n = n + excluded.n;
    INSERT INTO messaging_messagetally (source_type_id, source_id, purpose, status, reason, n, folded)
    SELECT NEW.source_type_id, NEW.source_id, NEW.purpose, NEW.status, NEW.reason, 1, 1
    WHERE NEW.source_id IS NOT NULL
    ON CONFLICT (source_type_id, source_id, purpose, status, reason) WHERE folded DO UPDATE SET n = n + excluded.n;
END
""",
    """
CREATE TRIGGER messaging_tally_delete AFTER DELETE ON messaging_message WHEN OLD.source_id IS NOT NULL
BEGIN
    INSERT INTO messaging_messagetally (source_type_id, source_id, purpose, status, reason, n, folded)
    SELECT OLD.source_type_id, OLD.source_id, OLD.purpose, OLD.status, OLD.reason, -1, 1 WHERE true
    ON CONFLICT (source_type_id, source_id, purpose, status, reason) WHERE folded DO UPDATE SET n = n + excluded.n;
END
""",
]

SQLITE_REVERSE = ['DROP TRIGGER IF EXISTS messaging_tally_insert', 'DROP TRIGGER IF EXISTS messaging_tally_update', 'DROP TRIGGER IF EXISTS messaging_tally_delete']

BACKFILL = 'INSERT INTO messaging_messagetally (source_type_id, source_id, purpose, status, reason, n, folded) SELECT source_type_id, source_id, purpose, status, reason, COUNT(*), %s FROM messaging_message WHERE source_id IS NOT NULL GROUP BY source_type_id, source_id, purpose, status, reason'


def triggers_install(apps, schema_editor):
    """The triggers, then the counts of the messages already there (PostgreSQL: with writers locked out)."""
    with schema_editor.connection.cursor() as cur:
        if schema_editor.connection.vendor == "postgresql":
            cur.execute(PG_FORWARD)
        else:
            for sql in SQLITE_FORWARD:
                cur.execute(sql)
        cur.execute(BACKFILL, [True])


def triggers_remove(apps, schema_editor):
    with schema_editor.connection.cursor() as cur:
        if schema_editor.connection.vendor == "postgresql":
            cur.execute(PG_REVERSE)
        else:
            for sql in SQLITE_REVERSE:
                cur.execute(sql)


class Migration(migrations.Migration):

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('messaging', '0007_message_list_order_index'),
    ]

    operations = [
        migrations.CreateModel(
            name='MessageTally',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('source_id', models.BigIntegerField()),
                ('purpose', models.CharField(max_length=16)),
                ('status', models.CharField(max_length=10)),
                ('reason', models.CharField(blank=True, max_length=20)),
                ('n', models.BigIntegerField()),
                ('folded', models.BooleanField(default=True)),
                ('source_type', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='contenttypes.contenttype')),
            ],
            options={
                'indexes': [models.Index(condition=models.Q(('folded', False)), fields=['id'], name='messagetally_unfolded_idx'), models.Index(fields=['source_type', 'source_id'], name='messagetally_source_idx')],
                'constraints': [models.UniqueConstraint(condition=models.Q(('folded', True)), fields=('source_type', 'source_id', 'purpose', 'status', 'reason'), name='messagetally_folded_uniq')],
            },
        ),
        migrations.RunPython(triggers_install, triggers_remove),
    ]
