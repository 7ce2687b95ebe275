"""Translations complete (issue 16, deliverable 9): the pager, Django's own strings the project
shows (admin, password fields, form errors) and the 404 of an edit page, in Vietnamese."""

import re
import shutil
import subprocess

import pytest
from django import forms
from django.core.validators import MinValueValidator
from django.http import Http404
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation

from branches import views as branch_views
from core.views import ServiceFormView
from tests.factories import LocalityFactory
from tests.scoped_views import login, make_member


@pytest.mark.parametrize("language", ["vi", "en"])
def test_msgfmt_statistics_report_every_message_translated(settings, language):
    msgfmt = shutil.which("msgfmt")
    assert msgfmt, "GNU gettext (msgfmt) is needed to compile the catalogs"
    po = settings.BASE_DIR / "locale" / language / "LC_MESSAGES" / "django.po"
    result = subprocess.run(  # noqa: S603 - a fixed program on the project's own file
        [msgfmt, "--check", "--statistics", "-o", "/dev/null", str(po)], capture_output=True, text=True, check=True
    )
    report = result.stderr + result.stdout
    assert "translated message" in report
    assert "untranslated" not in report and "fuzzy" not in report, report


def test_the_pager_of_the_lists_is_vietnamese(client, secretary_a, tree, monkeypatch):
    monkeypatch.setattr(branch_views.MemberListView, "paginate_by", 2)
    for n in range(5):
        make_member(tree.branch_a, full_name=f"Nguyễn Văn {n}")
    login(client, secretary_a)
    html = client.get(reverse("branches:member_list"), {"page": 2}).content.decode()
    assert "&laquo;</span> Trước</a>" in html and 'Sau <span aria-hidden="true">&raquo;</span>' in html
    assert not re.search(r"</span>\s*previous|next\s*<span", html)


def test_form_errors_read_as_vietnamese_writes_them():
    with translation.override("vi"):
        with pytest.raises(forms.ValidationError) as whole:
            forms.IntegerField().clean("x")
        assert whole.value.messages == ["Nhập một số nguyên."]
        with pytest.raises(forms.ValidationError) as limit:
            MinValueValidator(0)(-1)
        message = str(limit.value.messages[0]) % limit.value.params
        assert message == "Giá trị phải lớn hơn hoặc bằng 0."  # no space before the full stop


@pytest.fixture
def admin_client(client, administrator, settings):
    settings.OTP_REQUIRED_ROLES = ()
    administrator.is_staff = True
    administrator.save()
    client.force_login(administrator)
    return client


def test_admin_pages_show_no_english_django_strings(admin_client, administrator, tree):
    LocalityFactory(code="00002", name="Xã Hai", kind="commune", parent=tree.province)
    localities = admin_client.get(reverse("admin:enterprises_locality_changelist")).content.decode()
    assert "Hiện số lượng" in localities and "Show counts" not in localities
    assert "Theo cấp trong cây" in localities and "Bởi" not in localities and "By depth" not in localities
    assert "Toggle theme" not in localities
    user = admin_client.get(reverse("admin:auth_user_change", args=[administrator.pk])).content.decode()
    assert "Mật khẩu không được lưu nguyên văn" in user and "Raw passwords" not in user
    assert "Reset password" not in user


def test_admin_form_error_heading_is_vietnamese(admin_client):
    response = admin_client.post(reverse("admin:auth_user_add"), {"username": "", "password1": "", "password2": ""})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Vui lòng sửa các lỗi dưới đây." in html and "Please correct" not in html


def test_an_edit_page_out_of_reach_says_so_in_vietnamese(tree, secretary_a):
    member = make_member(tree.branch_b)
    request = RequestFactory().get("/")
    request.user = secretary_a
    view = branch_views.MemberEditView()
    view.setup(request, pk=member.pk)
    assert isinstance(view, ServiceFormView)
    with translation.override("vi"), pytest.raises(Http404) as refused:
        view.check_access()
    assert str(refused.value) == "Không có đảng viên này, hoặc không thuộc tổ chức của bạn."
