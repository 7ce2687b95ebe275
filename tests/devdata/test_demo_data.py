"""The demo data reproduces every reference figure of DOMAIN.md, checked here by direct queries
(not through the report engine), and obeys the rules the services enforce."""

import datetime
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count, Exists, F, OuterRef, Q, Sum

from branches.choices import GRASSROOTS_KINDS, MemberStatus, OrganizationKind, PeriodEndReason, ProspectStage, RoleKey
from branches.models import Member, MembershipPeriod, Organization, Prospect, RoleAssignment
from core.dates import age_on
from core.validators import validate_tax_code
from devdata import demo as demo_module
from devdata import demo_data
from enterprises.choices import LocalityKind, MassOrganizationKind, Ownership, SizeClass
from enterprises.models import Enterprise, Locality, LocalityVersion, MassOrganization, MembershipReturn
from enterprises.structure import locality_on, locality_tree_as_of
from reports.dated_tree import DatedTree
from reports.metrics import Metric
from reports.models import Target

pytestmark = pytest.mark.django_db

D = datetime.date
YEAR_2024 = (D(2024, 1, 1), D(2024, 12, 31))
SINCE_2012 = (D(2012, 2, 27), D(2024, 12, 31))
END_2024 = D(2024, 12, 31)
TU, YU = MassOrganizationKind.TRADE_UNION, MassOrganizationKind.YOUTH_UNION


def organizations_established(root, start, end):
    return Organization.objects.filter(
        path__startswith=root.path, kind__in=GRASSROOTS_KINDS, established_on__range=(start, end)
    ).count()


def subtree_on(root, on):
    """The ids of the organisations in ``root``'s subtree on ``on``: the tree of that date (the
    demo moved the district committees' organisations to the ward committees on 1 July 2025)."""
    tree = DatedTree(on)
    return [pk for pk, path in Organization.objects.values_list("pk", "path") if tree.row_of(path, root.path)]


def admissions(root, start, end, **filters):
    return Member.objects.filter(
        admitted_by_id__in=subtree_on(root, end), admitted_on__range=(start, end), **filters
    ).count()


def unions_established(root, start, end, kinds):
    return MassOrganization.objects.filter(
        enterprise__managing_committee__path__startswith=root.path, kind__in=kinds, established_on__range=(start, end)
    ).count()


def union_members_admitted(root, start, end, kinds):
    return MembershipReturn.objects.filter(
        mass_organization__enterprise__managing_committee__path__startswith=root.path,
        mass_organization__kind__in=kinds,
        date__range=(start, end),
    ).aggregate(total=Sum("members_admitted"))["total"]


def in_force(root, on):
    return MembershipPeriod.objects.filter(
        Q(started_on__lte=on),
        Q(ended_on__isnull=True) | Q(ended_on__gt=on),
        organization_id__in=subtree_on(root, on),
    )


def model_counts():
    models = (
        Locality,
        Organization,
        Enterprise,
        Member,
        MembershipPeriod,
        Prospect,
        MassOrganization,
        MembershipReturn,
        Target,
        RoleAssignment,
        get_user_model(),
    )
    return {model.__name__: model.objects.count() for model in models}


# Hanoi, 2024 --------------------------------------------------------------------------------------


def test_hanoi_targets_of_the_committees_below_the_city_add_up_to_the_city_plan(demo):
    below = Organization.objects.filter(path__startswith=demo.hn.path, depth=demo.hn.depth + 1).active_on(END_2024)
    assert 4 <= below.count() <= 6
    sums = dict(
        Target.objects.filter(year=2024, committee__in=below).values_list("metric").annotate(total=Sum("value"))
    )
    assert sums == {
        Metric.PARTY_ORGS_ESTABLISHED: 90,
        Metric.MEMBERS_ADMITTED: 903,
        Metric.TRADE_UNIONS_ESTABLISHED: 350,
        Metric.TRADE_UNION_MEMBERS_ADMITTED: 30_000,
        Metric.YOUTH_UNIONS_ESTABLISHED: 200,
        Metric.YOUTH_UNION_MEMBERS_ADMITTED: 5000,
    }
    for committee in below:
        assert Target.objects.filter(year=2024, committee=committee).count() == 6


def test_hanoi_city_has_no_target_of_its_own_and_no_mass_organisation_or_owner_target(demo):
    assert not Target.objects.filter(committee=demo.hn).exists()
    hanoi_targets = Target.objects.filter(committee__path__startswith=demo.hn.path)
    assert not hanoi_targets.filter(
        metric__in=[Metric.MASS_ORGS_ESTABLISHED, Metric.MASS_ORG_MEMBERS_ADMITTED, Metric.OWNERS_ADMITTED]
    ).exists()


def test_hanoi_2024_organisations_established_and_members_admitted(demo):
    assert organizations_established(demo.hn, *YEAR_2024) == 100
    assert admissions(demo.hn, *YEAR_2024) == 1024
    assert admissions(demo.hn, *YEAR_2024, owner_at_admission=True) == 13


def test_hanoi_2024_trade_and_youth_unions(demo):
    assert unions_established(demo.hn, *YEAR_2024, [TU]) == 847
    assert unions_established(demo.hn, *YEAR_2024, [YU]) == 216
    assert unions_established(demo.hn, *YEAR_2024, MassOrganizationKind.values) == 1063
    assert union_members_admitted(demo.hn, *YEAR_2024, [TU]) == 122_063
    assert union_members_admitted(demo.hn, *YEAR_2024, [YU]) == 6912
    assert union_members_admitted(demo.hn, *YEAR_2024, MassOrganizationKind.values) == 128_975


def test_hanoi_2024_union_members_include_founding_returns_and_returns_of_older_unions(demo):
    hanoi_2024 = MembershipReturn.objects.filter(
        mass_organization__enterprise__managing_committee__path__startswith=demo.hn.path, date__range=YEAR_2024
    )
    assert hanoi_2024.filter(is_founding=True).count() == 847 + 216
    assert hanoi_2024.filter(is_founding=False, mass_organization__established_on__lt=YEAR_2024[0]).exists()


# Hanoi since Resolution 09-NQ/TU (27 February 2012) ---------------------------------------------------


def test_hanoi_since_27_february_2012(demo):
    assert organizations_established(demo.hn, *SINCE_2012) == 1931
    assert admissions(demo.hn, *SINCE_2012) == 12_717
    assert admissions(demo.hn, *SINCE_2012, owner_at_admission=True) == 67
    assert unions_established(demo.hn, *SINCE_2012, [TU, YU]) == 8655
    assert union_members_admitted(demo.hn, *SINCE_2012, [TU, YU]) == 587_258
    # No other kind of mass organisation in Hanoi: the all-kinds figures are the same.
    assert unions_established(demo.hn, *SINCE_2012, MassOrganizationKind.values) == 8655
    assert union_members_admitted(demo.hn, *SINCE_2012, MassOrganizationKind.values) == 587_258


def test_hanoi_history_before_2012_makes_the_start_date_matter(demo):
    day_before = D(2012, 2, 26)
    end = SINCE_2012[1]
    assert organizations_established(demo.hn, day_before, end) > 1931
    assert admissions(demo.hn, day_before, end) > 12_717
    assert unions_established(demo.hn, day_before, end, [TU, YU]) > 8655
    assert union_members_admitted(demo.hn, day_before, end, [TU, YU]) > 587_258
    # Events on the start date itself count.
    assert organizations_established(demo.hn, *SINCE_2012) > organizations_established(demo.hn, D(2012, 2, 28), end)
    assert admissions(demo.hn, *SINCE_2012) > admissions(demo.hn, D(2012, 2, 28), end)
    early = D(2000, 1, 1)
    assert organizations_established(demo.hn, early, day_before) > 100
    assert admissions(demo.hn, early, day_before) > 1000
    assert unions_established(demo.hn, early, day_before, [TU, YU]) > 100


def test_hanoi_records_after_2024_fall_in_its_fixed_history_or_around_the_day_of_loading(demo):
    """2025 and 2026 go on (the reform, admissions, new branches) up to DEMO_END; only the few
    probationers placed relative to the day of loading may come later."""
    hanoi = Q(organization__path__startswith=demo.hn.path)
    later = MembershipPeriod.objects.filter(hanoi, started_on__gt=demo_data.DEMO_END)
    assert set(later.values_list("organization__code", flat=True)) <= {"HN-CG-HONGHA"}
    assert MembershipPeriod.objects.filter(hanoi, started_on__gt=END_2024).count() > 600
    assert not MembershipPeriod.objects.filter(hanoi, ended_on__gt=END_2024).exists()
    assert not Organization.objects.filter(
        path__startswith=demo.hn.path, established_on__gt=demo_data.DEMO_END
    ).exists()
    dissolved = Organization.objects.filter(path__startswith=demo.hn.path, dissolved_on__gt=END_2024)
    assert set(dissolved.values_list("dissolved_on", flat=True)) == {demo_data.REFORM}


# Hanoi gaps on 31 December 2024 -------------------------------------------------------------------


def hanoi_enterprises_with_member_counts(root, on):
    in_force_there = MembershipPeriod.objects.filter(
        Q(started_on__lte=on), Q(ended_on__isnull=True) | Q(ended_on__gt=on), member__enterprise=OuterRef("pk")
    )
    in_force_on = Q(members__periods__started_on__lte=on) & (
        Q(members__periods__ended_on__isnull=True) | Q(members__periods__ended_on__gt=on)
    )
    return Enterprise.objects.filter(managing_committee__path__startswith=root.path).annotate(
        has_party_organization=Exists(
            Organization.objects.filter(
                Q(established_on__lte=on),
                Q(dissolved_on__isnull=True) | Q(dissolved_on__gt=on),
                enterprise=OuterRef("pk"),
            )
        ),
        active=Count("members", filter=in_force_on, distinct=True),
        official=Count("members", filter=in_force_on & Q(members__official_on__lte=on), distinct=True),
        in_force=Exists(in_force_there),
    )


def test_hanoi_118_enterprises_eligible_for_a_party_organisation_and_317_with_one_or_two_members(demo):
    enterprises = hanoi_enterprises_with_member_counts(demo.hn, END_2024).filter(has_party_organization=False)
    assert enterprises.filter(official__gte=3).count() == 118
    assert enterprises.filter(active__gte=1, active__lte=2).count() == 317
    # Counting official members only, or members with a period in force on the date, gives the same sets.
    assert enterprises.filter(official__gte=1, official__lte=2).count() == 317
    assert enterprises.filter(active__gte=3).count() == 118
    assert enterprises.filter(in_force=True).count() == 118 + 317


def test_hanoi_gap_members_belong_to_branches_combining_several_enterprises(demo):
    gap_enterprises = hanoi_enterprises_with_member_counts(demo.hn, END_2024).filter(
        has_party_organization=False, active__gte=1
    )
    members = Member.objects.filter(enterprise__in=gap_enterprises, status=MemberStatus.ACTIVE)
    assert members.exists()
    assert not members.exclude(organization__enterprise__isnull=True).exists()
    assert not members.exclude(organization__kind=OrganizationKind.GRASSROOTS_BRANCH).exists()
    combining = Organization.objects.filter(pk__in=members.values("organization"))
    enterprises_per_branch = combining.annotate(n=Count("members__enterprise", distinct=True))
    assert all(n > 1 for n in enterprises_per_branch.values_list("n", flat=True))


# Quảng Ninh on 31 December 2024 ----------------------------------------------------------------------


def test_quang_ninh_structure_at_the_end_of_2024(demo):
    active = Organization.objects.filter(path__startswith=demo.qn.path).active_on(END_2024)
    grassroots_committees = active.filter(kind=OrganizationKind.GRASSROOTS_COMMITTEE)
    assert grassroots_committees.count() == 30
    assert active.filter(kind=OrganizationKind.SUBORDINATE_BRANCH).count() == 410
    under_them = Q()
    for committee in grassroots_committees:
        under_them |= Q(path__startswith=committee.path)
    assert active.filter(under_them, kind=OrganizationKind.SUBORDINATE_BRANCH).count() == 410
    assert active.filter(kind=OrganizationKind.GRASSROOTS_BRANCH).count() == 13
    assert in_force(demo.qn, END_2024).values("member").distinct().count() == 5482
    # Status and open periods agree with the periods in force (nobody leaves Quảng Ninh after 2024).
    active_members = Member.objects.filter(organization__path__startswith=demo.qn.path, status=MemberStatus.ACTIVE)
    assert active_members.filter(admitted_on__lte=END_2024).count() == 5482


def test_quang_ninh_has_dissolved_organisations_that_no_longer_count(demo):
    dissolved = Organization.objects.filter(path__startswith=demo.qn.path, dissolved_on__lte=END_2024)
    assert dissolved.filter(kind=OrganizationKind.SUBORDINATE_BRANCH).count() >= 2
    assert not MembershipPeriod.objects.filter(organization__in=dissolved, ended_on__isnull=True).exists()


def test_cam_pha_branches_members_and_business_owners(demo):
    branch_kinds = [OrganizationKind.GRASSROOTS_BRANCH, OrganizationKind.SUBORDINATE_BRANCH]
    branches = Organization.objects.filter(pk__in=subtree_on(demo.cam_pha, END_2024), kind__in=branch_kinds)
    assert branches.active_on(END_2024).count() == 28
    periods = in_force(demo.cam_pha, END_2024)
    assert periods.values("member").distinct().count() == 461
    owners = periods.filter(member__is_business_owner=True)
    assert owners.values("member").distinct().count() == 19
    assert owners.values("organization").distinct().count() == 15


def test_cam_pha_two_branches_dissolved_in_2024_with_members_sent_to_their_places_of_residence(demo):
    dissolved = Organization.objects.filter(pk__in=subtree_on(demo.cam_pha, END_2024), dissolved_on__year=2024)
    assert sorted(dissolved.values_list("enterprise__name", flat=True)) == [
        "Công ty Cổ phần Phát triển Nhà Cẩm Phả",
        "Doanh nghiệp Phú Cường",
    ]
    for branch in dissolved:
        closed = MembershipPeriod.objects.filter(organization=branch, end_reason=PeriodEndReason.DISSOLVED)
        assert closed.exists()
        assert not closed.exclude(ended_on=branch.dissolved_on).exists()
        assert not MembershipPeriod.objects.filter(organization=branch, ended_on__isnull=True).exists()
        assert set(Member.objects.filter(periods__in=closed).values_list("status", flat=True)) == {
            MemberStatus.TRANSFERRED_TO_RESIDENCE
        }


def test_uong_bi_admitted_16_by_september_against_a_plan_of_25_and_more_later(demo):
    assert demo.uong_bi.name == "Đảng ủy các đơn vị kinh tế tư nhân thành phố Uông Bí"
    assert admissions(demo.uong_bi, D(2024, 1, 1), D(2024, 9, 30)) == 16
    later = admissions(demo.uong_bi, D(2024, 10, 1), D(2024, 12, 31))
    assert 1 <= later <= 5
    target = Target.objects.get(committee=demo.uong_bi, year=2024, metric=Metric.MEMBERS_ADMITTED)
    assert target.value == 25
    assert round(16 / target.value * 100, 1) == 64.0


def test_cai_lan_branch_admitted_nobody_since_2019_and_is_still_active(demo):
    branch = demo.cai_lan
    assert branch.kind == OrganizationKind.GRASSROOTS_BRANCH
    assert branch.established_on == D(2012, 2, 1)
    assert branch.is_active_on(END_2024)
    assert branch.enterprise.name == "Công ty TNHH Sản xuất Nguyên liệu Giấy Việt Nhật Cái Lân"
    assert branch.enterprise.ownership == Ownership.FOREIGN_INVESTED
    assert branch.enterprise.industrial_park == "Khu công nghiệp Cái Lân"
    last = Member.objects.filter(admitted_by=branch).order_by("-admitted_on").first()
    assert last.admitted_on.year == 2019
    assert not Member.objects.filter(admitted_by=branch, admitted_on__gt=D(2021, 12, 31)).exists()
    assert in_force(branch, END_2024).exists()


# Rules the services enforce --------------------------------------------------------------------------


def test_both_trees_are_consistent_for_treebeard(demo):
    assert Organization.objects.find_problems() == ([], [], [], [], [])
    assert Locality.objects.find_problems() == ([], [], [], [], [])
    for model in (Organization, Locality):
        paths = list(model.objects.values_list("path", "numchild"))
        children = {}
        for path, _n in paths:
            children[path[: -model.steplen]] = children.get(path[: -model.steplen], 0) + 1
        assert all(children.get(path, 0) == numchild for path, numchild in paths)


def test_organisations_sit_under_parents_of_the_allowed_kind(demo):
    kinds = dict(Organization.objects.values_list("path", "kind"))
    for path, kind in kinds.items():
        if len(path) == Organization.steplen:
            assert kind == OrganizationKind.COMMITTEE
            continue
        parent_kind = kinds[path[: -Organization.steplen]]
        if kind == OrganizationKind.SUBORDINATE_BRANCH:
            assert parent_kind == OrganizationKind.GRASSROOTS_COMMITTEE, path
        else:
            assert parent_kind == OrganizationKind.COMMITTEE, path
    assert not Organization.objects.filter(kind=OrganizationKind.COMMITTEE, enterprise__isnull=False).exists()
    assert Organization.objects.filter(code__in=["HN", "QN"], depth=1).count() == 2


def test_every_tax_code_is_valid_and_carries_its_province_prefix(demo):
    codes = list(Enterprise.objects.values_list("tax_code", "locality__path"))
    for code, _path in codes:
        validate_tax_code(code)
    hanoi, quang_ninh = Locality.objects.get(code="01"), Locality.objects.get(code="22")
    assert all(code.startswith("01") for code, path in codes if path.startswith(hanoi.path))
    assert all(code.startswith("57") for code, path in codes if path.startswith(quang_ninh.path))
    assert any("-" in code for code, _path in codes)


def test_citizen_ids_are_unique_twelve_digits(demo):
    ids = list(Member.objects.values_list("citizen_id", flat=True))
    assert len(ids) == len(set(ids))
    assert all(len(i) == 12 and i.isdigit() for i in ids)
    cards = [c for c in Member.objects.values_list("party_card_number", flat=True) if c]
    assert len(cards) == len(set(cards))


def test_every_member_was_at_least_18_when_admitted(demo):
    for born, admitted in Member.objects.values_list("date_of_birth", "admitted_on").iterator():
        assert age_on(born, admitted) >= 18


def test_membership_periods_are_half_open_and_never_overlap(demo):
    periods = {}
    for member_id, org_id, start, end, reason in (
        MembershipPeriod.objects.order_by("member_id", "started_on", "id")
        .values_list("member_id", "organization_id", "started_on", "ended_on", "end_reason")
        .iterator()
    ):
        periods.setdefault(member_id, []).append((org_id, start, end, reason))
    members = Member.objects.values_list(
        "pk", "admitted_on", "admitted_by_id", "organization_id", "status", "official_on"
    )
    for pk, admitted_on, admitted_by, organization, status, official_on in members.iterator():
        rows = periods[pk]
        assert rows[0][0] == admitted_by and rows[0][1] == admitted_on
        assert sum(1 for r in rows if r[2] is None) <= 1
        for (_o, _s, end, _reason), (_o2, next_start, _e, _r) in zip(rows, rows[1:], strict=False):
            assert end is not None and end <= next_start
        for _o, start, end, reason in rows:
            assert (end is None) == (reason == "")
            assert end is None or end >= start
        assert rows[-1][0] == organization
        assert (status == MemberStatus.ACTIVE) == (rows[-1][2] is None)
        assert official_on is None or official_on >= admitted_on
    # Transfers open the next period on the day the previous one closed.
    assert MembershipPeriod.objects.filter(end_reason=PeriodEndReason.TRANSFER).exists()


def test_owners_are_recorded_as_owners_at_admission(demo):
    owners_at_admission = Member.objects.filter(owner_at_admission=True)
    assert owners_at_admission.exists()
    assert not owners_at_admission.filter(is_business_owner=False).exists()
    assert Member.objects.filter(is_business_owner=True, owner_at_admission=False).exists()


def test_vietnamese_names_keep_their_diacritics(demo):
    assert Locality.objects.get(code="01").name == "Thành phố Hà Nội"
    assert Locality.objects.filter(name="Phường Bãi Cháy").exists()
    assert demo.cai_lan.name == "Chi bộ Công ty TNHH Sản xuất Nguyên liệu Giấy Việt Nhật Cái Lân"
    assert Organization.objects.get(code="HN").name == "Thành ủy Hà Nội"
    assert Member.objects.filter(full_name="Lê Trọng Thành", organization__code="QN-UB-THANHDAT").exists()
    assert Member.objects.filter(full_name__startswith="Nguyễn ").count() > 1000
    for model in (Organization, Enterprise):
        assert not model.objects.values("name").annotate(n=Count("pk")).filter(n__gt=1).exists()


def test_localities_cover_hanoi_districts_and_quang_ninh_cities(demo):
    """In 2024 (the districts ended with the reform: see the next test)."""
    nodes = locality_tree_as_of(Locality.objects.all(), END_2024)
    by_code = {node.locality.code: node for node in nodes}
    hanoi, quang_ninh = by_code["01"], by_code["22"]
    below = {}
    for node in nodes:
        below.setdefault(node.parent_id, []).append(node)
    hanoi_districts = below[hanoi.locality.pk]
    assert len(hanoi_districts) >= 4
    assert sum(len(below.get(district.locality.pk, [])) for district in hanoi_districts) >= 20
    names = {node.name for node in below[quang_ninh.locality.pk]}
    assert {"Thành phố Uông Bí", "Thành phố Cẩm Phả", "Thành phố Hạ Long", "Thị xã Quảng Yên"} <= names


def test_localities_follow_the_district_abolition_and_ward_merges_of_the_reform(demo):
    """On 1 July 2025 every district ends, its wards move up under the province, and the wards of
    the districts whose committees ended merge into the new wards (Nghĩa Tân into Nghĩa Đô)."""
    day_before = demo_data.REFORM - datetime.timedelta(days=1)
    hanoi = Locality.objects.get(code="01")
    assert not Locality.objects.filter(kind=LocalityKind.DISTRICT, ended_on__isnull=True).exists()
    assert not Locality.objects.current().filter(depth__gt=2).exists()
    nghia_do, nghia_tan = Locality.objects.get(code="00157"), Locality.objects.get(code="00160")
    assert Locality.objects.get_parent(nghia_do) == hanoi and nghia_tan.ended_on == demo_data.REFORM
    assert LocalityVersion.objects.get(locality=nghia_tan).successor == nghia_do
    as_of = {locality.code: locality for locality in Locality.objects.as_of(day_before)}
    assert as_of["00157"].parent_code_as_of == "005" and "00160" in as_of
    assert Locality.objects.get(code="00169").name == "Phường Cầu Giấy"
    assert as_of["00169"].name_as_of == "Phường Quan Hoa"
    moved = Enterprise.objects.filter(locality_periods__locality=nghia_tan).distinct()
    assert moved.exists()
    for enterprise in moved:
        assert enterprise.locality == nghia_do
        assert locality_on(enterprise, day_before) == nghia_tan
        assert locality_on(enterprise, demo_data.REFORM) == nghia_do
    assert not Enterprise.objects.filter(locality__ended_on__isnull=False).exists()
    assert not Organization.objects.filter(
        established_on__gte=demo_data.REFORM, locality__ended_on__lte=F("established_on")
    ).exists()


def test_enterprises_of_every_ownership_size_and_mass_organisations_of_every_kind(demo):
    assert set(Enterprise.objects.values_list("ownership", flat=True)) == set(Ownership.values)
    assert set(Enterprise.objects.values_list("size_class", flat=True)) == set(SizeClass.values)
    assert set(MassOrganization.objects.values_list("kind", flat=True)) == set(MassOrganizationKind.values)
    several = MassOrganization.objects.annotate(n=Count("returns")).filter(n__gte=3)
    assert several.count() > 1000
    assert not MassOrganization.objects.exclude(returns__is_founding=True).exists()
    founding = MembershipReturn.objects.filter(is_founding=True)
    assert not founding.exclude(date=F("mass_organization__established_on")).exists()


def test_returns_fall_within_the_life_of_their_mass_organisation(demo):
    returns = MembershipReturn.objects
    assert not returns.filter(date__lt=F("mass_organization__established_on")).exists()
    assert not returns.filter(date__gt=F("mass_organization__dissolved_on")).exists()
    assert not returns.filter(is_founding=True).exclude(members_admitted=F("members_total")).exists()


def test_prospects_at_every_stage_and_admitted_ones_linked_to_their_member(demo):
    assert set(Prospect.objects.values_list("stage", flat=True)) == set(ProspectStage.values)
    admitted = Prospect.objects.filter(stage=ProspectStage.ADMITTED).select_related("member")
    assert admitted.exists()
    for prospect in admitted:
        assert prospect.member.admitted_on == prospect.closed_on
        assert prospect.member.admitted_by_id == prospect.organization_id
        assert prospect.member.citizen_id == prospect.citizen_id
        assert prospect.identified_on <= prospect.course_completed_on <= prospect.dossier_completed_on


def test_demo_secretary_branch_has_members_prospects_and_a_trade_union(demo):
    branch = demo.hong_ha
    assert branch.parent.code == "HN-NGHIADO"
    assert branch.versions.order_by("valid_from").first().parent.code == "HN-CG"
    assert Member.objects.filter(organization=branch, status=MemberStatus.ACTIVE).count() >= 5
    assert Member.objects.filter(admitted_by=branch, admitted_on__year=2024).exists()
    stages = set(Prospect.objects.filter(organization=branch).values_list("stage", flat=True))
    assert stages == set(ProspectStage.values)
    assert MassOrganization.objects.filter(enterprise=branch.enterprise, kind=TU).exists()
    # What the demo secretary sees through the scoping gate: their branch, nothing else.
    secretary = demo.secretary
    assert set(Member.objects.visible_to(secretary).values_list("organization_id", flat=True)) == {branch.pk}
    assert Prospect.objects.visible_to(secretary).count() == Prospect.objects.filter(organization=branch).count()
    assert MassOrganization.objects.visible_to(secretary).filter(kind=TU, enterprise=branch.enterprise).exists()


def test_demo_users_hold_their_roles_and_their_printed_passwords_work(demo):
    expected = {
        "bithu.hongha": (RoleKey.SECRETARY, "HN-CG-HONGHA"),
        "bantochuc.hn": (RoleKey.DEPARTMENT, "HN"),
        "quantri": (RoleKey.ADMINISTRATOR, None),
        "bantochuc.qn": (RoleKey.DEPARTMENT, "QN"),
        "bithu.cailan": (RoleKey.SECRETARY, "QN-HL-CAILAN"),
    }
    for username, (role, code) in expected.items():
        user = get_user_model().objects.get(username=username)
        assert user.check_password(demo.passwords[username])
        assert RoleAssignment.objects.filter(user=user, role=role, organization__code=code).exists()
    assert demo.administrator.is_staff
    assert not demo.secretary.is_staff
    assert Member.objects.visible_to(demo.secretary).count() < Member.objects.visible_to(demo.department).count()


def test_report_roll_ups_match_a_recount_of_the_demo_records(demo):
    from reports import rollups

    assert rollups.differences() == (0, [])


def test_load_demo_again_changes_nothing_and_prints_the_logins(demo):
    before = model_counts()
    user = get_user_model().objects.get(username="quantri")
    user.set_password("something else")
    user.save()
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    assert model_counts() == before
    printed = out.getvalue()
    for role, username, password, _code in demo_data.DEMO_USERS:
        assert f"{role}" in printed and username in printed and password in printed
    assert get_user_model().objects.get(username="quantri").check_password(demo.passwords["quantri"])
    call_command("load_demo", "--if-empty", stdout=io.StringIO())
    assert model_counts() == before


def test_load_demo_again_writes_nothing_when_the_logins_are_unchanged(demo):
    call_command("load_demo", stdout=io.StringIO())  # settles the hashes on this run's password hasher
    before = {u.username: (u.password, u.is_staff) for u in get_user_model().objects.all()}
    call_command("load_demo", stdout=io.StringIO())
    assert {u.username: (u.password, u.is_staff) for u in get_user_model().objects.all()} == before


def test_load_demo_if_empty_leaves_a_database_with_other_organisations_alone(demo, monkeypatch):
    before = model_counts()
    monkeypatch.setattr(demo_module, "is_loaded", lambda: False)
    out = io.StringIO()
    call_command("load_demo", "--if-empty", stdout=out)
    assert "not loaded" in out.getvalue()
    assert model_counts() == before
