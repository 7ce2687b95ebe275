"""Transfers of Party activity in transit: issue, incoming list, confirmation, former members,
overdue flags and deadlines, cancel and redirect, temporary transfers, and the reports."""

import datetime
from types import SimpleNamespace

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse, reverse_lazy

from branches import services
from branches.choices import MemberStatus, OrganizationKind, PeriodEndReason, RoleKey, TransferKind, TransferStatus
from branches.deadlines import Kind, deadlines_for
from branches.models import Member, MembershipPeriod, Transfer
from reports import rollups
from reports.statistics import member_movement
from tests.api_conftest import *  # noqa: F403
from tests.factories import LocalityFactory, MemberFactory, OrganizationFactory, RoleAssignmentFactory, UserFactory

D = datetime.date
PICKER = reverse_lazy("branches:organization_autocomplete")


def login(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def provinces(db):
    """Two provinces, each with a committee and a grassroots branch, and each branch's secretary."""

    def province(code, name):
        locality = LocalityFactory(code=code, name=name)
        root = OrganizationFactory(code=f"{code}-TU", name=f"Tỉnh ủy {name}", locality=locality)
        committee = OrganizationFactory(code=f"{code}-KDN", name=f"Đảng ủy Khối {name}", locality=locality, parent=root)
        branch = OrganizationFactory(
            code=f"{code}-CB",
            name=f"Chi bộ Công ty {name}",
            kind=OrganizationKind.GRASSROOTS_BRANCH,
            locality=locality,
            parent=committee,
        )
        secretary = UserFactory(username=f"secretary_{code}")
        RoleAssignmentFactory(user=secretary, role=RoleKey.SECRETARY, organization=branch)
        department = UserFactory(username=f"department_{code}")
        RoleAssignmentFactory(user=department, role=RoleKey.DEPARTMENT, organization=committee)
        return SimpleNamespace(
            root=root, committee=committee, branch=branch, secretary=secretary, department=department
        )

    return SimpleNamespace(hanoi=province("HN", "Hà Nội"), quang_ninh=province("QN", "Quảng Ninh"))


def test_transfer_full_path_between_two_provinces_neither_sees_the_others_records(client, provinces):
    hanoi, quang_ninh = provinces.hanoi, provinces.quang_ninh
    member = MemberFactory(
        organization=hanoi.branch, full_name="Đỗ Văn Chuyển", citizen_id="001090123456", admitted_on=D(2019, 5, 2)
    )
    login(client, hanoi.secretary)
    search = client.get(PICKER, {"set": "transfer", "value": "code", "q": "quang ninh"}).json()["results"]
    assert [row["value"] for row in search] == ["QN-CB"]  # found without its marks, anywhere in the country
    response = client.post(
        reverse("branches:member_transfer", args=[member.pk]),
        {
            "destination": "organization",
            "to_organization": "QN-CB",
            "kind": TransferKind.OFFICIAL,
            "on": "03/06/2024",
            "decision_number": "12-GGT/ĐU",
        },
    )
    assert response.status_code == 302, response.context and response.context["form"].errors
    transfer = Transfer.objects.get(member=member)
    assert (transfer.status, transfer.letter_number, transfer.letter_date) == (
        TransferStatus.IN_TRANSIT,
        "12-GGT/ĐU",
        D(2024, 6, 3),
    )
    member.refresh_from_db()
    assert member.status == MemberStatus.IN_TRANSIT
    assert not MembershipPeriod.objects.on(D(2024, 6, 3)).filter(member=member).exists()

    # The receiving secretary sees the transfer row in their incoming list, not the member's record.
    login(client, quang_ninh.secretary)
    incoming = client.get(reverse("branches:organization_incoming", args=[quang_ninh.branch.pk]))
    content = incoming.content.decode()
    assert "Đỗ Văn Chuyển" in content and "12-GGT/ĐU" in content
    assert "001090123456" not in content
    assert client.get(reverse("branches:member_detail", args=[member.pk])).status_code == 404
    assert client.get(reverse("branches:organization_former", args=[hanoi.branch.pk])).status_code == 404
    confirm = client.post(reverse("branches:transfer_confirm", args=[transfer.pk]), {"presented_on": "14/06/2024"})
    assert confirm.status_code == 302
    member.refresh_from_db()
    assert (member.organization, member.status) == (quang_ninh.branch, MemberStatus.ACTIVE)
    assert member.periods.get(ended_on__isnull=True).started_on == D(2024, 6, 14)
    assert client.get(reverse("branches:member_detail", args=[member.pk])).status_code == 200

    # The sending secretary keeps a read-only row among former members, without personal details.
    login(client, hanoi.secretary)
    assert client.get(reverse("branches:member_detail", args=[member.pk])).status_code == 404
    former = client.get(reverse("branches:organization_former", args=[hanoi.branch.pk])).content.decode()
    assert "Đỗ Văn Chuyển" in former and "12-GGT/ĐU" in former and "QN-CB" in former
    assert "001090123456" not in former and member.party_card_number not in former
    assert client.get(reverse("branches:organization_incoming", args=[quang_ninh.branch.pk])).status_code == 404


def test_only_the_receiving_side_confirms_and_only_the_sending_side_cancels(provinces):
    hanoi, quang_ninh = provinces.hanoi, provinces.quang_ninh
    member = MemberFactory(organization=hanoi.branch)
    transfer = services.issue_transfer(
        hanoi.secretary, member, to_organization=quang_ninh.branch, letter_date=D(2024, 6, 3)
    )
    with pytest.raises(PermissionDenied):
        services.confirm_transfer(hanoi.secretary, transfer, presented_on=D(2024, 6, 5))
    with pytest.raises(PermissionDenied):
        services.cancel_transfer(quang_ninh.secretary, transfer, reason="not ours")
    with pytest.raises(PermissionDenied):
        services.confirm_transfer(quang_ninh.department, transfer, presented_on=D(2024, 6, 5))
    with pytest.raises(ValidationError) as refused:
        services.confirm_transfer(quang_ninh.secretary, transfer, presented_on=D(2024, 6, 2))
    assert "presented_on" in refused.value.message_dict


@pytest.mark.django_db
def test_letter_due_thirty_working_days_later_across_tet():
    # 27 January – 1 February 2025 are Tết days off: 30 working days from 20 January end on 10 March.
    assert services.transfer_due_on(D(2025, 1, 20)) == D(2025, 3, 10)


@pytest.mark.django_db
def test_letter_due_thirty_working_days_later_across_30_april_and_1_may():
    # 30 April, 1 May and 2 May 2025 are days off; Saturday 26 April was worked in exchange.
    assert services.transfer_due_on(D(2025, 4, 21)) == D(2025, 6, 4)


def test_overdue_transfer_is_flagged_on_both_lists_and_in_the_deadlines_of_both_sides(client, provinces, monkeypatch):
    hanoi, quang_ninh = provinces.hanoi, provinces.quang_ninh
    member = MemberFactory(organization=hanoi.branch, full_name="Lê Thị Quá Hạn")
    transfer = services.issue_transfer(
        hanoi.secretary, member, to_organization=quang_ninh.branch, letter_date=D(2025, 1, 20), letter_number="5-GGT"
    )
    assert transfer.due_on == D(2025, 3, 10)
    on_time, late = D(2025, 3, 10), D(2025, 3, 11)
    for organization in (hanoi.branch, hanoi.committee, hanoi.root, quang_ninh.branch, quang_ninh.committee):
        items = [item for item in deadlines_for(organization, late) if item.kind == Kind.TRANSFER_IN_TRANSIT]
        assert [(item.subject, item.due_on, item.overdue) for item in items] == [
            ("Lê Thị Quá Hạn", D(2025, 3, 10), True)
        ]
        assert not next(i for i in deadlines_for(organization, on_time) if i.kind == Kind.TRANSFER_IN_TRANSIT).overdue
    receiving = next(i for i in deadlines_for(quang_ninh.branch, late) if i.kind == Kind.TRANSFER_IN_TRANSIT)
    assert receiving.action_url == reverse("branches:organization_incoming", args=[quang_ninh.branch.pk])
    assert transfer.is_overdue_on(late) and not transfer.is_overdue_on(on_time)
    incoming = login(client, quang_ninh.secretary).get(
        reverse("branches:organization_incoming", args=[quang_ninh.branch.pk])
    )
    assert "table-danger" in incoming.content.decode()
    former = login(client, hanoi.secretary).get(reverse("branches:organization_former", args=[hanoi.branch.pk]))
    assert "table-danger" in former.content.decode()


def test_cancel_reopens_the_membership_and_redirect_changes_the_receiver(provinces, tree):
    hanoi, quang_ninh = provinces.hanoi, provinces.quang_ninh
    member = MemberFactory(organization=hanoi.branch, admitted_on=D(2019, 1, 2))
    transfer = services.issue_transfer(
        hanoi.secretary, member, to_organization=tree.branch_b, letter_date=D(2024, 6, 3)
    )
    with pytest.raises(ValidationError) as refused:
        services.redirect_transfer(hanoi.secretary, transfer, to_organization=quang_ninh.branch, reason="")
    assert "reason" in refused.value.message_dict
    services.redirect_transfer(
        hanoi.secretary, transfer, to_organization=quang_ninh.branch, reason="the letter named the wrong branch"
    )
    transfer.refresh_from_db()
    assert transfer.to_organization == quang_ninh.branch
    assert transfer.history.latest().history_change_reason == "the letter named the wrong branch"
    assert transfer.history.earliest().to_organization_id == tree.branch_b.pk  # the old value is kept
    services.cancel_transfer(hanoi.secretary, transfer, reason="the member stays")
    member.refresh_from_db()
    assert (member.status, member.organization) == (MemberStatus.ACTIVE, hanoi.branch)
    period = member.periods.get()
    assert (period.ended_on, period.end_reason) == (None, "")
    with pytest.raises(ValidationError):
        services.confirm_transfer(
            quang_ninh.secretary, Transfer.objects.get(pk=transfer.pk), presented_on=D(2024, 6, 5)
        )


def test_temporary_transfer_keeps_the_record_at_home_and_shows_at_the_host(client, provinces):
    hanoi, quang_ninh = provinces.hanoi, provinces.quang_ninh
    member = MemberFactory(organization=hanoi.branch, full_name="Phạm Văn Đi Học")
    with pytest.raises(ValidationError) as refused:
        services.issue_transfer(
            hanoi.secretary,
            member,
            to_organization=quang_ninh.branch,
            letter_date=D(2024, 9, 2),
            kind=TransferKind.TEMPORARY_WORK,
            ends_on=D(2025, 9, 2),  # work away: under one year
        )
    assert "ends_on" in refused.value.message_dict
    transfer = services.issue_transfer(
        hanoi.secretary,
        member,
        to_organization=quang_ninh.branch,
        letter_date=D(2024, 9, 2),
        kind=TransferKind.TEMPORARY_STUDY,
        ends_on=D(2026, 9, 2),  # study: up to two years
    )
    member.refresh_from_db()
    assert (member.status, member.organization) == (MemberStatus.ACTIVE, hanoi.branch)
    assert member.periods.get().ended_on is None
    services.confirm_transfer(quang_ninh.secretary, transfer, presented_on=D(2024, 9, 9))
    member.refresh_from_db()
    assert member.organization == hanoi.branch
    incoming = login(client, quang_ninh.secretary).get(
        reverse("branches:organization_incoming", args=[quang_ninh.branch.pk])
    )
    assert "Phạm Văn Đi Học" in incoming.content.decode()
    for organization in (hanoi.branch, quang_ninh.branch):
        items = deadlines_for(organization, D(2026, 8, 1))
        assert [(i.kind, i.due_on) for i in items if i.subject_kind == "transfer"] == [
            (Kind.TEMPORARY_TRANSFER_ENDING, D(2026, 9, 2))
        ]
    assert reverse("branches:transfer_end", args=[transfer.pk]) in incoming.content.decode()
    ended = client.post(reverse("branches:transfer_end", args=[transfer.pk]), {})
    assert ended.status_code == 302
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.ENDED
    assert not [i for i in deadlines_for(hanoi.branch, D(2026, 8, 1)) if i.subject_kind == "transfer"]


def test_transfer_counts_out_at_the_letter_date_and_in_at_the_presented_date(provinces):
    hanoi, quang_ninh = provinces.hanoi, provinces.quang_ninh
    member = MemberFactory(organization=hanoi.branch, admitted_on=D(2019, 1, 2))
    transfer = services.issue_transfer(
        hanoi.secretary, member, to_organization=quang_ninh.branch, letter_date=D(2024, 6, 28)
    )
    services.confirm_transfer(quang_ninh.secretary, transfer, presented_on=D(2024, 7, 8))
    first_half = (D(2024, 1, 1), D(2024, 6, 30))
    second_half = (D(2024, 7, 1), D(2024, 12, 31))
    out = member_movement(hanoi.root, *first_half).total
    assert (out.at_start, out.transferred_out, out.at_end) == (1, 1, 0)
    arriving = member_movement(quang_ninh.root, *second_half).total
    assert (arriving.at_start, arriving.transferred_in, arriving.at_end) == (0, 1, 1)
    assert member_movement(quang_ninh.root, *first_half).total.transferred_in == 0
    for root in (hanoi.root, quang_ninh.root):
        for period in (first_half, second_half, (D(2024, 1, 1), D(2024, 12, 31))):
            assert member_movement(root, *period).total.balanced
    assert rollups.differences()[0] == 0


def test_member_in_transit_cannot_be_transferred_again_or_take_other_steps(provinces):
    hanoi, quang_ninh = provinces.hanoi, provinces.quang_ninh
    member = MemberFactory(organization=hanoi.branch)
    services.issue_transfer(hanoi.secretary, member, to_organization=quang_ninh.branch, letter_date=D(2024, 6, 3))
    member = Member.objects.get(pk=member.pk)
    with pytest.raises(ValidationError) as refused:
        services.record_leaving(hanoi.secretary, member, on=D(2024, 7, 1), reason=PeriodEndReason.RESIGNED)
    assert "status" in refused.value.message_dict


def test_api_lists_transfers_to_both_sides_and_confirms(api_as, provinces):
    hanoi, quang_ninh = provinces.hanoi, provinces.quang_ninh
    member = MemberFactory(organization=hanoi.branch, full_name="Vũ Văn API")
    issued = api_as(hanoi.secretary).post(
        f"/api/v1/members/{member.pk}/transfer/",
        {"on": "2024-06-03", "to_organization": "QN-CB", "decision_number": "7-GGT"},
        format="json",
    )
    assert issued.status_code == 200, issued.content
    receiving = api_as(quang_ninh.secretary)
    rows = receiving.get("/api/v1/transfers/", {"status": "in_transit"}).json()["results"]
    assert [(row["member_name"], row["letter_number"], row["to_organization"]) for row in rows] == [
        ("Vũ Văn API", "7-GGT", "QN-CB")
    ]
    assert receiving.get(f"/api/v1/members/{member.pk}/").status_code == 404
    refused = receiving.post(
        f"/api/v1/transfers/{rows[0]['id']}/confirm/", {"presented_on": "2024-06-01"}, format="json"
    )
    assert refused.status_code == 400 and "presented_on" in refused.json()
    confirmed = receiving.post(
        f"/api/v1/transfers/{rows[0]['id']}/confirm/", {"presented_on": "2024-06-10"}, format="json"
    )
    assert confirmed.status_code == 200 and confirmed.json()["status"] == TransferStatus.RECEIVED
    assert receiving.get(f"/api/v1/members/{member.pk}/").json()["organization"] == "QN-CB"


def test_transfer_form_searches_the_receiving_organisation_and_shows_only_the_chosen_one(client, provinces, tree):
    hanoi = provinces.hanoi
    member = MemberFactory(organization=hanoi.branch)
    url = reverse("branches:member_transfer", args=[member.pk])
    page = login(client, hanoi.secretary).get(url).content.decode()
    assert (
        f'data-autocomplete-url="{reverse("branches:organization_autocomplete")}?set=transfer&amp;value=code"' in page
    )
    assert "QN-CB" not in page and tree.branch_b.name not in page
    future = client.post(url, {"destination": "organization", "to_organization": "QN-CB", "on": "01/01/2200"})
    content = future.content.decode()
    assert "on" in future.context["form"].errors
    assert 'value="QN-CB" selected' in content and tree.branch_b.name not in content
    by_code = client.get(PICKER, {"set": "transfer", "value": "code", "q": "br-b"}).json()["results"]
    assert [row["value"] for row in by_code] == ["BR-B"]


def test_the_redirect_form_picks_the_right_organisation_with_the_picker(client, provinces, tree):
    hanoi = provinces.hanoi
    member = MemberFactory(organization=hanoi.branch, admitted_on=D(2019, 1, 2))
    transfer = services.issue_transfer(
        hanoi.secretary, member, to_organization=tree.branch_b, letter_date=D(2024, 6, 3)
    )
    url = reverse("branches:transfer_redirect", args=[transfer.pk])
    page = login(client, hanoi.secretary).get(url).content.decode()
    picker = reverse("branches:organization_autocomplete")
    assert f'data-autocomplete-url="{picker}?set=transfer&amp;value=code"' in page
    response = client.post(url, {"to_organization": "QN-CB", "reason": "the letter named the wrong branch"})
    assert response.status_code == 302
    transfer.refresh_from_db()
    assert transfer.to_organization == provinces.quang_ninh.branch
