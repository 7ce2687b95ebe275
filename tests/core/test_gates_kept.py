"""``Model.objects.visible_to(user)`` / ``.editable_by(user)`` return copies of a queryset built once
per manager and scope (``core.models.ScopedManagerMixin``): each scope still gets its own rows, a
copy changed by its caller changes no other, and gates that depend on more than the scope are
built on every call."""

import pytest

from branches.models import Member, Organization, RoleAssignment
from core import models as core_models
from enterprises.models import Enterprise, Locality
from reports.models import Target
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def names(queryset):
    return sorted(str(row) for row in queryset)


def test_each_scope_gets_its_own_rows_turn_after_turn(personas, tree):
    member_a = MemberFactory(organization=tree.branch_a)
    member_b = MemberFactory(organization=tree.branch_b)
    expected = {
        personas.secretary_a: ({member_a.pk}, {member_a.pk}),
        personas.secretary_b: ({member_b.pk}, {member_b.pk}),
        personas.department: ({member_a.pk, member_b.pk}, set()),
        personas.administrator: ({member_a.pk, member_b.pk}, {member_a.pk, member_b.pk}),
    }
    for _turn in range(2):
        for user, (visible, editable) in expected.items():
            assert set(Member.objects.visible_to(user).values_list("pk", flat=True)) == visible
            assert set(Member.objects.editable_by(user).values_list("pk", flat=True)) == editable
    assert {e.pk for e in Enterprise.objects.visible_to(personas.secretary_a)} == {tree.enterprise_a.pk}
    assert {o.pk for o in Organization.objects.visible_to(personas.secretary_b)} == {tree.branch_b.pk}


def test_the_filter_is_built_once_per_scope_and_copies_stay_apart(personas, tree, monkeypatch):
    MemberFactory(organization=tree.branch_a, full_name="Nguyễn Văn An")
    MemberFactory(organization=tree.branch_a, full_name="Trần Thị Bình")
    built = []
    scope_q = core_models.ScopedQuerySetMixin.scope_q

    def counted(queryset, paths):
        built.append(paths)
        return scope_q(queryset, paths)

    monkeypatch.setattr(core_models.ScopedQuerySetMixin, "scope_q", counted)
    monkeypatch.setattr(core_models, "_gated", {})
    first = Member.objects.visible_to(personas.secretary_a).filter(full_name="Nguyễn Văn An")
    second = Member.objects.visible_to(personas.secretary_a)
    assert len(built) == 1
    Member.objects.visible_to(personas.department)
    assert len(built) == 2
    assert names(first) == names(Member.objects.filter(full_name="Nguyễn Văn An"))
    assert sorted(m.full_name for m in second) == ["Nguyễn Văn An", "Trần Thị Bình"]
    assert Member.objects.visible_to(personas.secretary_a).count() == 2
    assert len(built) == 2
    MemberFactory(organization=tree.branch_a, full_name="Lê Thị Cúc")  # no copy kept the rows it read
    assert len(Member.objects.visible_to(personas.secretary_a)) == 3


def test_gates_that_depend_on_more_than_the_scope_are_built_each_time(personas, tree):
    assert not core_models.follows_scope(type(RoleAssignment.objects.all()), "visible_to")
    assert not core_models.follows_scope(type(Locality.objects.all()), "visible_to")
    assert not core_models.follows_scope(type(Target.objects.all()), "editable_by")
    assert core_models.follows_scope(type(Target.objects.all()), "visible_to")
    assert core_models.follows_scope(type(Member.objects.all()), "editable_by")
    mine = RoleAssignment.objects.visible_to(personas.secretary_a)
    theirs = RoleAssignment.objects.visible_to(personas.secretary_b)
    assert {a.user_id for a in mine} == {personas.secretary_a.pk}
    assert {a.user_id for a in theirs} == {personas.secretary_b.pk}


def test_a_gate_called_on_a_queryset_filters_that_queryset(personas, tree):
    MemberFactory(organization=tree.branch_a, full_name="Nguyễn Văn An")
    MemberFactory(organization=tree.branch_b, full_name="Lê Văn Cường")
    narrowed = Member.objects.filter(full_name__startswith="L").visible_to(personas.department)
    assert names(narrowed) == names(Member.objects.filter(full_name="Lê Văn Cường"))
    assert list(Member.objects.filter(full_name__startswith="L").visible_to(personas.secretary_a)) == []
