"""No membership oracle: a number held outside the user's scope is refused in neutral words, logged,
counted, and repeated probes alert the administrators (issue 17, finding 6)."""

import datetime
import logging

import pytest
from django.core import mail
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils import translation

from branches import services
from dataio.imports import import_members
from tests.dataio.test_io_members_import import csv_bytes, member_row
from tests.factories import MemberFactory

ELSEWHERE_ID, ELSEWHERE_CARD = "001190099999", "PC-ELSEWHERE"
NEUTRAL = "This person cannot be recorded here. Ask the organisation department to check this number."


@pytest.fixture(autouse=True)
def english():
    cache.clear()
    with translation.override("en"):
        yield
    cache.clear()


@pytest.fixture
def security_log(caplog):
    logger = logging.getLogger("security")
    logger.addHandler(caplog.handler)
    caplog.set_level(logging.INFO, logger="security")
    yield caplog
    logger.removeHandler(caplog.handler)


@pytest.fixture
def elsewhere(tree):
    return MemberFactory(organization=tree.branch_b, citizen_id=ELSEWHERE_ID, party_card_number=ELSEWHERE_CARD)


def admit(user, organization, **overrides):
    values = {
        "organization": organization,
        "admitted_on": datetime.date(2024, 2, 3),
        "full_name": "Trần Văn Thử",
        "sex": "male",
        "date_of_birth": datetime.date(2999, 1, 1),  # invalid as well: nothing would be written anyway
        "citizen_id": "001190011111",
        "party_card_number": "",
    }
    values.update(overrides)
    with pytest.raises(ValidationError) as refused:
        services.admit_member(user, **values)
    return refused.value.message_dict


def test_a_citizen_id_held_outside_the_scope_is_refused_in_neutral_words(tree, secretary_a, elsewhere, security_log):
    errors = admit(secretary_a, tree.branch_a, citizen_id=ELSEWHERE_ID, party_card_number=ELSEWHERE_CARD)
    assert errors["citizen_id"] == [NEUTRAL]
    assert errors["party_card_number"] == [NEUTRAL]
    text = " ".join(errors["citizen_id"] + errors["party_card_number"])
    assert "already recorded" not in text and "member" not in text.lower()
    warnings = [r.getMessage() for r in security_log.records if "out-of-scope duplicate" in r.getMessage()]
    assert warnings == [
        "out-of-scope duplicate refused user=secretary_a field=citizen_id",
        "out-of-scope duplicate refused user=secretary_a field=party_card_number",
    ]


def test_department_staff_who_see_the_holder_are_told_plainly(tree, department, secretary_a, elsewhere):
    errors = admit(secretary_a, tree.branch_a, citizen_id="001190011112")  # a fresh number: no duplicate error
    assert "citizen_id" not in errors
    visible = services.MemberHolders()
    assert visible.visible_to(elsewhere.pk, department)
    assert not visible.visible_to(elsewhere.pk, secretary_a)


def test_a_secretary_sees_the_plain_message_for_a_member_of_their_own_branch(tree, secretary_a):
    MemberFactory(organization=tree.branch_a, citizen_id="001190022222")
    errors = admit(secretary_a, tree.branch_a, citizen_id="001190022222")
    assert errors["citizen_id"] == ["A member with this citizen ID is already recorded."]


def test_repeated_probes_alert_the_administrators(tree, secretary_a, elsewhere, settings, security_log):
    settings.ADMINS = [("Admin", "admin@example.org")]
    settings.SCOPE_PROBE_ALERT_AFTER = 3
    for _probe in range(2):
        admit(secretary_a, tree.branch_a, citizen_id=ELSEWHERE_ID)
    assert mail.outbox == []
    admit(secretary_a, tree.branch_a, citizen_id=ELSEWHERE_ID)
    assert len(mail.outbox) == 1
    assert "secretary_a" in mail.outbox[0].subject and "3" in mail.outbox[0].body
    assert any("scope probe alert user=secretary_a count=3" in r.getMessage() for r in security_log.records)


def test_an_import_row_with_a_number_held_outside_the_scope_is_neutral_too(tree, secretary_a, elsewhere):
    result = import_members(
        csv_bytes([member_row(1, **{"citizen ID*": ELSEWHERE_ID})]), organization=tree.branch_a, acting_user=secretary_a
    )
    assert result.has_errors
    messages = [error.message for row in result.rows for error in row.errors]
    assert NEUTRAL in messages
    assert not any("already recorded as a member" in message for message in messages)
