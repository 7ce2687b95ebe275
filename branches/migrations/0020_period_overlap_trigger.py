"""The periods of one member never overlap: checked on PostgreSQL by a statement trigger instead of
an exclusion constraint.

The exclusion constraint kept a GiST index over every period, the costliest index of a bulk
admission to maintain. The trigger checks the rows each statement wrote, once per statement,
through the btree index on ``member_id``, and raises what the constraint raised (SQLSTATE 23P01,
constraint ``period_no_overlap``). Writers of one member's periods are serialised on the member's
row (``FOR NO KEY UPDATE``, which foreign-key checks do not wait for): the second writer's check
runs after the first has committed and sees its rows. That holds under READ COMMITTED, the
application's isolation level, for writers that see the member they write periods for.

SQLite has neither: there the service layer's check is the guard.
"""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION branches_period_no_overlap() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    clash record;
BEGIN
    PERFORM 1 FROM branches_member m
     WHERE m.id IN (SELECT n.member_id FROM new_periods n)
     ORDER BY m.id
       FOR NO KEY UPDATE OF m;
    SELECT n.member_id, n.id AS one, p.id AS other INTO clash
      FROM new_periods n
      JOIN branches_membershipperiod p
        ON p.member_id = n.member_id AND p.id <> n.id
       AND daterange(p.started_on, p.ended_on, '[)') && daterange(n.started_on, n.ended_on, '[)')
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'conflicting key value violates exclusion constraint "period_no_overlap"'
            USING ERRCODE = 'exclusion_violation',
                  CONSTRAINT = 'period_no_overlap',
                  TABLE = 'branches_membershipperiod',
                  DETAIL = format('The periods %s and %s of member %s overlap.', clash.one, clash.other, clash.member_id);
    END IF;
    RETURN NULL;
END
$$;
"""

TRIGGERS = """
DROP TRIGGER IF EXISTS period_no_overlap_insert ON branches_membershipperiod;
DROP TRIGGER IF EXISTS period_no_overlap_update ON branches_membershipperiod;
CREATE TRIGGER period_no_overlap_insert AFTER INSERT ON branches_membershipperiod
    REFERENCING NEW TABLE AS new_periods FOR EACH STATEMENT EXECUTE FUNCTION branches_period_no_overlap();
CREATE TRIGGER period_no_overlap_update AFTER UPDATE ON branches_membershipperiod
    REFERENCING NEW TABLE AS new_periods FOR EACH STATEMENT EXECUTE FUNCTION branches_period_no_overlap();
"""

EXCLUSION = """
ALTER TABLE branches_membershipperiod ADD CONSTRAINT period_no_overlap
    EXCLUDE USING gist (member_id WITH =, daterange(started_on, ended_on, '[)') WITH &&);
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION, params=None)  # its format() carries %s
        schema_editor.execute(TRIGGERS)
        schema_editor.execute("ALTER TABLE branches_membershipperiod DROP CONSTRAINT IF EXISTS period_no_overlap")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS period_no_overlap_insert ON branches_membershipperiod")
        schema_editor.execute("DROP TRIGGER IF EXISTS period_no_overlap_update ON branches_membershipperiod")
        schema_editor.execute("DROP FUNCTION IF EXISTS branches_period_no_overlap()")
        schema_editor.execute(EXCLUSION)


class Migration(migrations.Migration):
    dependencies = [("branches", "0019_period_start_end_indexes")]

    operations = [migrations.RunPython(forwards, backwards)]
