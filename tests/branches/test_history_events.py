"""History read as events: admitted, recognised, transferred to …, left, dissolved, merged, badge
presented, each with its decision or letter; on the pages and in the change sets."""

import datetime

import pytest
from django.urls import reverse
from django.utils import translation

from branches import services
from branches.choices import PeriodEndReason
from core.views import history_entries
from tests.factories import MemberFactory, OrganizationFactory

D = datetime.date


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _events(obj, user):
    return [entry["event"] for entry in reversed(history_entries(obj, user=user)) if entry["event"]]


def test_recognition_transfer_and_their_decisions(tree, secretary_a, administrator):
    other = OrganizationFactory(
        code="BR-OTHER", name="Chi bộ Khác", kind="grassroots_branch", parent=tree.committee, locality=tree.commune
    )
    member = MemberFactory(organization=tree.branch_a, admitted_on=D(2023, 3, 1), ceremony_on=D(2023, 3, 10))
    services.recognize_official(secretary_a, member, decision_number="7-QĐ/ĐU", decided_on=D(2024, 3, 20))
    services.transfer_member(
        administrator,
        member,
        on=D(2024, 6, 3),
        to_organization=other,
        decision_number="88-GGT",
        decided_on=D(2024, 6, 1),
        presented_on=D(2024, 6, 3),
    )
    member.refresh_from_db()
    assert _events(member, administrator) == [
        "Admitted on 01/03/2023",
        "Recognised as an official member on 10/03/2024 (decision 7-QĐ/ĐU of 20/03/2024)",
        "Transferred to Chi bộ Khác (BR-OTHER) (letter 88-GGT of 01/06/2024)",
    ]


def test_leaving_names_its_reason_and_decision(tree, secretary_a, administrator):
    member = MemberFactory(organization=tree.branch_a)
    services.record_leaving(
        secretary_a,
        member,
        on=D(2024, 7, 1),
        reason=PeriodEndReason.EXPELLED,
        decision_number="3-QĐ/UBKT",
        decided_on=D(2024, 6, 28),
    )
    member.refresh_from_db()
    assert (
        _events(member, administrator)[-1]
        == "Left the Party on 01/07/2024: expelled (decision 3-QĐ/UBKT of 28/06/2024)"
    )
    period = member.periods.get()
    assert _events(period, administrator)[-1] == "Ended on 01/07/2024: expelled (decision 3-QĐ/UBKT of 28/06/2024)"


def test_dissolution_is_an_event_with_its_decision_for_the_organisation_and_its_members(tree, administrator):
    branch = OrganizationFactory(code="BR-DISS", kind="grassroots_branch", parent=tree.committee, locality=tree.commune)
    member = MemberFactory(organization=branch)
    services.dissolve_organization(
        administrator, branch, on=D(2024, 8, 1), destination=tree.branch_a, decision_number="501-QĐ/QU"
    )
    branch.refresh_from_db()
    assert _events(branch, administrator)[-1] == "Dissolved on 01/08/2024 (decision 501-QĐ/QU)"
    member.refresh_from_db()
    assert _events(member, administrator)[-1] == (
        "Moved to Chi bộ Công ty An Phát (BR-A): the organisation was dissolved (decision 501-QĐ/QU of 01/08/2024)"
    )


def test_merger_names_the_successor(tree, administrator):
    services.merge_organizations(
        administrator,
        [tree.branch_a],
        tree.branch_b,
        on=D(2025, 1, 1),
        decision_number="30-QĐ/TU",
        decision_date=D(2024, 12, 20),
    )
    tree.branch_a.refresh_from_db()
    assert _events(tree.branch_a, administrator)[-1] == (
        "Merged into Chi bộ Công ty Bình Minh (BR-B) on 01/01/2025 (decision 30-QĐ/TU of 20/12/2024)"
    )


def test_admission_and_badge_are_events(tree, secretary_a, administrator):
    member = MemberFactory(
        organization=tree.branch_a,
        date_of_birth=D(1970, 1, 1),
        admitted_on=D(1995, 2, 3),
        admission_decision_number="12-QĐ/HU",
        admission_decided_by="Huyện ủy",
    )
    assert _events(member, administrator) == ["Admitted on 03/02/1995 (decision 12-QĐ/HU — Huyện ủy)"]
    award = services.award_badge(secretary_a, member, years=30, presented_on=D(2025, 2, 3), decision_number="9-QĐ/TU")
    assert _events(award, administrator) == ["Party badge for 30 years presented on 03/02/2025 (decision 9-QĐ/TU)"]


def test_member_page_shows_the_events(client, tree, secretary_a, administrator):
    other = OrganizationFactory(
        code="BR-OTHER", name="Chi bộ Khác", kind="grassroots_branch", parent=tree.committee, locality=tree.commune
    )
    member = MemberFactory(organization=tree.branch_a)
    services.transfer_member(
        administrator,
        member,
        on=D(2024, 6, 3),
        to_organization=other,
        decision_number="88-GGT",
        presented_on=D(2024, 6, 3),
    )
    client.force_login(secretary_a)
    # The member has left branch A: its secretary reads the former member's record no more; the
    # department above both does.
    from tests.conftest import _persona  # noqa: PLC0415

    department = _persona("department_h", "department", tree.committee)
    client.force_login(department)
    client.cookies.load({"django_language": "en"})
    html = client.get(reverse("branches:member_detail", args=[member.pk])).content.decode()
    assert "Transferred to Chi bộ Khác (BR-OTHER) (letter 88-GGT" in html


def test_change_set_shows_events_without_a_query_per_row(client, tree, administrator):
    branch = OrganizationFactory(code="BR-DISS", kind="grassroots_branch", parent=tree.committee, locality=tree.commune)
    for _ in range(3):
        MemberFactory(organization=branch)
    services.dissolve_organization(administrator, branch, on=D(2024, 8, 1), decision_number="501-QĐ/QU")
    client.force_login(administrator)
    client.cookies.load({"django_language": "en"})
    sets = client.get(reverse("io:changes")).context["page"].object_list
    html = "".join(client.get(s["url"]).content.decode() for s in sets)
    assert "Transferred to the place of residence" in html
    assert "Ended on 01/08/2024: branch dissolved (decision 501-QĐ/QU of 01/08/2024)" in html
