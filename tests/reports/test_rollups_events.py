"""One scenario through every writer of the reports' sources (each service, each bulk import):
every domain event is published, and afterwards the roll-ups equal a full recount.

Run on SQLite and on PostgreSQL (``DATABASE_URL``); the bulk writers take other paths there (COPY).
"""

import datetime
import inspect

import pytest

from branches import events as branch_events
from branches import services as branch_services
from branches.choices import OrganizationKind
from core import events
from dataio.enterprise_imports import import_enterprises, import_returns
from dataio.imports import import_members
from enterprises import events as enterprise_events
from enterprises import services as enterprise_services
from enterprises.choices import MassOrganizationKind
from enterprises.models import MembershipReturn
from reports import rollups
from reports.metrics import Metric
from reports.models import Rollup
from tests.dataio.test_io_enterprises_import import ENTERPRISE_HEADERS, RETURN_HEADERS, enterprise_row
from tests.dataio.test_io_members_import import csv_bytes, member_row
from tests.factories import OrganizationFactory, ProspectFactory, next_citizen_id

D = datetime.date


def declared(module):
    return {
        value
        for value in vars(module).values()
        if inspect.isclass(value) and issubclass(value, events.Event) and value.__module__ == module.__name__
    }


@pytest.fixture
def published():
    seen = []
    events.subscribe(events.Event, seen.append)
    yield seen
    events.unsubscribe(events.Event, seen.append)


def admit(user, organization, on, **extra):
    return branch_services.admit_member(
        user,
        organization=organization,
        admitted_on=on,
        full_name="Lê Thị Hoa",
        sex="female",
        date_of_birth=D(1990, 1, 1),
        citizen_id=next_citizen_id(),
        **extra,
    )


def exact():
    assert rollups.differences() == (0, [])


def test_every_writer_announces_what_it_wrote_and_the_rollups_stay_exact(tree, administrator, secretary_a, published):
    other = OrganizationFactory(code="OTHER", locality=tree.province, parent=tree.city)

    # Organisations: established, corrected, moved, dissolved (members sent on or home).
    new_branch = branch_services.establish_organization(
        administrator,
        code="BR-NEW",
        name="Chi bộ mới",
        kind=OrganizationKind.GRASSROOTS_BRANCH,
        locality=tree.commune,
        established_on=D(2022, 7, 9),
        parent=tree.committee,
    )
    branch_services.update_organization(administrator, new_branch, established_on=D(2022, 9, 1))
    closing = branch_services.establish_organization(
        administrator,
        code="BR-END",
        name="Chi bộ giải thể",
        kind=OrganizationKind.GRASSROOTS_BRANCH,
        locality=tree.commune,
        established_on=D(2022, 1, 5),
        parent=tree.committee,
    )
    exact()

    # Members: admitted (directly, as owners, from a prospect), corrected, recognised, moved, leaving.
    first = admit(administrator, new_branch, D(2023, 2, 2), is_business_owner=True, position="owner")
    second = admit(administrator, new_branch, D(2023, 5, 5))
    admit(administrator, closing, D(2023, 3, 3))
    admit(administrator, closing, D(2023, 4, 4))
    prospect = ProspectFactory(
        organization=tree.branch_a,
        enterprise=tree.enterprise_a,
        identified_on=D(2023, 1, 1),
        stage="dossier_complete",
        course_completed_on=D(2023, 6, 1),
        dossier_completed_on=D(2024, 1, 10),
    )
    from_prospect = branch_services.admit_prospect(secretary_a, prospect, admitted_on=D(2024, 1, 15))
    branch_services.update_member(
        secretary_a, from_prospect, full_name="Lê Thị Sửa", is_business_owner=True, position="owner"
    )
    branch_services.recognize_official(administrator, first, official_on=D(2024, 2, 2))
    branch_services.transfer_member(
        administrator, second, on=D(2024, 3, 1), to_organization=tree.branch_b, presented_on=D(2024, 3, 1)
    )
    branch_services.record_leaving(administrator, first, on=D(2024, 4, 1), reason="resigned")
    branch_services.move_organization(administrator, new_branch, other)
    branch_services.dissolve_organization(administrator, closing, on=D(2024, 5, 1), destination=tree.branch_a)
    merging = branch_services.establish_organization(
        administrator,
        code="BR-MERGED",
        name="Chi bộ hợp nhất",
        kind=OrganizationKind.GRASSROOTS_BRANCH,
        locality=tree.commune,
        established_on=D(2022, 3, 1),
        parent=tree.committee,
    )
    admit(administrator, merging, D(2023, 6, 6))
    branch_services.merge_organizations(administrator, [merging], tree.branch_b, on=D(2024, 5, 15))
    exact()

    # Enterprises, mass organisations, returns; then the enterprise passes to another committee.
    enterprise = enterprise_services.create_enterprise(
        administrator,
        tax_code="0100109106",
        name="Công ty TNHH Hồng Hà",
        ownership="private",
        locality=tree.commune,
        size_class="small",
        employees=80,
        operating_status="operating",
        managing_committee=tree.committee,
    )
    union = enterprise_services.establish_mass_organization(
        administrator,
        enterprise=enterprise,
        kind=MassOrganizationKind.TRADE_UNION,
        name="Công đoàn Hồng Hà",
        established_on=D(2023, 6, 1),
        founding_members=30,
    )
    enterprise_services.record_membership_return(
        administrator, union, date=D(2024, 6, 30), members_total=40, members_admitted=10
    )
    enterprise_services.update_mass_organization(administrator, union, kind=MassOrganizationKind.YOUTH_UNION)
    enterprise_services.update_enterprise(administrator, enterprise, managing_committee=other, employees=90)
    enterprise_services.dissolve_mass_organization(administrator, union, on=D(2024, 8, 1))
    assert Rollup.objects.get(organization=other, month=D(2024, 6, 1), metric=Metric.YOUTH_UNION_MEMBERS_ADMITTED).value
    exact()

    # The bulk writers: members admitted and updated, enterprises recorded and moved, returns.
    rows = [member_row(serial, **{"admitted on*": f"0{serial}/02/2024"}) for serial in range(1, 6)]
    assert import_members(csv_bytes(rows), organization=tree.branch_a, acting_user=secretary_a).committed
    rows[0]["full name*"] = "Nguyễn Thị Hồng Mới"
    assert import_members(csv_bytes(rows), organization=tree.branch_a, acting_user=secretary_a).counts["update"] == 1
    bulk_union = enterprise_services.establish_mass_organization(
        administrator,
        enterprise=tree.enterprise_b,
        kind=MassOrganizationKind.TRADE_UNION,
        name="Công đoàn Bình Minh",
        established_on=D(2023, 3, 1),
        founding_members=12,
    )
    returns = [
        {
            RETURN_HEADERS[0]: tree.enterprise_b.tax_code,
            "kind": "công đoàn",
            "date": f"{day}/2024",
            RETURN_HEADERS[3]: "20",
            RETURN_HEADERS[4]: "4",
        }
        for day in ("31/03", "30/06", "30/09")
    ]
    result = import_returns(csv_bytes(returns, RETURN_HEADERS), organization=tree.committee, acting_user=administrator)
    assert result.committed and result.counts["create"] == 3, result.preview_lines()
    assert MembershipReturn.objects.filter(mass_organization=bulk_union).count() == 4
    moved = enterprise_row(
        1,
        **{
            "tax code": tree.enterprise_b.tax_code,
            "name": tree.enterprise_b.name,
            "managing committee code": "OTHER",
        },
    )
    result = import_enterprises(
        csv_bytes([moved, enterprise_row(2)], [*ENTERPRISE_HEADERS, "managing committee code"]),
        organization=tree.city,
        acting_user=administrator,
    )
    assert result.committed and result.counts["update"] == 1 and result.counts["create"] == 1, result.preview_lines()
    assert Rollup.objects.get(organization=other, month=D(2024, 9, 1), metric=Metric.TRADE_UNION_MEMBERS_ADMITTED).value
    exact()

    # Every event the owners declare was published (corrections, a split and a locality
    # restructuring have no writer in this scenario, nor has an approval of figures:
    # tests/reports/test_rollups.py, tests/branches/test_corrections.py, the split's, the
    # localities' and the dashboard's tests announce them).
    seen = {type(event) for event in published}
    expected = declared(branch_events) | declared(enterprise_events)
    assert expected - seen == {
        branch_events.AdmissionsCorrected,
        branch_events.OrganizationSplit,
        branch_events.MembershipPeriodsReopened,
        branch_events.MembershipPeriodsCorrected,
        enterprise_events.MembershipReturnsCorrected,
        enterprise_events.LocalitiesRestructured,
        branch_events.FiguresApprovalChanged,
    }


def test_no_model_of_the_domain_runs_a_handler_per_row_read():
    """A member export reads every row: nothing listens to post_init (the roll-ups follow events)."""
    from django.apps import apps
    from django.db.models.signals import post_init

    listened = [
        model._meta.label
        for label in ("branches", "enterprises", "reports")
        for model in apps.get_app_config(label).get_models()
        if post_init.has_listeners(model)
    ]
    assert listened == []
