"""Party badges: who reaches a badge age for a presentation date, the award service with its
history, the page, the .xlsx export, the command, and the deadlines leaving awarded members out."""

import datetime
import io
import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook

from branches.badges import badge_rows, upcoming_presentations
from branches.deadlines import Kind, deadlines_for
from branches.models import BadgeAward, Member
from branches.services import award_badge
from core.dates import fixed_today
from core.workdays import forget_calendar
from tests.factories import MemberFactory
from tests.scoped_views import login

D = datetime.date
OLD = D(1950, 1, 1)
FEB_2025 = D(2025, 2, 3)


@pytest.fixture(autouse=True)
def _fresh_calendar():
    forget_calendar()
    yield
    forget_calendar()


@pytest.fixture
def veterans(tree):
    """For 3 February 2025 (the previous date: 7 November 2024): 30 and 40 years reached; one a day
    late (next time), one reached by the previous date (last time); one in branch B."""
    make = MemberFactory
    return {
        "thirty": make(organization=tree.branch_a, full_name="Ba Mươi", date_of_birth=OLD, admitted_on=D(1995, 2, 3)),
        "forty": make(
            organization=tree.branch_a,
            full_name="Bốn Mươi",
            date_of_birth=OLD,
            admitted_on=D(1984, 11, 8),
            official_on=D(1985, 11, 8),
        ),
        "late": make(organization=tree.branch_a, full_name="Sau Kỳ", date_of_birth=OLD, admitted_on=D(1995, 2, 4)),
        "earlier": make(
            organization=tree.branch_a, full_name="Kỳ Trước", date_of_birth=OLD, admitted_on=D(1994, 11, 7)
        ),
        "other": make(organization=tree.branch_b, full_name="Chi Bộ B", date_of_birth=OLD, admitted_on=D(1975, 1, 1)),
    }


def test_upcoming_presentation_dates():
    assert upcoming_presentations(D(2025, 2, 3)) == [D(2025, 2, 3), D(2025, 5, 19), D(2025, 9, 2), D(2025, 11, 7)]
    assert upcoming_presentations(D(2025, 11, 8), count=2) == [D(2026, 2, 3), D(2026, 5, 19)]


def test_members_reaching_a_badge_age_by_the_presentation_date(tree, veterans):
    rows = badge_rows(tree.committee, FEB_2025, Member.objects.all())
    assert [(row.years, row.member.full_name, row.reached_on) for row in rows] == [
        (50, "Chi Bộ B", D(2025, 1, 1)),
        (40, "Bốn Mươi", D(2024, 11, 8)),
        (30, "Ba Mươi", D(2025, 2, 3)),
    ]
    assert [row.member.full_name for row in badge_rows(tree.branch_a, D(2025, 5, 19), Member.objects.all())] == [
        "Sau Kỳ"
    ]


def test_award_is_recorded_with_history_and_leaves_the_deadlines(tree, veterans, secretary_a):
    assert {i.subject for i in deadlines_for(tree.branch_a, D(2025, 1, 10)) if i.kind == Kind.BADGE} == {
        "Ba Mươi",
        "Bốn Mươi",
    }
    award = award_badge(secretary_a, veterans["forty"], years=40, presented_on=FEB_2025, decision_number="12-QĐ/TU")
    assert award.history.get().history_user == secretary_a
    assert {i.subject for i in deadlines_for(tree.branch_a, D(2025, 1, 10)) if i.kind == Kind.BADGE} == {"Ba Mươi"}
    row = next(r for r in badge_rows(tree.branch_a, FEB_2025, Member.objects.all()) if r.years == 40)
    assert row.award == award


@pytest.mark.parametrize(
    ("years", "presented_on", "field"),
    [
        (35, FEB_2025, "years"),  # no such badge
        (30, D(2025, 2, 4), "presented_on"),  # not a presentation day
        (40, D(2024, 11, 7), "years"),  # 40 years reached the next day
    ],
)
def test_award_refusals_at_the_field(tree, veterans, secretary_a, years, presented_on, field):
    member = veterans["forty"] if years == 40 else veterans["thirty"]
    with pytest.raises(ValidationError) as caught:
        award_badge(secretary_a, member, years=years, presented_on=presented_on)
    assert field in caught.value.message_dict
    assert not BadgeAward.objects.exists()


def test_a_badge_is_presented_once(tree, veterans, secretary_a):
    award_badge(secretary_a, veterans["thirty"], years=30, presented_on=FEB_2025)
    with pytest.raises(ValidationError) as caught:
        award_badge(secretary_a, veterans["thirty"], years=30, presented_on=D(2025, 5, 19))
    assert "years" in caught.value.message_dict


def test_only_the_members_secretary_records_the_award(tree, veterans, secretary_b, department):
    for user in (secretary_b, department):
        with pytest.raises(PermissionDenied):
            award_badge(user, veterans["thirty"], years=30, presented_on=FEB_2025)


def test_page_lists_and_awards_and_exports(client, tree, veterans, secretary_a):
    login(client, secretary_a)
    with fixed_today(D(2025, 1, 10)):
        page = client.get(reverse("branches:badge_list"), {"organization": "BR-A"})
        assert page.context["presentation"] == FEB_2025
        assert [row.member.full_name for row in page.context["rows"]] == ["Bốn Mươi", "Ba Mươi"]  # not branch B
        form = client.get(reverse("branches:member_badge", args=[veterans["thirty"].pk]))
        assert form.context["form"]["years"].initial == 30
        response = client.post(
            reverse("branches:member_badge", args=[veterans["thirty"].pk]),
            {"years": "30", "presented_on": "03/02/2025", "decision_number": "5-QĐ/ĐU", "expected_version": ""},
        )
    assert response.status_code == 302, response.context["form"].errors
    assert BadgeAward.objects.get().decision_number == "5-QĐ/ĐU"
    detail = client.get(reverse("branches:member_detail", args=[veterans["thirty"].pk])).content.decode()
    assert 'id="member-badges"' in detail

    export = client.get(
        reverse("branches:badge_list"), {"organization": "BR-A", "presentation": "2025-02-03", "format": "xlsx"}
    )
    sheet = load_workbook(io.BytesIO(export.content)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert [row[:2] for row in values[1:]] == [[40, "Bốn Mươi"], [30, "Ba Mươi"]]
    assert values[2][7] == "5-QĐ/ĐU"


def test_page_refuses_a_date_that_is_not_a_presentation_day(client, tree, veterans, secretary_a):
    login(client, secretary_a)
    page = client.get(reverse("branches:badge_list"), {"organization": "BR-A", "presentation": "04/02/2025"})
    assert page.status_code == 200
    assert page.context["form"].errors["presentation"]


def test_outsiders_see_no_badges_of_another_branch(client, tree, veterans, secretary_b):
    login(client, secretary_b)
    assert client.get(reverse("branches:badge_list"), {"organization": "BR-A"}).status_code == 404
    assert client.get(reverse("branches:member_badge", args=[veterans["thirty"].pk])).status_code == 404


def test_department_reads_the_list_but_does_not_award(client, tree, veterans, department):
    login(client, department)
    page = client.get(reverse("branches:badge_list"), {"organization": "DIST", "presentation": "2025-02-03"})
    assert len(page.context["rows"]) == 3 and not page.context["can_award"]
    assert client.get(reverse("branches:member_badge", args=[veterans["thirty"].pk])).status_code == 403


def test_command_lists_badges_as_json(tree, veterans):
    out = io.StringIO()
    call_command("badges", "--org", "DIST", "--date", "2025-01-10", "--format", "json", stdout=out)
    payload = json.loads(out.getvalue())
    assert payload["presentation"] == "2025-02-03"
    assert [(m["years"], m["member"]) for m in payload["members"]] == [
        (50, "Chi Bộ B"),
        (40, "Bốn Mươi"),
        (30, "Ba Mươi"),
    ]


def test_api_lists_badges_in_the_users_scope(client, tree, veterans, secretary_a, secretary_b):
    login(client, secretary_a)
    response = client.get("/api/v1/badges/", {"organization": "BR-A", "date": "2025-01-10"})
    assert response.status_code == 200
    assert [(m["years"], m["full_name"]) for m in response.json()["members"]] == [(40, "Bốn Mươi"), (30, "Ba Mươi")]
    login(client, secretary_b)
    assert client.get("/api/v1/badges/", {"organization": "BR-A"}).status_code == 404
