"""The deadlines of the demo data on its date (31 December 2024), and the Done-when walk of issue 14
for the demo secretary of HN-CG-HONGHA."""

import datetime
import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from branches import services
from branches.choices import MemberStatus
from branches.deadlines import WINDOW_DAYS, Kind, deadlines_for
from branches.models import Member
from core.workdays import add_working_days, forget_calendar, working_days_between

D = datetime.date
ON = D(2024, 12, 31)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_calendar():
    forget_calendar()
    yield
    forget_calendar()


def test_hanoi_deadlines_json_on_the_demo_date(demo):
    out = io.StringIO()
    call_command("deadlines", "--org", "HN", "--date", ON.isoformat(), "--format", "json", stdout=out)
    payload = json.loads(out.getvalue())
    items = deadlines_for(demo.hn, ON)
    assert payload == {"organization": "HN", "date": "2024-12-31", "items": [item.as_dict() for item in items]}
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
