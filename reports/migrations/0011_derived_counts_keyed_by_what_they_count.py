"""The derived counts keyed by what they count: (organisation or enterprise, month or day, metric)
is their primary key, and the surrogate ``id`` goes.

Every write to them is an upsert on that key; the ``id`` only cost an identity value, a second
index and its pages for each new row. Django does not migrate a primary key to a composite one,
so the state and the tables change separately: on PostgreSQL the unique constraint and ``id``
are dropped and the primary key added in place (its index built once); on SQLite, and going back
anywhere, each table is rebuilt from a copy of its rows.
"""

from django.db import migrations, models

KEYS = {
    "rollup": ("rollup_unique_org_month_metric", ("organization", "month", "metric")),
    "standingcount": ("standing_count_unique", ("organization", "day", "metric")),
    "standingrollup": ("standing_rollup_unique", ("organization", "month", "metric")),
    "enterprisestandingcount": ("enterprise_standing_unique", ("enterprise", "day", "metric")),
    "statisticsrollup": ("statistics_rollup_unique", ("organization", "month", "metric")),
}


def rebuild(schema_editor, model):
    """Drop and create ``model``'s table as the model now says, its rows kept (all but ``id``)."""
    quote = schema_editor.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(f.column) for f in model._meta.local_concrete_fields if f.column != "id")
    schema_editor.execute(f"CREATE TEMPORARY TABLE reports_rebuilt_rows AS SELECT {columns} FROM {table}")
    schema_editor.execute(f"DROP TABLE {table}")
    schema_editor.create_model(model)
    schema_editor.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM reports_rebuilt_rows")
    schema_editor.execute("DROP TABLE reports_rebuilt_rows")


def to_composite_keys(apps, schema_editor):
    for name, (constraint, fields) in KEYS.items():
        model = apps.get_model("reports", name)
        if schema_editor.connection.vendor != "postgresql":
            rebuild(schema_editor, model)
            continue
        quote = schema_editor.quote_name
        table = quote(model._meta.db_table)
        columns = ", ".join(quote(model._meta.get_field(field).column) for field in fields)
        schema_editor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {quote(constraint)}")
        schema_editor.execute(f"ALTER TABLE {table} DROP COLUMN id")
        schema_editor.execute(f"ALTER TABLE {table} ADD PRIMARY KEY ({columns})")


def to_surrogate_ids(apps, schema_editor):
    for name in KEYS:
        rebuild(schema_editor, apps.get_model("reports", name))


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0010_standing_counts_without_admissions"),
    ]

    # (going back, the tables are rebuilt before the state changes, so with the models of ``id``;
    # going forward, after it, so with the models of the composite keys)
    operations = [
        migrations.RunPython(migrations.RunPython.noop, to_surrogate_ids),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                *(
                    migrations.RemoveConstraint(model_name=name, name=constraint)
                    for name, (constraint, _fields) in KEYS.items()
                ),
                *(migrations.RemoveField(model_name=name, name="id") for name in KEYS),
                *(
                    migrations.AddField(
                        model_name=name,
                        name="pk",
                        field=models.CompositePrimaryKey(*fields, blank=True, editable=False, primary_key=True, serialize=False),
                    )
                    for name, (_constraint, fields) in KEYS.items()
                ),
            ],
        ),
        migrations.RunPython(to_composite_keys, migrations.RunPython.noop),
    ]
