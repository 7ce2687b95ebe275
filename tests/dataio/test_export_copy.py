"""The PostgreSQL fast path of a CSV export (COPY, ``dataio.exports._copy_csv``) writes the very
bytes of the generic path (model rows through ``csv.writer``), which SQLite and the other exports use."""

import dataclasses
import datetime
import io

import pytest
from django.utils import translation

from branches.choices import MemberStatus, OrganizationKind, PeriodEndReason, Position, Sex
from branches.models import MembershipPeriod
from dataio import exports
from enterprises.choices import Ownership
from tests.factories import EnterpriseFactory, MemberFactory, OrganizationFactory

pytestmark = [
    pytest.mark.postgresql,  # COPY is PostgreSQL's: not collected when the suite runs on SQLite
    # The periods are ended by an update (a member who left, as an export sees it), not by a service
    # that announces it: the roll-ups, which no export reads, are not kept here.
    pytest.mark.rollups_differ,
]

AWKWARD = [
    "=SUM(A1)",
    "+84 912",
    "-1",
    "@home",
    "\tTab",
    "\rCR",
    'say "hi", then go',
    "line\nbreak",
    "Đặng Thị Ánh",
    "",
]


def members_with_every_kind_of_value(tree):
    enterprise = EnterpriseFactory(name="=HYPERLINK()")
    for serial, awkward in enumerate(AWKWARD):
        MemberFactory(
            organization=tree.branch_a if serial % 2 else tree.branch_b,
            full_name=f"{awkward or 'Lý'} {serial}",
            hometown=awkward,
            sex=Sex.FEMALE if serial % 2 else Sex.MALE,
            position=Position.WORKER,
            admission_decided_by=awkward,
            over_age_approved=bool(serial % 3),
            official_on=datetime.date(2021, 3, 1) if serial % 2 else None,
            recognition_decision_number=f"{serial}-QĐ" if serial % 2 else "",
            enterprise=enterprise if serial % 3 == 0 else None,
            ethnicity="" if serial % 2 else "kinh",
        )
    leaving = MemberFactory(organization=tree.branch_a, full_name="Trần Văn Rời", status=MemberStatus.LEFT)
    MembershipPeriod.objects.filter(member=leaving).update(
        ended_on=datetime.date(2024, 2, 29),
        end_reason=PeriodEndReason.RESIGNED,
        end_decision_number="=12/QĐ",
        end_decided_on=datetime.date(2024, 2, 28),
    )
    MemberFactory(organization=tree.branch_b, full_name="Odd Status", religion="not-a-choice")


def both_paths(monkeypatch, user, file_format="csv", kind="members"):
    """The ``kind`` export in ``file_format`` by the database's path and by the generic one (the
    database's columns taken away): both files, after checking they wrote the same rows."""
    fast, fast_ids = io.BytesIO(), []
    fast_rows = exports.write_export(fast, kind, user, file_format=file_format, collect_ids=fast_ids)
    generic_kind = dataclasses.replace(exports.KINDS[kind], **{f"{file_format}_columns": None})
    monkeypatch.setitem(exports.KINDS, kind, generic_kind)
    generic, generic_ids = io.BytesIO(), []
    generic_rows = exports.write_export(generic, kind, user, file_format=file_format, collect_ids=generic_ids)
    assert fast_rows == generic_rows and fast_ids == generic_ids
    return fast.getvalue(), generic.getvalue(), fast_rows


def enterprises_and_organizations_with_every_kind_of_value(tree):
    """Enterprises and organisations under ``tree.committee`` holding the awkward texts, empty and
    missing values, numbers, a value outside a field's choices, dissolved organisations with their
    decisions."""
    for serial, awkward in enumerate(AWKWARD):
        enterprise = EnterpriseFactory(
            name=f"{awkward or 'Công ty'} {serial}",
            industrial_park=awkward,
            address=awkward,
            employees=serial * 1000,
            managing_committee=tree.committee,
            locality=tree.commune,
            ownership="not-a-choice" if serial == 3 else Ownership.PRIVATE,
        )
        OrganizationFactory(
            code=f"{awkward[:1]}ORG-{serial}",
            name=f"{awkward} {serial}",
            kind=OrganizationKind.GRASSROOTS_BRANCH,
            parent=tree.committee,
            locality=tree.commune,
            enterprise=enterprise if serial % 2 else None,
            dissolved_on=datetime.date(2024, 2, 29) if serial % 3 == 0 else None,
            dissolution_decision_number=awkward if serial % 3 == 0 else "",
            coordination_regulation_signed=bool(serial % 2),
        )


@pytest.mark.parametrize("language", ["en", "vi"])
@pytest.mark.parametrize("persona", ["department", "secretary_a"])
def test_the_copy_of_a_members_csv_is_the_generic_csv_byte_for_byte(request, tree, monkeypatch, language, persona):
    members_with_every_kind_of_value(tree)
    user = request.getfixturevalue(persona)
    with translation.override(language):
        fast, generic, rows = both_paths(monkeypatch, user)
    assert fast == generic
    assert rows >= len(AWKWARD) // 2 and fast.count(b"\r\n") == rows + 1  # each line ended as csv.writer ends it
    assert ("••••••••" in fast.decode("utf-8-sig")) == (persona == "department")  # who may edit sees the ID


@pytest.mark.parametrize("kind", ["enterprises", "organizations"])
@pytest.mark.parametrize("language", ["en", "vi"])
def test_the_copy_of_an_enterprises_or_organisations_csv_is_the_generic_csv_byte_for_byte(
    tree, department, monkeypatch, kind, language
):
    enterprises_and_organizations_with_every_kind_of_value(tree)
    with translation.override(language):
        fast, generic, rows = both_paths(monkeypatch, department, kind=kind)
    assert fast == generic
    assert rows > len(AWKWARD)  # the awkward ones and the tree's own
    assert b"'=SUM(A1)" in fast  # neutralised, in a name
    assert (b"not-a-choice" in fast) == (kind == "enterprises")  # a value outside the choices, as stored


def test_progress_is_reported_every_500_rows_by_the_copy(tree, department, monkeypatch):
    MemberFactory.create_batch(3, organization=tree.branch_a)
    seen = []
    written = exports.write_export(io.BytesIO(), "members", department, file_format="csv", progress=seen.append)
    assert written == 3 and seen == []
