"""Splitting an organisation (issue 13): every child and member gets a destination, nothing is left
over, members' periods close with the reason "split", the shares of the targets add up to 100."""

import datetime
from fractions import Fraction

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from branches import events, services
from branches.choices import MemberStatus, OrganizationChange, OrganizationKind, PeriodEndReason, RoleKey
from branches.models import MembershipPeriod, Organization, RoleAssignment
from branches.structure import timeline
from core.events import subscribe, unsubscribe
from reports import statistics
from tests.api_conftest import *  # noqa: F403
from tests.factories import MemberFactory, OrganizationFactory

D = datetime.date
REFORM = D(2025, 7, 1)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


FIRST_DAY = D(2020, 5, 1)


def member_in(organization, citizen_id, started_on=FIRST_DAY):
    member = MemberFactory(organization=organization, admitted_on=started_on, citizen_id=citizen_id)
    if not MembershipPeriod.objects.filter(member=member).exists():
        MembershipPeriod.objects.create(member=member, organization=organization, started_on=started_on)
    return member


def ward(tree, administrator, code):
    return services.establish_organization(
        administrator,
        code=code,
        name=f"Đảng ủy phường {code}",
        kind=OrganizationKind.COMMITTEE,
        locality=tree.province,
        established_on=REFORM,
        parent=tree.city,
    )


def refusal(call, field):
    with pytest.raises(ValidationError) as exc:
        call()
    assert field in exc.value.message_dict, exc.value.message_dict
    return exc.value.message_dict[field]


@pytest.fixture
def split_events():
    seen = []
    subscribe(events.OrganizationSplit, seen.append)
    yield seen
    unsubscribe(events.OrganizationSplit, seen.append)


def test_splitting_a_committee_moves_each_child_to_its_destination_and_ends_it_split(tree, administrator, split_events):
    north, south = ward(tree, administrator, "NORTH"), ward(tree, administrator, "SOUTH")
    plan = services.plan_split(
        tree.committee, on=REFORM, children={tree.branch_a: north, tree.branch_b: south}, shares={north: 60, south: 40}
    )
    assert not plan.errors
    assert [(kind, obj.code, to.code) for kind, obj, to in plan.rows] == [
        ("organisation", "BR-A", "NORTH"),
        ("organisation", "BR-B", "SOUTH"),
    ]
    services.split_organization(
        administrator,
        tree.committee,
        on=REFORM,
        children={tree.branch_a: north, tree.branch_b: south},
        shares={north: 60, south: 40},
        decision_number="40-QĐ/TU",
        decision_date=D(2025, 6, 20),
    )
    tree.branch_a.refresh_from_db()
    tree.branch_b.refresh_from_db()
    assert (tree.branch_a.parent, tree.branch_b.parent) == (north, south)
    before, after = timeline(tree.branch_a)
    assert (before.parent, after.parent, after.change) == (tree.committee, north, OrganizationChange.SPLIT)
    tree.committee.refresh_from_db()
    assert tree.committee.dissolved_on == REFORM
    (state,) = timeline(tree.committee)
    assert (state.end_change, state.valid_to, state.end_decision_number) == (
        OrganizationChange.SPLIT,
        REFORM,
        "40-QĐ/TU",
    )
    (event,) = split_events
    assert event.source_id == tree.committee.pk and event.on == REFORM
    assert dict(event.shares) == {north.pk: Fraction(3, 5), south.pk: Fraction(2, 5)}


def test_a_split_with_something_left_over_writes_nothing(tree, administrator):
    north = ward(tree, administrator, "NORTH")
    errors = refusal(
        lambda: services.split_organization(administrator, tree.committee, on=REFORM, children={tree.branch_a: north}),
        "children",
    )
    assert any("BR-B" in message and "no destination" in message for message in errors)
    assert Organization.objects.get(code="DIST").dissolved_on is None
    assert Organization.objects.get(code="BR-A").parent.code == "DIST"


def test_a_split_whose_shares_do_not_add_up_is_refused(tree, administrator):
    north, south = ward(tree, administrator, "NORTH"), ward(tree, administrator, "SOUTH")
    children = {tree.branch_a: north, tree.branch_b: south}
    refusal(
        lambda: services.split_organization(
            administrator, tree.committee, on=REFORM, children=children, shares={north: 60, south: 30}
        ),
        "shares",
    )
    assert Organization.objects.get(code="DIST").dissolved_on is None


def test_splitting_a_branch_moves_its_members_with_the_reason_split_not_as_transfers(tree, administrator):
    third = OrganizationFactory(
        code="BR-C", kind=OrganizationKind.GRASSROOTS_BRANCH, parent=tree.committee, locality=tree.commune
    )
    one, two = member_in(tree.branch_a, "001190000201"), member_in(tree.branch_a, "001190000202")
    before = statistics.member_movement(tree.committee, D(2025, 1, 1), D(2025, 12, 31))
    services.split_organization(
        administrator,
        tree.branch_a,
        on=REFORM,
        members={one: tree.branch_b, two: third},
        shares={tree.branch_b: 50, third: 50},
    )
    one.refresh_from_db()
    two.refresh_from_db()
    assert (one.organization, two.organization, one.status) == (tree.branch_b, third, MemberStatus.ACTIVE)
    closed, opened = MembershipPeriod.objects.filter(member=one).order_by("started_on")
    assert (closed.ended_on, closed.end_reason, opened.started_on) == (REFORM, PeriodEndReason.SPLIT, REFORM)
    after = statistics.member_movement(tree.committee, D(2025, 1, 1), D(2025, 12, 31))
    assert after.total.transferred_in == before.total.transferred_in == 0
    assert after.total.transferred_out == before.total.transferred_out == 0


def test_a_split_gives_role_assignments_to_the_successor_with_the_largest_share(tree, administrator, secretary_a):
    third = OrganizationFactory(
        code="BR-C", kind=OrganizationKind.GRASSROOTS_BRANCH, parent=tree.committee, locality=tree.commune
    )
    member = member_in(tree.branch_a, "001190000203")
    services.split_organization(administrator, tree.branch_a, on=REFORM, members={member: third}, shares={third: 100})
    assignment = RoleAssignment.objects.get(user=secretary_a)
    assert (assignment.role, assignment.organization) == (RoleKey.SECRETARY, third)


def test_a_member_may_not_stay_in_the_organisation_split(tree, administrator):
    member = member_in(tree.branch_a, "001190000204")
    refusal(
        lambda: services.split_organization(administrator, tree.branch_a, on=REFORM, members={member: tree.branch_a}),
        "members",
    )


def test_api_splits_with_destinations_and_shares_and_names_what_is_left_over(api, tree):
    from tests.api_conftest import API

    north = OrganizationFactory(code="NORTH", parent=tree.city, locality=tree.province, established_on=REFORM)
    south = OrganizationFactory(code="SOUTH", parent=tree.city, locality=tree.province, established_on=REFORM)
    url = f"{API}organizations/{tree.committee.pk}/split/"
    payload = {"on": "2025-07-01", "destinations": [{"item": "BR-A", "to": "NORTH"}]}
    refused = api.administrator.post(url, payload, format="json")
    assert refused.status_code == 400 and "destinations" in refused.json()
    assert api.department.post(url, payload, format="json").status_code in (403, 404)
    payload["destinations"].append({"item": "BR-B", "to": "SOUTH"})
    payload["shares"] = [{"to": "NORTH", "percent": "50"}, {"to": "SOUTH", "percent": "50"}]
    done = api.administrator.post(url, payload, format="json")
    assert done.status_code == 200, done.json()
    tree.branch_a.refresh_from_db()
    tree.branch_b.refresh_from_db()
    assert (tree.branch_a.parent, tree.branch_b.parent) == (north, south)
