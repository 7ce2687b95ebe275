"""The targets of a year are read once per data version (reports.target_rows): a change shows in
the next report, and what a transaction that rolled back read is kept by no one."""

import datetime

import pytest
from django.db import transaction

from branches import services as branch_services
from reports import engine
from reports.metrics import Metric
from reports.services import set_targets
from reports.target_rows import year_targets
from tests.factories import MemberFactory, OrganizationFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def child(tree):
    return OrganizationFactory(
        code="CHILD", parent=tree.committee, locality=tree.province, established_on=datetime.date(2020, 1, 1)
    )


def admissions_target(organization):
    return engine.fulfilment(organization, 2024).row(Metric.MEMBERS_ADMITTED).target


def set_admissions_target(department, child, value):
    set_targets(department, year=2024, values={(child, Metric.MEMBERS_ADMITTED): value})


def test_the_rows_are_kept_between_reports_and_a_change_shows_in_the_next(tree, department, child):
    set_admissions_target(department, child, 25)
    assert admissions_target(tree.committee) == 25
    assert year_targets(2024) is year_targets(2024)
    set_admissions_target(department, child, 30)
    assert admissions_target(tree.committee) == 30
    assert admissions_target(child) == 30
    set_admissions_target(department, child, None)
    assert admissions_target(tree.committee) is None


def test_a_transaction_that_wrote_reads_its_own_targets_and_keeps_none(tree, department, child):
    set_admissions_target(department, child, 25)
    assert admissions_target(tree.committee) == 25
    with pytest.raises(RuntimeError), transaction.atomic():
        set_admissions_target(department, child, 40)
        assert admissions_target(tree.committee) == 40
        raise RuntimeError("rolled back, as a restructuring plan's preview is")
    assert admissions_target(tree.committee) == 25


def test_an_admission_keeps_the_rows_and_a_restructuring_does_not(tree, department, administrator, child):
    set_admissions_target(department, child, 25)
    kept = year_targets(2024)
    MemberFactory(organization=tree.branch_a, admitted_on=datetime.date(2024, 5, 2))
    assert year_targets(2024) is kept  # admissions bump the data version, not the structure's
    branch_services.rename_organization(administrator, child, name="Đảng ủy mới", on=datetime.date(2024, 7, 1))
    assert year_targets(2024) is not kept
