"""The standing counts no longer keep the admissions by day: an organisation's last admission before a
date is read from the members (index ``member_admitted_by_on``). Their rows go; the roll-up never held
them. Going back, ``manage.py verify_rollups --repair`` counts them again."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("branches", "0021_member_admitted_by_on"),
        ("reports", "0009_derived_counts_without_foreign_key_checks"),
    ]

    operations = [
        migrations.RunSQL(
            "DELETE FROM reports_standingcount WHERE metric = 'admissions'",
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
