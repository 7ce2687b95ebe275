"""The demo's walk-through member (issue 16): the secretary finds her by typing without marks."""

import pytest

from branches.filtersets import MemberFilterSet
from branches.models import Member


@pytest.mark.django_db
def test_the_demo_secretary_finds_nguyen_thi_hang_typed_without_marks(demo):
    members = Member.objects.visible_to(demo.secretary)
    found = MemberFilterSet({"q": "nguyen thi hang"}, queryset=members).qs
    assert "Nguyễn Thị Hằng" in {member.full_name for member in found}
    assert all(member.organization == demo.hong_ha for member in found if member.full_name == "Nguyễn Thị Hằng")
