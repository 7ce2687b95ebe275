"""The dashboard's structure and gaps: cached by data version, counted while the user waits after any
write (the standing counts make it quick), never shown stale."""

import datetime

import pytest
from django.core.cache import cache
from django.urls import reverse

from branches import services
from branches.events import Admission, AdmissionsCorrected, MembersChanged
from core.events import publish
from core.versions import bump
from enterprises.choices import OperatingStatus
from reports import figures, rollups
from tests.factories import EnterpriseFactory, MemberFactory, UserFactory

D = datetime.date
DASHBOARD = reverse("reports:dashboard")


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def admit(secretary, tree, citizen_id, **extra):
    return services.admit_member(
        secretary,
        organization=tree.branch_a,
        admitted_on=D(2024, 3, 1),
        full_name="Lê Thị Sau",
        sex="female",
        date_of_birth=D(1991, 2, 2),
        citizen_id=citizen_id,
        **extra,
    )


def dashboard(client, user):
    client.force_login(user)
    response = client.get(DASHBOARD, {"year": 2024})
    assert response.status_code == 200
    return response


def figure(response, report, metric):
    return response.context[report].row(metric).value


def test_second_dashboard_view_reads_structure_and_gaps_from_the_cache_without_a_technical_note(
    client, department, tree
):
    MemberFactory(organization=tree.branch_a, admitted_on=D(2020, 1, 1))
    first = dashboard(client, department)
    assert first.context["figures"].from_cache is False
    assert 'id="figures-cached"' not in first.content.decode()

    second = dashboard(client, department)
    assert second.context["figures"].from_cache is True
    assert 'id="figures-cached"' not in second.content.decode()
    assert figure(second, "structure", "members") == figure(first, "structure", "members")


def test_admission_through_the_service_changes_the_dashboard_figures_immediately(client, department, tree, secretary_a):
    enterprise = EnterpriseFactory(managing_committee=tree.branch_a, operating_status=OperatingStatus.OPERATING)
    before = dashboard(client, department)
    dashboard(client, department)  # now cached
    members = figure(before, "structure", "members")
    small = figure(before, "gaps", "enterprises_with_one_or_two_members")

    admit(secretary_a, tree, "001090000099", enterprise=enterprise)

    after = dashboard(client, department)
    assert after.context["figures"].from_cache is False
    assert figure(after, "structure", "members") == members + 1
    assert figure(after, "gaps", "enterprises_with_one_or_two_members") == small + 1
    assert enterprise in after.context["small_enterprises"]


def test_every_write_to_a_report_source_bumps_the_data_version(tree, secretary_a):
    version = rollups.data_version()
    member = MemberFactory(organization=tree.branch_a, admitted_on=D(2020, 1, 1))
    assert rollups.data_version() > version

    version = rollups.data_version()
    services.update_member(secretary_a, member, is_business_owner=True, position="owner")  # fields the roll-ups ignore
    assert rollups.data_version() > version

    version = rollups.data_version()
    rollups.rebuild()
    assert rollups.data_version() > version


def test_a_member_save_changing_only_fields_the_reports_do_not_read_keeps_the_figures_current(
    client, department, tree, secretary_a
):
    member = MemberFactory(organization=tree.branch_a, admitted_on=D(2020, 1, 1), enterprise=tree.enterprise_a)
    dashboard(client, department)
    version = rollups.data_version()
    services.update_member(
        secretary_a, member, full_name="Nguyễn Thị Sửa", party_card_number="SUA00001", position="manager"
    )
    unchanged = services.update_member(secretary_a, member)  # the edit form saved as it was shown
    assert unchanged.version == member.version + 1  # the first save wrote; the unchanged one wrote nothing
    assert rollups.data_version() == version
    assert dashboard(client, department).context["figures"].from_cache is True


@pytest.mark.parametrize(
    "field, change",
    [
        (
            "is_business_owner",
            lambda user, m, tree: services.update_member(user, m, is_business_owner=True, position="owner"),
        ),
        ("enterprise_id", lambda user, m, tree: services.update_member(user, m, enterprise=None)),
        ("official_on", lambda user, m, tree: services.recognize_official(user, m, official_on=D(2021, 1, 1))),
        ("status", lambda user, m, tree: services.record_leaving(user, m, on=D(2024, 1, 1), reason="resigned")),
        (
            "organization_id",
            lambda user, m, tree: services.confirm_transfer(
                UserFactory(is_superuser=True),
                services.issue_transfer(user, m, to_organization=tree.branch_b, letter_date=D(2024, 1, 1)),
                presented_on=D(2024, 1, 1),
            ),
        ),
        ("admitted_on", lambda user, m, tree: correct_admission(m, admitted_on=D(2020, 2, 1))),
        ("owner_at_admission", lambda user, m, tree: correct_admission(m, owner_at_admission=True)),
        ("admitted_by_id", lambda user, m, tree: correct_admission(m, admitted_by=tree.branch_b)),
    ],
)
def test_a_change_of_a_field_the_reports_read_bumps_the_data_version(tree, secretary_a, field, change):
    member = MemberFactory(organization=tree.branch_a, admitted_on=D(2020, 1, 1), enterprise=tree.enterprise_a)
    version = rollups.data_version()
    change(secretary_a, member, tree)
    assert rollups.data_version() > version
    assert field in rollups.REPORTED_MEMBER_FIELDS


def correct_admission(member, **changes):
    """No service corrects an admission; a data fix would, announcing it."""
    before = Admission.of(member)
    for name, value in changes.items():
        setattr(member, name, value)
    member.save()
    publish(AdmissionsCorrected(before=(before,), after=(Admission.of(member),)))


def test_the_member_fields_the_reports_do_not_read_change_no_figure(tree):
    """Every Member field outside REPORTED_MEMBER_FIELDS, changed on every member, leaves structure and
    gaps as they were (a new report figure reading another field must add it to the tuple)."""
    from branches.models import Member
    from reports import engine

    # Enterprises without a Party organisation: one with three official members (eligible), one
    # with two members (small); business owners in both; branch B admitted recently, branch A not.
    eligible = EnterpriseFactory(managing_committee=tree.committee, locality=tree.commune)
    small = EnterpriseFactory(managing_committee=tree.committee, locality=tree.commune)
    for index, (branch, enterprise, admitted_on, official_on, owner) in enumerate(
        [
            (tree.branch_a, eligible, D(2019, 1, 1), D(2020, 1, 1), True),
            (tree.branch_a, eligible, D(2019, 2, 1), D(2020, 2, 1), False),
            (tree.branch_a, eligible, D(2019, 3, 1), D(2020, 3, 1), False),
            (tree.branch_b, small, D(2023, 4, 1), None, True),
            (tree.branch_b, small, D(2024, 5, 1), None, False),
            (tree.branch_b, tree.enterprise_b, D(2024, 6, 1), None, False),
        ]
    ):
        MemberFactory(
            organization=branch,
            enterprise=enterprise,
            admitted_on=admitted_on,
            official_on=official_on,
            is_business_owner=owner,
            date_of_birth=D(1980 + index, 1, 1),
        )
    date = D(2024, 12, 31)

    def figures_now():
        structure, gaps = engine.structure(tree.city, date), engine.gaps(tree.city, date)
        return (
            [(part.organization.pk, [(r.metric, r.value, r.total) for r in part.rows]) for part in structure.children],
            [(r.metric, r.value, r.total) for r in structure.rows],
            [(r.metric, r.value, r.total) for r in gaps.rows],
            [e.pk for e in gaps.eligible_enterprises],
            [e.pk for e in gaps.small_enterprises],
            [o.pk for o in gaps.stagnant_organizations],
        )

    before = figures_now()
    assert before[3] == [eligible.pk] and small.pk in before[4] and before[5] == [tree.branch_a.pk]
    changes = {
        "full_name": lambda m, i: "Tên Khác",
        "sex": lambda m, i: "female" if m.sex == "male" else "male",
        "date_of_birth": lambda m, i: m.date_of_birth - datetime.timedelta(days=400),
        "citizen_id": lambda m, i: f"0010990{i:05d}",
        "party_card_number": lambda m, i: f"KHAC{i:06d}",
        "position": lambda m, i: "manager" if m.position != "manager" else "worker",
        # The admission's and the recognition's decisions, the review and the ceremony: not read either.
        "dossier_reviewed_on": lambda m, i: m.admitted_on,
        "over_age_approved": lambda m, i: True,
        "over_age_approval_reference": lambda m, i: "1-CV/TU",
        "admission_decision_number": lambda m, i: f"{i}-QĐ/ĐU",
        "admission_decided_by": lambda m, i: "Đảng ủy cấp trên",
        "ceremony_on": lambda m, i: m.admitted_on,
        "recognition_decision_number": lambda m, i: f"{i}-QĐ/CT",
        "recognition_decided_on": lambda m, i: m.admitted_on,
        # The profile (form 2-HSĐV): read by the statutory forms only (their counts follow the event).
        "ethnicity": lambda m, i: "02",
        "religion": lambda m, i: "buddhism",
        "general_education": lambda m, i: "12/12",
        "professional_qualification": lambda m, i: "university",
        "political_theory": lambda m, i: "elementary",
        "youth_union_member_at_admission": lambda m, i: True,
        "hometown": lambda m, i: "Huế",
    }
    bookkeeping = {"id", "created", "updated", "version", "search_name", "sort_name"}  # keys follow full_name
    unread = {f.attname for f in Member._meta.concrete_fields} - set(rollups.REPORTED_MEMBER_FIELDS) - bookkeeping
    assert unread == set(changes), "a Member field is neither reported nor checked here: is it read by the reports?"
    for index, member in enumerate(Member.objects.all()):
        for name, change in changes.items():
            setattr(member, name, change(member, index))
        member.save()
    publish(MembersChanged(tuple(Member.objects.values_list("pk", flat=True)), frozenset(changes)))  # as a service does
    assert figures_now() == before


def test_the_cache_keeps_the_totals_and_lists_the_dashboard_shows_not_the_committees_below(tree):
    MemberFactory(organization=tree.branch_a, admitted_on=D(2020, 1, 1))
    counted = figures.count(tree.city, D(2024, 12, 31))
    cached = figures.structure_and_gaps(tree.city, D(2024, 12, 31))
    assert cached.from_cache is True
    assert cached.structure.row("members").value == counted.structure.row("members").value == 1
    assert cached.structure.children == [] and cached.gaps.children == []
    assert [o.pk for o in cached.gaps.stagnant_organizations] == [o.pk for o in counted.gaps.stagnant_organizations]


def test_cached_figures_are_per_committee_and_date(client, department, administrator, tree):
    MemberFactory(organization=tree.branch_a, admitted_on=D(2020, 1, 1))
    dashboard(client, department)
    client.force_login(administrator)
    other = client.get(DASHBOARD, {"year": 2024, "organization": tree.city.code})
    assert other.status_code == 200
    assert other.context["figures"].from_cache is False
    assert other.context["structure"].organization == tree.city
    earlier = client.get(DASHBOARD, {"year": 2023, "organization": tree.committee.code})
    assert earlier.context["figures"].from_cache is False
    assert earlier.context["structure"].date == D(2023, 12, 31)


def test_writes_bump_the_data_version_once_more_after_their_commit(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        MemberFactory(admitted_on=D(2020, 1, 1))
        MemberFactory(admitted_on=D(2021, 1, 1))
        version_before_commit = rollups.data_version()
    # One post-commit bump for the whole transaction, however many rows it wrote.
    assert [callback for callback in callbacks if callback is bump] == [bump]
    assert rollups.data_version() == version_before_commit + 1


@pytest.fixture
def queued(settings):
    """Tasks are queued and not run (django-tasks' dummy backend): the list of their results."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    from django_tasks import default_task_backend

    return default_task_backend.results


def test_the_dashboard_shows_the_figures_of_now_right_after_a_write_with_no_recount_queued(
    client, department, tree, secretary_a, queued
):
    enterprise = EnterpriseFactory(managing_committee=tree.branch_a, operating_status=OperatingStatus.OPERATING)
    members = figure(dashboard(client, department), "structure", "members")
    dashboard(client, department)  # cached now

    admit(secretary_a, tree, "001091000001", enterprise=enterprise, is_business_owner=True, position="owner")
    after = dashboard(client, department)

    assert figure(after, "structure", "members") == members + 1
    assert enterprise in after.context["small_enterprises"]
    assert after.context["figures"].from_cache is False
    assert "stale" not in after.content.decode()
    assert queued == []
    assert not hasattr(figures, "recount")
