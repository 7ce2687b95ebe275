"""The derived counts are keyed by what they count (organisation or enterprise, month or day,
metric): no surrogate id, one row per key, and the migration that took the id away keeps every
row both ways."""

import datetime

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from reports.models import EnterpriseStandingCount, Rollup, StandingCount, StandingRollup, StatisticsRollup
from tests.factories import OrganizationFactory

BEFORE = ("reports", "0010_standing_counts_without_admissions")
AFTER = ("reports", "0011_derived_counts_keyed_by_what_they_count")
KEYED = {
    "rollup": ("organization_id", "month"),
    "standingcount": ("organization_id", "day"),
    "standingrollup": ("organization_id", "month"),
    "enterprisestandingcount": ("enterprise_id", "day"),
    "statisticsrollup": ("organization_id", "month"),
}
MARCH, APRIL = datetime.date(2025, 3, 1), datetime.date(2025, 4, 1)


def _migrate(target):
    executor = MigrationExecutor(connection)
    executor.migrate([target])
    return executor.loader.project_state([target]).apps


def _rows(apps):
    return {
        name: sorted(apps.get_model("reports", name).objects.order_by().values_list(owner, when, "metric", "value"))
        for name, (owner, when) in KEYED.items()
    }


def _primary_key(table):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return [c["columns"] for c in constraints.values() if c["primary_key"]]


@pytest.mark.parametrize(
    ("model", "key"),
    [
        (Rollup, ["organization_id", "month", "metric"]),
        (StandingCount, ["organization_id", "day", "metric"]),
        (StandingRollup, ["organization_id", "month", "metric"]),
        (EnterpriseStandingCount, ["enterprise_id", "day", "metric"]),
        (StatisticsRollup, ["organization_id", "month", "metric"]),
    ],
)
@pytest.mark.django_db
def test_each_derived_count_is_keyed_by_what_it_counts(model, key):
    assert [f.column for f in model._meta.pk_fields] == key
    assert not any(f.column == "id" for f in model._meta.concrete_fields)
    (found,) = _primary_key(model._meta.db_table)
    assert sorted(found) == sorted(key)
    owner, when, _metric = (f.attname for f in model._meta.pk_fields)
    row = {owner: 7, when: MARCH, "metric": "m"}
    model.objects.create(**row, value=3)
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.create(**row, value=4)
    stored = model.objects.get(**row)
    assert stored.pk == (7, MARCH, "m")
    stored.value = 5
    stored.save()
    assert model.objects.get(pk=(7, MARCH, "m")).value == 5
    assert model.objects.count() == 1


@pytest.mark.rollups_differ  # (rows written by hand, not by events)
@pytest.mark.django_db
def test_an_organisation_deleted_takes_its_roll_ups_with_it():
    organization, other = OrganizationFactory(), OrganizationFactory()
    for owner in (organization, other):
        Rollup.objects.create(organization=owner, month=MARCH, metric="m", value=1)
        StatisticsRollup.objects.create(organization=owner, month=MARCH, metric="m", value=1)
    organization.delete()
    assert list(Rollup.objects.values_list("organization_id", flat=True)) == [other.pk]
    assert list(StatisticsRollup.objects.values_list("organization_id", flat=True)) == [other.pk]


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_every_row_going_to_the_keys_and_back():
    try:
        old = _migrate(BEFORE)
        for name, (owner, when) in KEYED.items():
            model = old.get_model("reports", name)
            model.objects.create(**{owner: 1, when: MARCH}, metric="a", value=3)
            model.objects.create(**{owner: 2, when: APRIL}, metric="b", value=-4)
        written = _rows(old)

        new = _migrate(AFTER)
        assert _rows(new) == written
        for name in KEYED:
            table = new.get_model("reports", name)._meta.db_table
            (key,) = _primary_key(table)
            assert "id" not in key and len(key) == 3

        back = _migrate(BEFORE)
        assert _rows(back) == written
        for name, (owner, when) in KEYED.items():
            model = back.get_model("reports", name)
            assert _primary_key(model._meta.db_table) == [["id"]]
            added = model.objects.create(**{owner: 3, when: MARCH}, metric="a", value=1)
            assert len(set(model.objects.order_by().values_list("id", flat=True))) == 3 and added.id
            with pytest.raises(IntegrityError), transaction.atomic():
                model.objects.create(**{owner: 1, when: MARCH}, metric="a", value=1)
    finally:
        _migrate(AFTER)
