"""What is due (branches.deadlines) and where it shows: the command, the API and the home page."""

import datetime
import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from branches.deadlines import Kind, deadlines_for, presentation_dates_after
from core.workdays import forget_calendar
from tests.api_conftest import *  # noqa: F403
from tests.api_conftest import API
from tests.factories import MemberFactory, ProspectFactory
from tests.scoped_views import login

D = datetime.date
OLD = D(1950, 1, 1)


@pytest.fixture(autouse=True)
def _fresh_calendar():
    forget_calendar()
    yield
    forget_calendar()


@pytest.fixture
def due(tree):
    """A ceremony, a probation review, a certificate that expires, on 1 March 2025."""
    return {
        "ceremony": MemberFactory(organization=tree.branch_a, full_name="A Lễ", admitted_on=D(2025, 1, 17)),
        "review": MemberFactory(
            organization=tree.branch_a, full_name="B Dự bị", admitted_on=D(2024, 3, 1), ceremony_on=D(2024, 3, 15)
        ),
        "official": MemberFactory(
            organization=tree.branch_a,
            full_name="C Chính thức",
            admitted_on=D(2023, 3, 1),
            official_on=D(2024, 3, 1),
        ),
        "course": ProspectFactory(
            organization=tree.branch_a,
            full_name="D Cảm tình",
            identified_on=D(2019, 1, 1),
            course_completed_on=D(2020, 3, 1),
            stage="course_done",
        ),
        "later": ProspectFactory(
            organization=tree.branch_a,
            full_name="E Còn hạn",
            identified_on=D(2019, 1, 1),
            course_completed_on=D(2020, 6, 1),
            stage="course_done",
        ),
        "elsewhere": MemberFactory(organization=tree.branch_b, full_name="F Chi bộ khác", admitted_on=D(2025, 1, 17)),
    }


def test_ceremony_review_and_certificate_due_in_working_days(tree, due):
    items = deadlines_for(tree.branch_a, D(2025, 3, 1))
    assert [(i.kind, i.subject, i.due_on, i.working_days_left, i.overdue) for i in items] == [
        (Kind.COURSE_CERTIFICATE, "D Cảm tình", D(2025, 3, 1), 0, False),
        # 30 working days after 17 January 2025, across Tết.
        (Kind.CEREMONY, "A Lễ", D(2025, 3, 7), 5, False),
        # 30 working days after the mark (Saturday 15 March): Hùng Kings' day off, Saturday 26 April worked.
        (Kind.PROBATION_REVIEW, "B Dự bị", D(2025, 4, 26), 40, False),
    ]
    review = items[-1]
    assert review.since == D(2025, 3, 15)
    assert review.action_url == reverse("branches:member_recognize", args=[due["review"].pk])


def test_overdue_items_stay_listed_with_negative_working_days(tree, due):
    items = {i.subject: i for i in deadlines_for(tree.branch_a, D(2025, 5, 5))}
    assert items["B Dự bị"].overdue and items["B Dự bị"].working_days_left == -3
    assert items["D Cảm tình"].overdue
    assert not items["E Còn hạn"].overdue


def test_a_subtree_lists_its_branches_and_a_branch_only_its_own(tree, due):
    on = D(2025, 3, 1)
    assert "F Chi bộ khác" in {i.subject for i in deadlines_for(tree.committee, on)}
    assert "F Chi bộ khác" not in {i.subject for i in deadlines_for(tree.branch_a, on)}


def test_presentation_dates():
    assert presentation_dates_after(D(2025, 1, 10)) == (D(2025, 2, 3), D(2024, 11, 7))
    assert presentation_dates_after(D(2025, 2, 3)) == (D(2025, 2, 3), D(2024, 11, 7))
    assert presentation_dates_after(D(2025, 11, 8)) == (D(2026, 2, 3), D(2025, 11, 7))


def test_badges_for_the_next_presentation_date(tree):
    MemberFactory(organization=tree.branch_a, full_name="Ba mươi", date_of_birth=OLD, admitted_on=D(1995, 1, 20))
    MemberFactory(organization=tree.branch_a, full_name="Sau ngày trao", date_of_birth=OLD, admitted_on=D(1995, 2, 4))
    MemberFactory(
        organization=tree.branch_a,
        full_name="Bốn mươi",
        date_of_birth=OLD,
        admitted_on=D(1984, 11, 8),
        official_on=D(1985, 11, 8),
    )
    MemberFactory(organization=tree.branch_a, full_name="Trước kỳ", date_of_birth=OLD, admitted_on=D(1994, 11, 7))
    items = [i for i in deadlines_for(tree.branch_a, D(2025, 1, 10)) if i.kind == Kind.BADGE]
    assert [(i.subject, i.due_on, i.since) for i in items] == [
        ("Ba mươi", D(2025, 2, 3), D(2025, 1, 20)),
        ("Bốn mươi", D(2025, 2, 3), D(2024, 11, 8)),
    ]
    assert "30" in items[0].rule and "40" in items[1].rule
    # The next presentation date more than 60 days away: no badge listed yet.
    assert not [i for i in deadlines_for(tree.branch_a, D(2024, 11, 8)) if i.kind == Kind.BADGE]


def test_command_prints_json_and_text(tree, due):
    out = io.StringIO()
    call_command("deadlines", "--org", tree.branch_a.code, "--date", "2025-03-01", "--format", "json", stdout=out)
    payload = json.loads(out.getvalue())
    assert payload["date"] == "2025-03-01"
    assert [(i["kind"], i["due_on"], i["working_days_left"]) for i in payload["items"]] == [
        ("course_certificate", "2025-03-01", 0),
        ("ceremony", "2025-03-07", 5),
        ("probation_review", "2025-04-26", 40),
    ]
    text = io.StringIO()
    call_command("deadlines", "--org", tree.branch_a.code, "--date", "2025-03-01", stdout=text)
    assert "A Lễ" in text.getvalue() and "07/03/2025" in text.getvalue()


def test_command_refuses_an_unknown_code_and_a_bad_date(tree):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("deadlines", "--org", "NOPE", stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("deadlines", "--org", tree.branch_a.code, "--date", "20-02-2025", stdout=io.StringIO())


def test_api_lists_the_deadlines_within_the_users_scope(api, tree, due):
    url = f"{API}deadlines/?organization={tree.branch_a.code}&date=2025-03-01"
    body = api.secretary_a.get(url).json()
    assert [i["subject"] for i in body["items"]] == ["D Cảm tình", "A Lễ", "B Dự bị"]
    assert api.department.get(url).status_code == 200
    assert api.secretary_b.get(url).status_code == 404
    assert api.secretary_a.get(f"{API}deadlines/").status_code == 400
    assert api.secretary_a.get(f"{API}deadlines/?organization={tree.branch_a.code}&date=x").status_code == 400


def test_secretary_home_shows_the_due_and_overdue_card(client, tree, secretary_a, due):
    from branches import services

    with services.fixed_today(D(2025, 3, 1)):
        response = login(client, secretary_a).get(reverse("home:organization", args=[tree.branch_a.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="deadlines"' in page
    assert "A Lễ" in page and reverse("branches:member_ceremony", args=[due["ceremony"].pk]) in page
