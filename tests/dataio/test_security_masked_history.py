"""Citizen IDs in history and change sets are masked for those who may not edit the record (finding 5)."""

import pytest
from django.urls import reverse

from branches import services
from core.models import mask_citizen_id
from tests.factories import MemberFactory

OLD, NEW = "001190012345", "001190067890"


@pytest.fixture
def corrected(tree, secretary_a):
    member = MemberFactory(organization=tree.branch_a, citizen_id=OLD)
    services.update_member(secretary_a, member, citizen_id=NEW)
    member.refresh_from_db()
    return member


def pages(client, member, secretary_a):
    record = member.history.order_by("-history_id").first()
    created = member.history.order_by("history_id").first()
    return [
        member.get_absolute_url(),
        reverse("io:record_history", args=["member", member.pk]),
        reverse("io:changeset") + f"?user={secretary_a.pk}&date={record.history_date.isoformat()}",
        reverse("io:changeset")
        + f"?date={created.history_date.isoformat()}"
        + (f"&user={created.history_user_id}" if created.history_user_id else ""),
    ]


def test_department_staff_see_only_masked_citizen_ids_in_history(client, corrected, department, secretary_a):
    client.force_login(department)
    for url in pages(client, corrected, secretary_a):
        response = client.get(url)
        if response.status_code == 404 and "changes/set" in url:
            continue  # the factory's creation may have no change set of its own
        assert response.status_code == 200, url
        html = response.content.decode()
        assert OLD not in html and NEW not in html, url
    history = client.get(reverse("io:record_history", args=["member", corrected.pk])).content.decode()
    assert mask_citizen_id(OLD) in history and mask_citizen_id(NEW) in history


def test_those_who_may_edit_see_the_full_ids_in_history(client, corrected, administrator, secretary_a):
    client.force_login(administrator)
    history = client.get(reverse("io:record_history", args=["member", corrected.pk])).content.decode()
    assert OLD in history and NEW in history
    client.force_login(secretary_a)
    detail = client.get(corrected.get_absolute_url()).content.decode()
    assert OLD in detail and NEW in detail


def test_one_masking_rule_everywhere(corrected, department, secretary_a):
    assert corrected.masked_citizen_id == mask_citizen_id(NEW) == "••••••••7890"
    assert corrected.citizen_id_for(department) == mask_citizen_id(NEW)
    assert corrected.citizen_id_for(secretary_a) == NEW
