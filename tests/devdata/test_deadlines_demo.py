"""The deadlines of the demo data on its date (30 November 2026, the end of its fixed history), and
the Done-when walk of issue 14 for the demo secretary of HN-CG-HONGHA."""

import datetime
import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from branches import services
from branches.choices import MemberStatus, TransferStatus
from branches.deadlines import WINDOW_DAYS, Kind, deadlines_for
from branches.models import Member, Transfer
from core.workdays import add_working_days, forget_calendar, working_days_between

D = datetime.date
ON = D(2026, 11, 30)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_calendar():
    forget_calendar()
    yield
    forget_calendar()


def test_hanoi_deadlines_json_on_the_demo_date(demo):
    out = io.StringIO()
    with translation.override("vi"):  # the command's language, whatever an earlier test left active
        call_command("deadlines", "--org", "HN", "--date", ON.isoformat(), "--format", "json", stdout=out)
        payload = json.loads(out.getvalue())
        items = deadlines_for(demo.hn, ON)
        expected = [item.as_dict() for item in items]
    assert payload == {"organization": "HN", "date": "2026-11-30", "items": expected}
    assert [item.due_on for item in items] == sorted(item.due_on for item in items)
    horizon = ON + datetime.timedelta(days=WINDOW_DAYS)
    for item in items:
        assert item.organization.startswith("HN")
        assert item.overdue == (item.due_on < ON) and item.due_on <= horizon
        assert item.working_days_left == working_days_between(ON, item.due_on)

    active = Member.objects.filter(organization__path__startswith=demo.hn.path, status=MemberStatus.ACTIVE)
    # Every member still on probation has a review due 30 working days after the 12-month mark (listed
    # when due by the horizon); every admission without a ceremony one within 30 working days of the decision.
    reviews = {
        (m.pk, add_working_days(services.probation_ends_on(admitted_on=m.admitted_on, ceremony_on=m.ceremony_on), 30))
        for m in active.filter(official_on__isnull=True)
    }
    expected_reviews = {(pk, due) for pk, due in reviews if due <= horizon}
    assert {(i.subject_id, i.due_on) for i in items if i.kind == Kind.PROBATION_REVIEW} == expected_reviews
    expected_ceremonies = {
        (m.pk, add_working_days(m.admitted_on, 30)) for m in active.filter(ceremony_on__isnull=True, official_on=None)
    }
    assert {(i.subject_id, i.due_on) for i in items if i.kind == Kind.CEREMONY} == expected_ceremonies
    assert expected_reviews and expected_ceremonies


def test_demo_secretary_cannot_recognise_before_the_twelve_month_mark(demo):
    member = (
        Member.objects.filter(organization=demo.hong_ha, official_on__isnull=True, status=MemberStatus.ACTIVE)
        .order_by("admitted_on")
        .last()
    )
    mark = services.probation_ends_on(admitted_on=member.admitted_on, ceremony_on=member.ceremony_on)
    assert mark > ON
    with services.fixed_today(ON), pytest.raises(ValidationError) as refused:
        services.recognize_official(demo.secretary, member)
    assert "official_on" in refused.value.message_dict
    with services.fixed_today(mark):
        assert services.recognize_official(demo.secretary, member).official_on == mark


def test_demo_secretary_transfers_a_member_that_cai_lan_confirms_from_its_incoming_list(demo, client):
    """Hồng Hà (Hà Nội) sends a member to Cái Lân (Quảng Ninh); the two secretaries see only the
    transfer row of each other's side; the membership at Cái Lân starts on the day presented."""
    member = Member.objects.filter(organization=demo.hong_ha, status=MemberStatus.ACTIVE).order_by("pk").first()
    client.force_login(demo.secretary)
    home = client.get(reverse("home:organization", args=[demo.hong_ha.pk]))
    assert home.status_code == 200 and 'id="deadlines"' in home.content.decode()
    sent = client.post(
        reverse("branches:member_transfer", args=[member.pk]),
        {
            "destination": "organization",
            "to_organization": demo.cai_lan.code,
            "kind": "official",
            "on": "02/12/2024",
            "decision_number": "15-GGT/CB",
        },
    )
    assert sent.status_code == 302, sent.context and sent.context["form"].errors
    transfer = Transfer.objects.get(member=member, status=TransferStatus.IN_TRANSIT)
    assert transfer.to_organization == demo.cai_lan

    client.force_login(demo.cai_lan_secretary)
    assert client.get(reverse("branches:member_detail", args=[member.pk])).status_code == 404
    incoming = client.get(reverse("branches:organization_incoming", args=[demo.cai_lan.pk])).content.decode()
    assert member.full_name in incoming and "15-GGT/CB" in incoming and member.citizen_id not in incoming
    confirmed = client.post(reverse("branches:transfer_confirm", args=[transfer.pk]), {"presented_on": "09/12/2024"})
    assert confirmed.status_code == 302
    member.refresh_from_db()
    assert (member.organization, member.status) == (demo.cai_lan, MemberStatus.ACTIVE)
    assert member.periods.get(ended_on__isnull=True).started_on == D(2024, 12, 9)
