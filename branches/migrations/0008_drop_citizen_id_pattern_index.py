"""Drop the ``varchar_pattern_ops`` index Django adds on PostgreSQL beside the unique index of
``Member.citizen_id``.

That second index only serves ``LIKE 'prefix%'`` searches, and nothing searches citizen IDs by
prefix (equality uses the unique index; the admin's ``=citizen_id`` search compares ``UPPER()``,
which neither index answers), while every admission pays for keeping it: an import of 100,000
members inserts 100,000 more index entries. Django re-creates such an index when a migration alters
the column's type: drop it again there.
"""

from django.db import migrations

INDEX = "branches_member_citizen_id_f29a12d0_like"  # Django's name: _create_index_name(…, suffix="_like")


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {INDEX} ON branches_member (citizen_id varchar_pattern_ops)")


class Migration(migrations.Migration):
    dependencies = [
        ("branches", "0007_member_owners_index"),
    ]

    operations = [
        migrations.RunPython(drop_index, create_index, elidable=False),
    ]
