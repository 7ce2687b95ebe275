"""The period overlap trigger does not lock the rows of members created in the writing transaction.

Its lock (``FOR NO KEY UPDATE`` of each member whose periods a statement wrote) serialises two
transactions writing periods of one member. A member created in this transaction is seen by no
other, so none can write its periods: the lock only costs (a row lock written, and logged, per
member: a bulk admission of 100,000 members locks 100,000 rows it has just inserted). The bulk
admission says so for the first periods of its new members with the transaction-local setting
``branches.periods_of_new_members`` (``branches.models.periods_of_new_members``); the overlap
itself is still checked.
"""

from django.db import migrations

CHECK = """
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
"""

LOCK = """
    PERFORM 1 FROM branches_member m
     WHERE m.id IN (SELECT n.member_id FROM new_periods n)
     ORDER BY m.id
       FOR NO KEY UPDATE OF m;
"""


def function(lock):
    return (
        "CREATE OR REPLACE FUNCTION branches_period_no_overlap() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        f"DECLARE\n    clash record;\nBEGIN\n{lock}{CHECK}END\n$$;"
    )


SPARING = function(
    "    IF current_setting('branches.periods_of_new_members', true) IS DISTINCT FROM 'on' THEN\n"
    f"{LOCK}    END IF;\n"
)
LOCKING = function(LOCK)


def spare_new_members(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SPARING, params=None)  # its format() carries %s


def lock_every_member(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(LOCKING, params=None)


class Migration(migrations.Migration):
    dependencies = [("branches", "0022_triggers_fire_always")]

    operations = [migrations.RunPython(spare_new_members, lock_every_member)]
