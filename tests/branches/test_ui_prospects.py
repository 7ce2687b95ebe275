"""Prospect pages: the persona contract, the pipeline, withdrawal and admission from a prospect."""

from django.urls import reverse

from branches.choices import ProspectStage
from branches.models import Member, Prospect
from core.dates import today
from tests.factories import ProspectFactory
from tests.scoped_views import ScopedWriteViewsContract, login


def make_prospect(tree, **kwargs):
    kwargs.setdefault("is_business_owner", False)
    return ProspectFactory(organization=tree.branch_a, enterprise=tree.enterprise_a, **kwargs)


class TestProspectViews(ScopedWriteViewsContract):
    list_url_name = "branches:prospect_list"
    detail_url_name = "branches:prospect_detail"
    add_url_name = "branches:prospect_add"
    edit_url_name = "branches:prospect_edit"
    foreign_field = "organization"
    max_list_queries = 18  # the table, plus one count and one query per open stage of the pipeline

    def make_object(self, tree):
        return make_prospect(tree)

    def list_marker(self, obj):
        return obj.full_name

    def create_data(self, tree):
        return {
            "full_name": "Vũ Thị Mới",
            "sex": "female",
            "date_of_birth": "1998-04-04",
            "citizen_id": "001098000777",
            "enterprise": tree.enterprise_a.pk,
            "position": "worker",
            "organization": tree.branch_a.pk,
            "identified_on": "2024-02-01",
            "course_completed_on": "2024-03-01",
        }

    def foreign_create_data(self, tree):
        return self.create_data(tree)

    def created_rows(self, tree):
        return Prospect.objects.filter(full_name="Vũ Thị Mới")

    def edit_data(self, obj, tree):
        return {
            "full_name": obj.full_name,
            "sex": obj.sex,
            "date_of_birth": obj.date_of_birth.isoformat(),
            "citizen_id": obj.citizen_id,
            "enterprise": tree.enterprise_a.pk,
            "position": obj.position,
            "organization": tree.branch_a.pk,
            "identified_on": obj.identified_on.isoformat(),
            "course_completed_on": "2024-02-15",
            "dossier_completed_on": "2024-03-20",
        }

    def was_edited(self, obj):
        obj.refresh_from_db()
        return obj.stage == ProspectStage.DOSSIER_COMPLETE


def test_pipeline_groups_open_prospects_by_stage(client, tree, secretary_a):
    make_prospect(tree, full_name="Người Mới Xác Định")
    make_prospect(tree, full_name="Người Đã Học", stage=ProspectStage.COURSE_DONE)
    response = login(client, secretary_a).get(reverse("branches:prospect_list"))
    pipeline = {stage.value: [p.full_name for p in rows] for stage, rows, _count in response.context["pipeline"]}
    assert pipeline[ProspectStage.IDENTIFIED] == ["Người Mới Xác Định"]
    assert pipeline[ProspectStage.COURSE_DONE] == ["Người Đã Học"]
    assert pipeline[ProspectStage.DOSSIER_COMPLETE] == []


def test_create_prospect_stage_follows_dates(client, tree, secretary_a):
    login(client, secretary_a).post(reverse("branches:prospect_add"), TestProspectViews().create_data(tree))
    assert Prospect.objects.get(full_name="Vũ Thị Mới").stage == ProspectStage.COURSE_DONE


def test_admit_prospect_creates_member_in_sponsoring_organisation(client, tree, secretary_a):
    prospect = make_prospect(tree, full_name="Đặng Văn Kết Nạp", ready=True)
    login(client, secretary_a)
    url = reverse("branches:prospect_admit", args=[prospect.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"admitted_on": today().isoformat(), "party_card_number": "PC-NEW-1"}, follow=True)
    member = Member.objects.get(full_name="Đặng Văn Kết Nạp")
    assert member.organization == tree.branch_a and member.admitted_by == tree.branch_a
    prospect.refresh_from_db()
    assert prospect.stage == ProspectStage.ADMITTED and prospect.member == member
    assert response.request["PATH_INFO"] == reverse("branches:member_detail", args=[member.pk])
    assert "Đặng Văn Kết Nạp" in client.get(reverse("branches:member_list")).content.decode()


def test_admit_prospect_twice_is_refused(client, tree, secretary_a):
    prospect = make_prospect(tree, ready=True)
    login(client, secretary_a)
    url = reverse("branches:prospect_admit", args=[prospect.pk])
    client.post(url, {"admitted_on": today().isoformat()})
    response = client.post(url, {"admitted_on": today().isoformat()})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert Member.objects.filter(full_name=prospect.full_name).count() == 1


def test_withdraw_prospect_after_confirmation(client, tree, secretary_a):
    prospect = make_prospect(tree)
    login(client, secretary_a)
    url = reverse("branches:prospect_withdraw", args=[prospect.pk])
    assert client.get(url).context["destructive"]
    assert client.post(url, {"closed_on": today().isoformat()}).status_code == 302
    prospect.refresh_from_db()
    assert prospect.stage == ProspectStage.WITHDRAWN


def test_prospect_actions_are_403_for_department_and_404_for_outsider(client, tree, department, secretary_b):
    prospect = make_prospect(tree)
    for name, data in [
        ("branches:prospect_admit", {"admitted_on": today().isoformat()}),
        ("branches:prospect_withdraw", {"closed_on": today().isoformat()}),
    ]:
        url = reverse(name, args=[prospect.pk])
        assert login(client, department).post(url, data).status_code == 403
        assert login(client, secretary_b).post(url, data).status_code == 404
    prospect.refresh_from_db()
    assert prospect.stage == ProspectStage.IDENTIFIED


def test_pipeline_counts_every_prospect_but_shows_a_bounded_number_of_cards(client, tree, secretary_a, settings):
    from branches.views import ProspectListView

    for _ in range(ProspectListView.cards_per_stage + 2):
        make_prospect(tree)
    response = login(client, secretary_a).get(reverse("branches:prospect_list"))
    stage, rows, count = response.context["pipeline"][0]
    assert stage == ProspectStage.IDENTIFIED
    assert count == ProspectListView.cards_per_stage + 2 and len(rows) == ProspectListView.cards_per_stage
    assert "stage=identified" in response.content.decode()
