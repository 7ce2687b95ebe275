"""The database's own triggers fire in every session, including one that has turned the per-row
foreign-key checks off (``session_replication_role = replica``, as a bulk import does while it
checks its foreign keys once for all its rows: ``dataio.bulk.writers.KeyCheck``).

A trigger enabled the ordinary way fires only while that setting is ``origin`` or ``local``;
``ENABLE ALWAYS`` makes it fire whatever the setting.
"""

from django.db import migrations

TRIGGERS = (
    ("branches_membershipperiod", "period_no_overlap_insert"),
    ("branches_membershipperiod", "period_no_overlap_update"),
    ("branches_accesslog", "security_accesslog_append_only"),
)


def always(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table, trigger in TRIGGERS:
            schema_editor.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {trigger}")


def ordinary(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table, trigger in TRIGGERS:
            schema_editor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")


class Migration(migrations.Migration):
    dependencies = [("branches", "0021_member_admitted_by_on")]

    operations = [migrations.RunPython(always, ordinary)]
