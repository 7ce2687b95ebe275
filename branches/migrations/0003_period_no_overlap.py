"""On PostgreSQL the database itself refuses overlapping membership periods of one member.

SQLite has no exclusion constraints; there the service layer's check is the guard.
"""

from django.db import migrations

CREATE = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE branches_membershipperiod ADD CONSTRAINT period_no_overlap
    EXCLUDE USING gist (member_id WITH =, daterange(started_on, ended_on, '[)') WITH &&);
"""
DROP = "ALTER TABLE branches_membershipperiod DROP CONSTRAINT IF EXISTS period_no_overlap;"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("branches", "0002_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
