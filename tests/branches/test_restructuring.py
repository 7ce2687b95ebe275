"""Restructuring through time (issue 13): dated states of organisations, the services that write
them (establish, move, rename, merge, dissolve with effective dates and decisions), and the tree
read as of a date."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import translation

from branches import services
from branches.choices import MemberStatus, OrganizationChange, OrganizationKind, PeriodEndReason, RoleKey
from branches.events import OrganizationDissolved
from branches.models import Member, MembershipPeriod, Organization, OrganizationVersion, RoleAssignment
from branches.structure import timeline, tree_as_of
from core.events import publish
from core.scoping import scope_for
from reports import engine
from reports.serializers import fulfilment_to_dict
from tests.api_conftest import *  # noqa: F403
from tests.api_conftest import API
from tests.factories import MemberFactory, OrganizationFactory, UserFactory

D = datetime.date
REFORM = D(2025, 7, 1)


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def refusal(call, field, contains=None):
    with pytest.raises(ValidationError) as exc:
        call()
    errors = exc.value.message_dict
    assert field in errors, errors
    if contains is not None:
        assert any(contains in message for message in errors[field]), errors[field]
    return errors[field]


def codes(nodes):
    return [(node.organization.code, node.depth, node.name) for node in nodes]


def parents(nodes):
    by_id = {node.organization.pk: node.organization.code for node in nodes}
    return {node.organization.code: by_id.get(node.parent_id) for node in nodes}


def ward(tree, administrator, code="WARD", name="Đảng ủy phường Nghĩa Đô", on=REFORM):
    return services.establish_organization(
        administrator,
        code=code,
        name=name,
        kind=OrganizationKind.COMMITTEE,
        locality=tree.province,
        established_on=on,
        parent=tree.city,
        decision_number="12-QĐ/TU",
        decision_date=D(2025, 6, 20),
    )


FIRST_DAY = D(2020, 5, 1)


def member_in(organization, started_on=FIRST_DAY, citizen_id="001190000101"):
    member = MemberFactory(organization=organization, admitted_on=started_on, citizen_id=citizen_id)
    if not MembershipPeriod.objects.filter(member=member).exists():
        MembershipPeriod.objects.create(member=member, organization=organization, started_on=started_on)
    return member


# Dated states ---------------------------------------------------------------------------------


def test_establishing_records_the_first_state_with_its_decision(tree, administrator):
    new = ward(tree, administrator)
    (version,) = OrganizationVersion.objects.filter(organization=new)
    assert (version.parent, version.name, version.valid_from, version.valid_to) == (
        tree.city,
        "Đảng ủy phường Nghĩa Đô",
        REFORM,
        None,
    )
    assert (version.change, version.decision_number, version.decision_date) == (
        OrganizationChange.ESTABLISHED,
        "12-QĐ/TU",
        D(2025, 6, 20),
    )


def test_a_move_from_a_date_keeps_the_old_parent_before_it(tree, administrator):
    new = ward(tree, administrator)
    services.move_organization(
        administrator, tree.branch_a, new, on=REFORM, decision_number="15-QĐ/TU", decision_date=D(2025, 6, 25)
    )
    tree.branch_a.refresh_from_db()
    assert tree.branch_a.parent == new  # today's tree
    before, after = timeline(tree.branch_a)
    assert (before.parent, before.valid_from, before.valid_to, before.last_day) == (
        tree.committee,
        tree.branch_a.established_on,
        REFORM,
        D(2025, 6, 30),
    )
    assert (before.end_change, after.change, after.parent, after.decision_number) == (
        OrganizationChange.MOVED,
        OrganizationChange.MOVED,
        new,
        "15-QĐ/TU",
    )
    everything = Organization.objects.all()
    assert parents(tree_as_of(everything, D(2025, 6, 30))) == {
        "CITY": None,
        "DIST": "CITY",
        "BR-A": "DIST",
        "BR-B": "DIST",
    }  # the ward is not yet established
    assert parents(tree_as_of(everything, REFORM)) == {
        "CITY": None,
        "DIST": "CITY",
        "BR-A": "WARD",
        "BR-B": "DIST",
        "WARD": "CITY",
    }
    rows = codes(tree_as_of(everything, REFORM))
    assert rows.index(("BR-A", 3, tree.branch_a.name)) == rows.index(("WARD", 2, new.name)) + 1


def test_a_rename_from_a_date_keeps_the_old_name_before_it(tree, administrator):
    old_name = tree.branch_a.name
    services.rename_organization(administrator, tree.branch_a, name="Chi bộ An Phát (mới)", on=D(2025, 3, 1))
    tree.branch_a.refresh_from_db()
    assert tree.branch_a.name == "Chi bộ An Phát (mới)"
    names = {node.organization.code: node.name for node in tree_as_of(Organization.objects.all(), D(2025, 2, 28))}
    assert names["BR-A"] == old_name
    names = {node.organization.code: node.name for node in tree_as_of(Organization.objects.all(), D(2025, 3, 1))}
    assert names["BR-A"] == "Chi bộ An Phát (mới)"


def test_a_change_before_the_latest_state_or_in_the_future_is_refused_at_its_field(tree, administrator):
    services.rename_organization(administrator, tree.branch_a, name="Tên mới", on=D(2025, 3, 1))
    refusal(
        lambda: services.move_organization(administrator, tree.branch_a, tree.city, on=D(2025, 1, 1)),
        "on",
        "already changed on",
    )
    tomorrow = services.today() + datetime.timedelta(days=1)
    refusal(lambda: services.rename_organization(administrator, tree.branch_a, name="X", on=tomorrow), "on")
    refusal(
        lambda: services.rename_organization(
            administrator, tree.branch_a, name="X", on=D(2025, 4, 1), decision_date=D(2025, 5, 1)
        ),
        "decision_date",
    )
    refusal(lambda: services.rename_organization(administrator, tree.branch_a, name="  ", on=D(2025, 4, 1)), "name")


def test_two_changes_on_the_same_day_make_one_state(tree, administrator):
    new = ward(tree, administrator)
    services.move_organization(administrator, tree.branch_a, new, on=REFORM)
    services.rename_organization(administrator, tree.branch_a, name="Chi bộ phường", on=REFORM)
    states = timeline(tree.branch_a)
    assert [(s.valid_from, s.parent_id, s.name) for s in states] == [
        (tree.branch_a.established_on, tree.committee.pk, "Chi bộ Công ty An Phát"),
        (REFORM, new.pk, "Chi bộ phường"),
    ]


def test_dissolving_with_a_decision_ends_the_state(tree, administrator):
    services.dissolve_organization(
        administrator, tree.branch_b, on=D(2025, 7, 1), decision_number="20-QĐ/TU", decision_date=D(2025, 6, 1)
    )
    (state,) = timeline(tree.branch_b)
    assert (state.valid_to, state.end_change, state.end_decision_number) == (
        D(2025, 7, 1),
        OrganizationChange.DISSOLVED,
        "20-QĐ/TU",
    )
    assert "BR-B" in [n.organization.code for n in tree_as_of(Organization.objects.all(), D(2025, 6, 30))]
    assert "BR-B" not in [n.organization.code for n in tree_as_of(Organization.objects.all(), D(2025, 7, 1))]


def test_only_administrators_restructure(tree, secretary_a, department):
    for user in (secretary_a, department):
        with pytest.raises(PermissionDenied):
            services.rename_organization(user, tree.branch_a, name="X", on=D(2025, 1, 1))
        with pytest.raises(PermissionDenied):
            services.merge_organizations(user, [tree.branch_a], tree.branch_b, on=D(2025, 1, 1))


# Codes ----------------------------------------------------------------------------------------


def test_codes_never_change_and_are_never_reused(tree, administrator):
    refusal(lambda: services.update_organization(administrator, tree.branch_a, code="NEW"), "code")
    services.dissolve_organization(administrator, tree.branch_b, on=D(2025, 1, 1))
    refusal(lambda: ward(tree, administrator, code="BR-B"), "code", "never reused")
    with pytest.raises(IntegrityError), transaction.atomic():
        OrganizationFactory(code="BR-B", parent=tree.city, locality=tree.province)


# Merges ---------------------------------------------------------------------------------------


@pytest.fixture
def two_districts(tree, administrator):
    """DIST and a second district committee, each with a branch, merging into a ward committee."""
    other = OrganizationFactory(code="DIST2", name="Quận ủy 2", parent=tree.city, locality=tree.province)
    branch_c = OrganizationFactory(
        code="BR-C", kind=OrganizationKind.GRASSROOTS_BRANCH, parent=other, locality=tree.commune
    )
    return other, branch_c


def test_merging_committees_moves_their_children_and_ends_them_merged_into_the_successor(
    tree, administrator, two_districts
):
    other, branch_c = two_districts
    new = ward(tree, administrator)
    services.merge_organizations(
        administrator, [tree.committee, other], new, on=REFORM, decision_number="30-QĐ/TU", decision_date=D(2025, 6, 1)
    )
    for organization in (tree.branch_a, tree.branch_b, branch_c):
        organization.refresh_from_db()
        assert organization.parent == new
        before, after = timeline(organization)
        assert (after.valid_from, after.parent, after.decision_number) == (REFORM, new, "30-QĐ/TU")
    for source in (tree.committee, other):
        source.refresh_from_db()
        assert source.dissolved_on == REFORM
        (state,) = timeline(source)
        assert (state.end_change, state.successor, state.valid_to) == (OrganizationChange.MERGED, new, REFORM)
    everything = Organization.objects.all()
    before = codes(tree_as_of(everything, D(2025, 6, 30)))
    assert [row[:2] for row in before] == [
        ("CITY", 1),
        ("DIST", 2),
        ("BR-A", 3),
        ("BR-B", 3),
        ("DIST2", 2),
        ("BR-C", 3),
    ]
    after = codes(tree_as_of(everything, REFORM))
    assert [row[:2] for row in after] == [("CITY", 1), ("WARD", 2), ("BR-A", 3), ("BR-B", 3), ("BR-C", 3)]


def test_merging_branches_moves_members_with_the_reason_merged_and_keeps_the_figures_above(
    tree, administrator, two_districts
):
    member_a = member_in(tree.branch_a)
    member_b = member_in(tree.branch_b, citizen_id="001190000102")
    figures = lambda: (  # noqa: E731
        fulfilment_to_dict(engine.fulfilment(tree.city, 2025, as_of=D(2025, 7, 15))),
        MembershipPeriod.objects.on(D(2025, 7, 15)).filter(organization__path__startswith=tree.city.path).count(),
    )
    before = figures()
    services.merge_organizations(administrator, [tree.branch_a], tree.branch_b, on=REFORM)
    member_a.refresh_from_db()
    assert (member_a.organization, member_a.status) == (tree.branch_b, MemberStatus.ACTIVE)
    closed, opened = MembershipPeriod.objects.filter(member=member_a).order_by("started_on")
    assert (closed.ended_on, closed.end_reason) == (REFORM, PeriodEndReason.MERGED)
    assert (opened.organization, opened.started_on, opened.ended_on) == (tree.branch_b, REFORM, None)
    assert MembershipPeriod.objects.filter(member=member_b, ended_on__isnull=True).count() == 1
    assert figures() == before  # moves inside the subtree are not movements of it


def test_a_merge_gives_role_assignments_to_the_successor(tree, administrator, secretary_a):
    assignment = RoleAssignment.objects.get(user=secretary_a)
    assert assignment.organization == tree.branch_a
    services.merge_organizations(administrator, [tree.branch_a], tree.branch_b, on=REFORM)
    assignment.refresh_from_db()
    assert (assignment.role, assignment.organization) == (RoleKey.SECRETARY, tree.branch_b)
    assert tree.branch_b.path in scope_for(secretary_a).read_paths


def test_merge_refusals_name_their_field(tree, administrator, two_districts):
    other, branch_c = two_districts
    refusal(lambda: services.merge_organizations(administrator, [], tree.branch_b, on=REFORM), "sources")
    refusal(lambda: services.merge_organizations(administrator, [tree.branch_b], tree.branch_b, on=REFORM), "into")
    refusal(lambda: services.merge_organizations(administrator, [tree.committee], tree.branch_a, on=REFORM), "into")
    # a committee's members would land in a committee: members belong to grassroots organisations
    member_in(tree.branch_a)
    refusal(lambda: services.merge_organizations(administrator, [tree.branch_a], other, on=REFORM), "into")
    # a member who joined after the date of the merge
    member_in(tree.branch_b, started_on=D(2025, 8, 1), citizen_id="001190000109")
    refusal(lambda: services.merge_organizations(administrator, [tree.branch_b], branch_c, on=REFORM), "on")
    assert not Organization.objects.filter(dissolved_on__isnull=False).exists()
    assert Member.objects.filter(organization=tree.branch_a).count() == 1


def test_merge_into_an_organisation_not_yet_established_is_refused(tree, administrator):
    new = ward(tree, administrator, on=D(2025, 8, 1))
    refusal(lambda: services.merge_organizations(administrator, [tree.committee], new, on=REFORM), "into")


def test_migration_backfilled_states_read_as_today(tree):
    """Organisations written in bulk (no states) are read from today's row."""
    rows = codes(tree_as_of(Organization.objects.all(), D(2024, 6, 1)))
    assert [row[:2] for row in rows] == [("CITY", 1), ("DIST", 2), ("BR-A", 3), ("BR-B", 3)]
    assert codes(tree_as_of(Organization.objects.all(), D(2009, 12, 31))) == []
    outsider = UserFactory()
    assert list(tree_as_of(Organization.objects.visible_to(outsider), D(2024, 6, 1))) == []


# Pages and API ----------------------------------------------------------------------------------


@pytest.fixture
def reformed(tree, administrator):
    """BR-A moved on 1 July 2025 under a new ward committee."""
    new = ward(tree, administrator)
    services.move_organization(administrator, tree.branch_a, new, on=REFORM, decision_number="15-QĐ/TU")
    return new


def test_tree_page_as_of_a_date_shows_the_tree_of_that_date(client, tree, administrator, reformed):
    client.force_login(administrator)
    url = reverse("branches:organization_tree")
    before = client.get(url, {"as_of": "2025-06-30"})
    assert before.status_code == 200
    rows = [(organization.code, organization.indent) for organization in before.context["organizations"]]
    assert rows[:2] == [("CITY", 1), ("DIST", 2)] and sorted(rows[2:]) == [("BR-A", 3), ("BR-B", 3)]
    today_page = client.get(url).content.decode()
    assert reformed.name in today_page
    bad = client.get(url, {"as_of": "30-13-2025"})
    assert bad.status_code == 200 and bad.context["as_of_form"].errors


def test_organisation_page_lists_parents_over_time(client, tree, administrator, reformed):
    client.force_login(administrator)
    response = client.get(reverse("branches:organization_detail", args=[tree.branch_a.pk]))
    before, after = response.context["timeline"]
    assert (before.parent, before.last_day, after.parent, after.valid_from) == (
        tree.committee,
        D(2025, 6, 30),
        reformed,
        REFORM,
    )
    text = response.content.decode()
    assert "30/06/2025" in text and "01/07/2025" in text and "15-QĐ/TU" in text
    # in Vietnamese, the default: "under Quận ủy … until 30/06/2025; under Đảng ủy phường … since 01/07/2025"
    assert "trực thuộc Đảng ủy Khối doanh nghiệp, từ 01/01/2010 đến 30/06/2025" in text
    assert "trực thuộc Đảng ủy phường Nghĩa Đô, từ 01/07/2025" in text


def test_api_lists_the_organisations_as_of_a_date(api, tree, reformed):
    rows = api.administrator.get(f"{API}organizations/", {"as_of": "2025-06-30"}).json()["results"]
    assert {row["code"]: row["parent"] for row in rows} == {
        "CITY": None,
        "DIST": "CITY",
        "BR-A": "DIST",
        "BR-B": "DIST",
    }
    rows = api.administrator.get(f"{API}organizations/").json()["results"]
    assert {row["code"]: row["parent"] for row in rows}["BR-A"] == "WARD"
    assert api.administrator.get(f"{API}organizations/", {"as_of": "nonsense"}).status_code == 400
    assert api.administrator.get(f"{API}organizations/", {"as_of": "1066-10-14"}).status_code == 400
    # a department user sees their subtree of today, as it stood on the date (BR-A left it on 1 July)
    rows = api.department.get(f"{API}organizations/", {"as_of": "2025-06-30"}).json()["results"]
    assert {row["code"]: row["parent"] for row in rows} == {"DIST": "CITY", "BR-B": "DIST"}


def test_api_move_rename_and_merge_with_dates_and_decisions(api, tree):
    new = OrganizationFactory(code="WARD", parent=tree.city, locality=tree.province, established_on=REFORM)
    moved = api.administrator.post(
        f"{API}organizations/{tree.branch_a.pk}/move/",
        {"parent": "WARD", "on": "2025-07-01", "decision_number": "15-QĐ/TU", "decision_date": "2025-06-20"},
        format="json",
    )
    assert moved.status_code == 200, moved.json()
    assert tree.branch_a.versions.get(valid_from=REFORM).parent == new
    refused = api.administrator.post(
        f"{API}organizations/{tree.branch_a.pk}/rename/", {"name": "X", "on": "2025-01-01"}, format="json"
    )
    assert refused.status_code == 400 and "on" in refused.json()
    renamed = api.administrator.post(
        f"{API}organizations/{tree.branch_a.pk}/rename/", {"name": "Chi bộ phường", "on": "2025-08-01"}, format="json"
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "Chi bộ phường"
    merged = api.administrator.post(
        f"{API}organizations/{tree.branch_b.pk}/merge/", {"sources": ["BR-A"], "on": "2025-09-01"}, format="json"
    )
    assert merged.status_code == 200, merged.json()
    tree.branch_a.refresh_from_db()
    assert tree.branch_a.dissolved_on == D(2025, 9, 1)
    assert (
        api.administrator.post(
            f"{API}organizations/{tree.branch_b.pk}/merge/", {"sources": ["NOPE"], "on": "2025-09-01"}, format="json"
        ).status_code
        == 400
    )
    assert api.department.post(
        f"{API}organizations/{tree.branch_b.pk}/merge/", {"sources": ["BR-B"], "on": "2025-09-01"}, format="json"
    ).status_code in (403, 404)


def test_the_data_migration_gives_each_organisation_its_state_of_today(tree):
    """Valid from its establishment, under its current parent; a dissolved one ends on its dissolution."""
    from importlib import import_module

    from django.apps import apps

    Organization.objects.filter(pk=tree.branch_b.pk).update(dissolved_on=D(2023, 1, 1))
    publish(OrganizationDissolved(tree.branch_b.pk, D(2023, 1, 1)))
    import_module("branches.migrations.0012_organization_versions").versions_from_today(apps, None)
    states = {v.organization.code: v for v in OrganizationVersion.objects.select_related("organization", "parent")}
    assert {code: (s.parent.code if s.parent else None) for code, s in states.items()} == {
        "CITY": None,
        "DIST": "CITY",
        "BR-A": "DIST",
        "BR-B": "DIST",
    }
    assert (states["BR-A"].valid_from, states["BR-A"].valid_to, states["BR-A"].name) == (
        tree.branch_a.established_on,
        None,
        tree.branch_a.name,
    )
    assert (states["BR-B"].valid_to, states["BR-B"].end_change) == (D(2023, 1, 1), OrganizationChange.DISSOLVED)
