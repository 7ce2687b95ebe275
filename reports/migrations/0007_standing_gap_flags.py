from django.db import migrations


def count_the_gaps(apps, schema_editor):
    """Count the gap flags of the enterprises and their committees in the standing counts (the
    domain events keep them after). The code of today counts them: on an empty database (a new
    install) it is not run."""
    if not apps.get_model("enterprises", "Enterprise").objects.using(schema_editor.connection.alias).exists():
        return
    from reports.rollups import standing

    standing.rebuild()


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0006_statistics_rollups"),
        ("enterprises", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(count_the_gaps, migrations.RunPython.noop, elidable=True),
    ]
