"""Migration helpers for the derived text columns (issue 16): fill them for existing rows, and on
PostgreSQL a trigram index so a search by part of a name ("%nguyen van%") uses an index.

Why a stored normalised column rather than ``unaccent()`` in the query: it works the same on SQLite
(the default database, the tests) and PostgreSQL, needs no non-immutable function in an index,
and the Vietnamese rules (đ → d) live in one Python function (core.text.search_key) that the
query applies to the typed words too.
"""

from django.db import migrations, transaction

BATCH = 2000


def fill_derived(model_specs):
    """A RunPython forwards function: ``model_specs`` = [(app_label, model, target, source, function)]."""

    def forwards(apps, schema_editor):
        for app_label, model_name, target, source, function in model_specs:
            model = apps.get_model(app_label, model_name)
            manager = model._base_manager.using(schema_editor.connection.alias)
            batch = []
            for obj in manager.only("pk", source).order_by("pk").iterator(chunk_size=BATCH):
                setattr(obj, target, function(getattr(obj, source) or "")[: model._meta.get_field(target).max_length])
                batch.append(obj)
                if len(batch) >= BATCH:
                    manager.bulk_update(batch, [target])
                    batch = []
            if batch:
                manager.bulk_update(batch, [target])

    return forwards


def trigram_indexes(indexes):
    """RunPython operation: on PostgreSQL, GIN trigram indexes ``[(index name, table, column)]``.

    Needs the pg_trgm extension (a trusted extension since PostgreSQL 13: a database owner may
    create it). Where it cannot be created the search still works, without the index.
    """

    def forwards(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        try:
            with transaction.atomic(using=schema_editor.connection.alias):
                schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except Exception:  # noqa: BLE001 - no privilege: the search works without the index
            return
        quote = schema_editor.quote_name
        for name, table, column in indexes:
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {quote(name)} ON {quote(table)} USING gin ({quote(column)} gin_trgm_ops)"
            )

    def backwards(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for name, _table, _column in indexes:
            schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")

    return migrations.RunPython(forwards, backwards)
