"""The member lifecycle as the Party's rules set it, at their boundaries.

Admission age on the review date (Điều lệ Đảng, Điều 4; Hướng dẫn 06-HD/TW), a complete dossier,
the ceremony within 30 working days of the decision (Quy định 294-QĐ/TW), 12 months of probation
from the ceremony (Điều lệ Đảng, Điều 5), the position and business-owner flag, and the decision
or letter behind every lifecycle step — through the services, the pages, the API and the importer.
"""

import csv
import datetime
import io

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from branches import services
from branches.choices import PeriodEndReason, Position, ProspectStage
from branches.models import Member
from core.workdays import add_working_days, forget_calendar
from dataio.exports import export_file
from dataio.imports import import_members
from tests.api_conftest import *  # noqa: F403
from tests.api_conftest import API
from tests.factories import MemberFactory, OrganizationFactory, ProspectFactory
from tests.scoped_views import login

D = datetime.date


@pytest.fixture(autouse=True)
def _fresh_calendar():
    forget_calendar()
    yield
    forget_calendar()


def refusal(call, field):
    with pytest.raises(ValidationError) as exc:
        call()
    errors = exc.value.message_dict
    assert field in errors, errors
    return errors[field]


def admit(user, organization, **overrides):
    fields = dict(
        organization=organization,
        admitted_on=D(2024, 3, 1),
        full_name="Lê Thị Hồng",
        sex="female",
        date_of_birth=D(1990, 1, 1),
        citizen_id="001190000001",
    )
    fields.update(overrides)
    return services.admit_member(user, **fields)


# Admission age on the date the branch reviews the dossier ---------------------------------


def test_eighteenth_birthday_on_the_review_date_is_admitted(tree, secretary_a):
    member = admit(secretary_a, tree.branch_a, date_of_birth=D(2006, 3, 1), dossier_reviewed_on=D(2024, 3, 1))
    assert member.dossier_reviewed_on == D(2024, 3, 1)


def test_one_day_short_of_eighteen_on_the_review_date_is_refused(tree, secretary_a):
    refusal(lambda: admit(secretary_a, tree.branch_a, date_of_birth=D(2006, 3, 2)), "date_of_birth")
    assert not Member.objects.exists()


def test_age_counts_on_the_review_date_not_on_the_decision(tree, secretary_a):
    # Eighteen on 10 March: the branch met on 5 March, the decision came on 15 March.
    refusal(
        lambda: admit(
            secretary_a,
            tree.branch_a,
            date_of_birth=D(2006, 3, 10),
            dossier_reviewed_on=D(2024, 3, 5),
            admitted_on=D(2024, 3, 15),
        ),
        "date_of_birth",
    )


def test_born_on_29_february_is_eighteen_on_1_march_of_a_common_year(tree, secretary_a):
    born = D(2004, 2, 29)
    refusal(
        lambda: admit(secretary_a, tree.branch_a, date_of_birth=born, admitted_on=D(2022, 2, 28)),
        "date_of_birth",
    )
    assert admit(secretary_a, tree.branch_a, date_of_birth=born, admitted_on=D(2022, 3, 1)).pk


def test_sixty_on_the_review_date_is_admitted_sixty_one_needs_the_provincial_approval(tree, secretary_a):
    assert admit(secretary_a, tree.branch_a, date_of_birth=D(1963, 3, 2)).pk  # 60 until 1 March 2024
    messages = refusal(
        lambda: admit(secretary_a, tree.branch_a, date_of_birth=D(1963, 3, 1), citizen_id="001163000002"),
        "over_age_approved",
    )
    assert "provincial" in messages[0] or "tỉnh ủy" in messages[0]
    refusal(
        lambda: admit(
            secretary_a,
            tree.branch_a,
            date_of_birth=D(1963, 3, 1),
            citizen_id="001163000002",
            over_age_approved=True,
        ),
        "over_age_approval_reference",
    )
    member = admit(
        secretary_a,
        tree.branch_a,
        date_of_birth=D(1963, 3, 1),
        citizen_id="001163000002",
        over_age_approved=True,
        over_age_approval_reference="123-CV/TU",
    )
    assert (member.over_age_approved, member.over_age_approval_reference) == (True, "123-CV/TU")


def test_the_review_comes_before_the_decision(tree, secretary_a):
    refusal(lambda: admit(secretary_a, tree.branch_a, dossier_reviewed_on=D(2024, 3, 2)), "dossier_reviewed_on")


# The prospect's dossier ---------------------------------------------------------------------


def test_prospect_without_a_complete_dossier_cannot_be_admitted(tree, secretary_a):
    prospect = ProspectFactory(organization=tree.branch_a, stage=ProspectStage.COURSE_DONE)
    messages = refusal(lambda: services.admit_prospect(secretary_a, prospect, admitted_on=D(2024, 5, 1)), "admitted_on")
    assert "not complete" in messages[0] or "chưa hoàn thiện" in messages[0]
    prospect.refresh_from_db()
    assert prospect.stage == ProspectStage.COURSE_DONE and not Member.objects.exists()


def test_admission_before_the_dossier_was_complete_is_refused(tree, secretary_a):
    prospect = ProspectFactory(organization=tree.branch_a, ready=True)  # complete on 1 March 2024
    refusal(lambda: services.admit_prospect(secretary_a, prospect, admitted_on=D(2024, 2, 29)), "admitted_on")
    refusal(
        lambda: services.admit_prospect(
            secretary_a, prospect, admitted_on=D(2024, 3, 10), dossier_reviewed_on=D(2024, 2, 28)
        ),
        "dossier_reviewed_on",
    )
    member = services.admit_prospect(
        secretary_a,
        prospect,
        admitted_on=D(2024, 3, 10),
        dossier_reviewed_on=D(2024, 3, 1),
        admission_decision_number="45-QĐ/ĐU",
        admission_decided_by="Đảng ủy phường",
    )
    assert (member.admitted_on, member.admission_decision_number, member.admission_decided_by) == (
        D(2024, 3, 10),
        "45-QĐ/ĐU",
        "Đảng ủy phường",
    )


def test_course_certificate_valid_on_the_review_date_five_years_later_expired(tree, secretary_a):
    prospect = ProspectFactory(
        organization=tree.branch_a,
        stage=ProspectStage.DOSSIER_COMPLETE,
        identified_on=D(2018, 9, 1),
        course_completed_on=D(2019, 3, 10),
        dossier_completed_on=D(2024, 3, 1),
    )
    messages = refusal(
        lambda: services.admit_prospect(
            secretary_a, prospect, admitted_on=D(2024, 3, 20), dossier_reviewed_on=D(2024, 3, 10)
        ),
        "admitted_on",
    )
    assert "10/03/2024" in messages[0]
    prospect.refresh_from_db()
    assert prospect.stage == ProspectStage.DOSSIER_COMPLETE and not Member.objects.exists()
    member = services.admit_prospect(
        secretary_a, prospect, admitted_on=D(2024, 3, 20), dossier_reviewed_on=D(2024, 3, 9)
    )
    assert member.admitted_on == D(2024, 3, 20)


def test_a_dossier_cannot_be_completed_on_an_expired_course_certificate(tree, secretary_a):
    prospect = ProspectFactory(
        organization=tree.branch_a, identified_on=D(2018, 9, 1), course_completed_on=D(2019, 3, 10)
    )
    refusal(
        lambda: services.update_prospect(secretary_a, prospect, dossier_completed_on=D(2024, 3, 10)),
        "dossier_completed_on",
    )
    prospect = services.update_prospect(secretary_a, prospect, dossier_completed_on=D(2024, 3, 9))
    assert prospect.stage == ProspectStage.DOSSIER_COMPLETE


# The ceremony: at most 30 working days after the decision ---------------------------------


def test_ceremony_on_the_thirtieth_working_day_across_tet_is_accepted_the_next_refused(tree, secretary_a):
    decision = D(2025, 1, 17)
    assert add_working_days(decision, 30) == D(2025, 3, 7)
    messages = refusal(
        lambda: admit(secretary_a, tree.branch_a, admitted_on=decision, ceremony_on=D(2025, 3, 10)), "ceremony_on"
    )
    assert "07/03/2025" in messages[0]
    member = admit(secretary_a, tree.branch_a, admitted_on=decision, ceremony_on=D(2025, 3, 7))
    assert member.ceremony_on == D(2025, 3, 7)


def test_ceremony_deadline_across_30_april_and_1_may(tree, secretary_a):
    decision = D(2025, 4, 15)
    # 30 April, 1 and 2 May are off, Saturday 26 April is worked in exchange.
    assert add_working_days(decision, 30) == D(2025, 5, 29)
    refusal(lambda: admit(secretary_a, tree.branch_a, admitted_on=decision, ceremony_on=D(2025, 5, 30)), "ceremony_on")
    assert admit(secretary_a, tree.branch_a, admitted_on=decision, ceremony_on=D(2025, 5, 29)).pk


def test_ceremony_before_the_decision_is_refused(tree, secretary_a):
    refusal(lambda: admit(secretary_a, tree.branch_a, ceremony_on=D(2024, 2, 29)), "ceremony_on")


def test_the_ceremony_recorded_later_follows_the_same_rule(tree, secretary_a):
    member = MemberFactory(organization=tree.branch_a, admitted_on=D(2025, 1, 17))
    refusal(lambda: services.record_ceremony(secretary_a, member, ceremony_on=D(2025, 3, 10)), "ceremony_on")
    member = services.record_ceremony(secretary_a, member, ceremony_on=D(2025, 3, 7))
    assert member.ceremony_on == D(2025, 3, 7)


# Probation: 12 months from the ceremony -----------------------------------------------------


def probationary(tree, **kwargs):
    kwargs.setdefault("admitted_on", D(2024, 3, 1))
    kwargs.setdefault("ceremony_on", D(2024, 3, 15))
    return MemberFactory(organization=tree.branch_a, **kwargs)


def test_recognition_before_the_twelve_month_mark_is_refused(tree, secretary_a):
    member = probationary(tree)
    with services.fixed_today(D(2025, 3, 14)):
        messages = refusal(lambda: services.recognize_official(secretary_a, member), "official_on")
    assert "15/03/2025" in messages[0]
    member.refresh_from_db()
    assert member.official_on is None


def test_recognition_on_the_twelve_month_mark(tree, secretary_a):
    member = probationary(tree)
    with services.fixed_today(D(2025, 3, 15)):
        member = services.recognize_official(secretary_a, member)
    assert member.official_on == D(2025, 3, 15)


def test_a_late_recognition_is_dated_at_the_mark_with_its_decision(tree, secretary_a):
    member = probationary(tree)
    with services.fixed_today(D(2025, 4, 20)):
        refusal(lambda: services.recognize_official(secretary_a, member, official_on=D(2025, 4, 18)), "official_on")
        refusal(lambda: services.recognize_official(secretary_a, member, decided_on=D(2025, 3, 1)), "decided_on")
        member = services.recognize_official(secretary_a, member, decision_number="12-QĐ/ĐU", decided_on=D(2025, 4, 18))
    assert (member.official_on, member.recognition_decision_number, member.recognition_decided_on) == (
        D(2025, 3, 15),
        "12-QĐ/ĐU",
        D(2025, 4, 18),
    )
    assert member.history.first().recognition_decision_number == "12-QĐ/ĐU"


def test_ceremony_on_29_february_ends_probation_on_28_february(tree, secretary_a):
    member = probationary(tree, admitted_on=D(2024, 2, 20), ceremony_on=D(2024, 2, 29))
    with services.fixed_today(D(2025, 2, 27)):
        refusal(lambda: services.recognize_official(secretary_a, member), "official_on")
    with services.fixed_today(D(2025, 2, 28)):
        assert services.recognize_official(secretary_a, member).official_on == D(2025, 2, 28)


def test_records_without_a_ceremony_count_probation_from_the_decision(tree, secretary_a):
    member = probationary(tree, ceremony_on=None)
    with services.fixed_today(D(2025, 3, 1)):
        assert services.recognize_official(secretary_a, member).official_on == D(2025, 3, 1)


def test_an_admission_recorded_as_official_keeps_the_twelve_months(tree, secretary_a):
    refusal(
        lambda: admit(secretary_a, tree.branch_a, ceremony_on=D(2024, 3, 15), official_on=D(2025, 3, 14)),
        "official_on",
    )
    member = admit(secretary_a, tree.branch_a, ceremony_on=D(2024, 3, 15), official_on=D(2025, 3, 15))
    assert member.official_on == D(2025, 3, 15)


def test_secretary_cannot_recognise_before_twelve_months_on_the_page(client, tree, secretary_a):
    member = probationary(tree)
    url = reverse("branches:member_recognize", args=[member.pk])
    with services.fixed_today(D(2025, 3, 14)):
        response = login(client, secretary_a).post(url, {})
    assert response.status_code == 200
    assert "official_on" in response.context["form"].errors
    member.refresh_from_db()
    assert member.official_on is None


def test_recognition_through_the_api_is_refused_before_the_mark_at_the_field(api, tree):
    member = probationary(tree, admitted_on=services.today() - datetime.timedelta(days=100), ceremony_on=None)
    response = api.secretary_a.post(f"{API}members/{member.pk}/recognize/", {}, format="json")
    assert response.status_code == 400 and "official_on" in response.json()


# Position and business owner ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("position", "owner", "field"),
    [
        (Position.WORKER, True, "position"),
        (Position.TECHNICAL, True, "position"),
        (Position.OWNER, False, "is_business_owner"),
    ],
)
def test_position_and_business_owner_flag_must_agree(tree, secretary_a, position, owner, field):
    refusal(lambda: admit(secretary_a, tree.branch_a, position=position, is_business_owner=owner), field)


@pytest.mark.parametrize("position", [Position.OWNER, Position.MANAGER])
def test_owners_and_managers_may_be_business_owners(tree, secretary_a, position):
    member = admit(secretary_a, tree.branch_a, position=position, is_business_owner=True)
    assert member.owner_at_admission is True


def test_correcting_a_member_keeps_position_and_flag_consistent(tree, secretary_a):
    member = MemberFactory(organization=tree.branch_a)
    refusal(lambda: services.update_member(secretary_a, member, is_business_owner=True), "position")
    member = services.update_member(secretary_a, member, is_business_owner=True, position=Position.OWNER)
    assert member.is_business_owner


def test_prospect_position_and_flag_must_agree(tree, secretary_a):
    refusal(
        lambda: services.create_prospect(
            secretary_a,
            full_name="Phạm Văn Chủ",
            sex="male",
            date_of_birth=D(1980, 1, 1),
            organization=tree.branch_a,
            identified_on=D(2024, 1, 1),
            position=Position.WORKER,
            is_business_owner=True,
        ),
        "position",
    )


# The importer applies the same rules --------------------------------------------------------


def _csv(rows):
    headers = sorted({key for row in rows for key in row})
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=headers, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def test_import_refuses_rows_against_the_lifecycle_rules(tree, secretary_a):
    base = {"full name*": "Hồ Thị Lan", "sex*": "nữ", "admitted on*": "01/03/2024"}
    rows = [
        {**base, "citizen ID*": "001190000011", "date of birth*": "01/01/1950"},  # over 60, no approval
        {
            **base,
            "citizen ID*": "001190000012",
            "date of birth*": "01/01/1990",
            "position": "công nhân",
            "business owner": "có",
        },
        {**base, "citizen ID*": "001190000013", "date of birth*": "01/01/1990", "admission ceremony on": "01/06/2024"},
        {
            **base,
            "citizen ID*": "001190000014",
            "date of birth*": "01/01/1990",
            "number of the admission decision": "7-QĐ/ĐU",
            "admission ceremony on": "11/03/2024",
        },
    ]
    with translation.override("en"):  # column names in English, whatever an earlier test left active
        result = import_members(_csv(rows), organization=tree.branch_a, acting_user=secretary_a, dry_run=True)
        errors = {row.number: {str(error.column) for error in row.errors} for row in result.rows}
    assert errors[2] == {"admission over 60 approved"}
    assert errors[3] == {"position"}
    assert errors[4] == {"admission ceremony on"}
    assert errors[5] == set()


# Decisions on every lifecycle event -----------------------------------------------------------


def test_transfer_and_leaving_keep_their_letter_and_decision(tree, secretary_a):
    other = OrganizationFactory(code="BR-OTHER", kind="grassroots_branch", parent=tree.committee, locality=tree.commune)
    member = MemberFactory(organization=tree.branch_a)
    refusal(
        lambda: services.transfer_member(
            secretary_a,
            member,
            on=D(2024, 6, 3),
            to_organization=other,
            decided_on=services.today().replace(year=services.today().year + 1),
        ),
        "decided_on",
    )
    services.transfer_member(
        secretary_a,
        member,
        on=D(2024, 6, 3),
        to_organization=other,
        decision_number="88-GGT",
        decided_on=D(2024, 6, 1),
    )
    period = member.periods.get(ended_on__isnull=False)
    assert (period.end_reason, period.end_decision_number, period.end_decided_on) == (
        PeriodEndReason.TRANSFER,
        "88-GGT",
        D(2024, 6, 1),
    )
    leaver = MemberFactory(organization=tree.branch_a)
    services.record_leaving(
        secretary_a,
        leaver,
        on=D(2024, 7, 1),
        reason=PeriodEndReason.EXPELLED,
        decision_number="3-QĐ/UBKT",
        decided_on=D(2024, 6, 28),
    )
    assert leaver.periods.get().end_decision_number == "3-QĐ/UBKT"


def test_dissolution_keeps_its_decision_on_the_organisation_and_the_periods(tree, administrator):
    branch = OrganizationFactory(code="BR-DISS", kind="grassroots_branch", parent=tree.committee, locality=tree.commune)
    member = MemberFactory(organization=branch)
    branch = services.dissolve_organization(administrator, branch, on=D(2024, 8, 1), decision_number="501-QĐ/QU")
    assert branch.dissolution_decision_number == "501-QĐ/QU"
    period = member.periods.get()
    assert (period.end_decision_number, period.end_decided_on) == ("501-QĐ/QU", D(2024, 8, 1))


def test_decisions_appear_on_the_member_page_the_api_and_the_export(client, api, tree, secretary_a):
    member = admit(
        secretary_a,
        tree.branch_a,
        admission_decision_number="45-QĐ/ĐU",
        admission_decided_by="Đảng ủy phường",
        ceremony_on=D(2024, 3, 15),
    )
    page = login(client, secretary_a).get(member.get_absolute_url()).content.decode()
    assert "45-QĐ/ĐU" in page and "Đảng ủy phường" in page
    body = api.secretary_a.get(f"{API}members/{member.pk}/").json()
    assert (body["admission_decision_number"], body["ceremony_on"]) == ("45-QĐ/ĐU", "2024-03-15")
    content, *_ = export_file("members", secretary_a, file_format="csv")
    text = content.decode("utf-8-sig") if isinstance(content, bytes) else content
    assert "45-QĐ/ĐU" in text


def _csv_rows(user, kind):
    with translation.override("en"):
        content, *_ = export_file(kind, user, file_format="csv")
    text = content.decode("utf-8-sig") if isinstance(content, bytes) else content
    return list(csv.DictReader(io.StringIO(text)))


def test_the_members_export_shows_how_a_membership_ended_with_its_decision(tree, secretary_a):
    staying = admit(secretary_a, tree.branch_a, citizen_id="001190000011", full_name="Lê Văn Ở")
    leaving = admit(secretary_a, tree.branch_a, citizen_id="001190000012", full_name="Lê Văn Đi")
    services.record_leaving(
        secretary_a,
        leaving,
        on=D(2024, 9, 2),
        reason=PeriodEndReason.RESIGNED,
        decision_number="77-QĐ/ĐU",
        decided_on=D(2024, 8, 30),
    )
    rows = {row["full name"]: row for row in _csv_rows(secretary_a, "members")}
    ended = rows[leaving.full_name]
    assert (
        ended["membership ended on"],
        ended["why it ended"],
        ended["number of the decision or letter"],
        ended["date of the decision or letter"],
    ) == ("02/09/2024", "resigned", "77-QĐ/ĐU", "30/08/2024")
    still = rows[staying.full_name]
    assert still["membership ended on"] == still["why it ended"] == still["number of the decision or letter"] == ""


def test_the_organisations_export_shows_their_establishment_and_dissolution_decisions(tree, administrator):
    branch = services.establish_organization(
        administrator,
        code="HN-CB-MOI",
        name="Chi bộ Công ty Mới",
        kind=tree.branch_a.kind,
        locality=tree.branch_a.locality,
        established_on=D(2024, 2, 1),
        parent=tree.committee,
        decision_number="12-QĐ/ĐU",
        decision_date=D(2024, 1, 25),
    )
    services.dissolve_organization(administrator, branch, on=D(2024, 10, 1), decision_number="99-QĐ/ĐU")
    row = next(row for row in _csv_rows(administrator, "organizations") if row["code"] == "HN-CB-MOI")
    assert (
        row["number of the establishment decision"],
        row["date of the establishment decision"],
        row["dissolved on"],
        row["number of the dissolution decision"],
    ) == ("12-QĐ/ĐU", "25/01/2024", "01/10/2024", "99-QĐ/ĐU")
