"""The stored credit ledger moves from three columns of the review into its own narrow table (ReviewCredit): a
recomputation that rewrites every review's ledger then writes four narrow columns instead of updating wide rows
with five indexes. The computed ledger is carried over; reviews never computed get no row."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('reviews', '0003_credit_alert_destinations'),
    ]

    operations = [
        migrations.CreateModel(
            name='ReviewCredit',
            fields=[
                ('review', models.OneToOneField(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='credit', serialize=False, to='reviews.review')),
                ('scores', models.BooleanField(verbose_name='scores')),
                ('reason', models.CharField(blank=True, max_length=40, verbose_name='why it does not score')),
                ('points', models.SmallIntegerField(default=0, verbose_name='points')),
            ],
        ),
        migrations.RunSQL(
            "INSERT INTO reviews_reviewcredit (review_id, scores, reason, points) "
            "SELECT id, scores, not_scored_reason, points FROM reviews_review WHERE scores IS NOT NULL",
            # back: the columns come back empty; the nightly recomputation (or `huitouke credit`) fills them
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.RemoveConstraint(
            model_name='review',
            name='review_points_pm1',
        ),
        migrations.RemoveField(
            model_name='review',
            name='not_scored_reason',
        ),
        migrations.RemoveField(
            model_name='review',
            name='points',
        ),
        migrations.RemoveField(
            model_name='review',
            name='scores',
        ),
        migrations.AddConstraint(
            model_name='reviewcredit',
            constraint=models.CheckConstraint(condition=models.Q(('points__gte', -1), ('points__lte', 1)), name='reviewcredit_points_pm1'),
        ),
    ]
