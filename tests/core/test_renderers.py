"""The form renderer writing the common widgets in Python (core.renderers) writes what Django's
templates write: values, attributes, options and groups, escaping and localisation alike."""

import datetime

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from core.renderers import QuickWidgetRenderer

STOCK = DjangoTemplates()
QUICK = QuickWidgetRenderer()


def both(widget, name="field", value=None, attrs=None):
    stock = widget.render(name, value, attrs=attrs, renderer=STOCK)
    quick = widget.render(name, value, attrs=attrs, renderer=QUICK)
    return quick, stock


CHOICES = [("", "All"), ("a", "Á <b>&"), (3, 3), ("lazy", gettext_lazy("Members"))]
GROUPED = [("", "—"), ("North", [("hn", "Hà Nội"), ("hp", "Hải Phòng")]), ("x", "Other")]


@pytest.mark.parametrize(
    "widget, value",
    [
        (forms.TextInput(), None),
        (forms.TextInput(), ""),
        (forms.TextInput(), 'Trần "Thị" <Hoa> & co'),
        (forms.TextInput(), mark_safe("<b>safe</b>")),
        (forms.TextInput(attrs={"required": True, "disabled": False, "data-x": 'a"b', "maxlength": 200}), "x"),
        (forms.NumberInput(), 1234567),
        (forms.NumberInput(), 12.5),
        (forms.EmailInput(), "a@b.vn"),
        (forms.PasswordInput(), "secret"),
        (forms.PasswordInput(render_value=True), "secret"),
        (forms.HiddenInput(), 7),
        (forms.DateInput(), datetime.date(2024, 2, 29)),
        (forms.DateInput(format="%d/%m/%Y"), datetime.date(2024, 2, 29)),
        (forms.URLInput(), "https://example.org/?a=1&b=2"),
        (forms.CheckboxInput(), True),
        (forms.CheckboxInput(), False),
        (forms.CheckboxInput(), None),
        (forms.Textarea(), None),
        (forms.Textarea(), ""),
        (forms.Textarea(), "line one\n<script>two</script>"),
        (forms.Select(choices=CHOICES), "a"),
        (forms.Select(choices=CHOICES), 3),
        (forms.Select(choices=CHOICES), None),
        (forms.Select(choices=GROUPED), "hp"),
        (forms.SelectMultiple(choices=CHOICES), ["a", "lazy"]),
        (forms.NullBooleanSelect(), True),
        (forms.NullBooleanSelect(), None),
        (forms.RadioSelect(choices=CHOICES), "a"),  # not written in Python: Django's templates
        (forms.CheckboxSelectMultiple(choices=CHOICES), ["a"]),
        (forms.ClearableFileInput(), None),
    ],
)
@pytest.mark.parametrize("language", ["vi", "en"])
def test_widgets_are_written_as_django_s_templates_write_them(widget, value, language):
    with translation.override(language):
        quick, stock = both(widget, value=value, attrs={"class": "form-control", "id": "id_field"})
    assert quick == stock


def test_localised_numbers_and_labels_follow_the_active_language():
    widget = forms.Select(choices=[(1, 1234.5), (2, datetime.date(2024, 12, 31))])
    for language in ("vi", "en"):
        with translation.override(language):
            quick, stock = both(widget, value=1)
            assert quick == stock


def test_a_widget_of_its_own_template_is_rendered_by_its_template():
    class Own(forms.TextInput):
        template_name = "django/forms/widgets/textarea.html"  # another known template: written in Python

    class Option(forms.Select):
        option_template_name = "django/forms/widgets/input_option.html"  # unknown option template

    quick, stock = both(Own(), value="x")
    assert quick == stock
    quick, stock = both(Option(choices=CHOICES), value="a")
    assert quick == stock


def test_a_template_other_than_django_s_is_used_as_it_is(monkeypatch):
    renderer = QuickWidgetRenderer()
    monkeypatch.setitem(
        __import__("core.renderers").renderers.SOURCES, "django/forms/widgets/attrs.html", "something else"
    )
    assert renderer.writers() == {}
    assert forms.TextInput().render("f", "x", renderer=renderer) == forms.TextInput().render("f", "x", renderer=STOCK)


@pytest.mark.django_db
def test_the_member_form_and_the_list_filters_are_written_as_django_writes_them(tree, secretary_a):
    from branches.filtersets import MemberFilterSet
    from branches.forms import MemberEditForm
    from branches.models import Member
    from tests.factories import MemberFactory

    member = MemberFactory(organization=tree.branch_a, full_name="Lê <Thị> & Sáu")
    member = Member.objects.get(pk=member.pk)
    forms_to_check = [
        MemberEditForm(instance=member, user=secretary_a),
        MemberEditForm(data={"full_name": ""}, instance=member, user=secretary_a),
        MemberFilterSet({"status": "active", "q": "<a>"}, queryset=Member.objects.all()).form,
    ]
    for form in forms_to_check:
        form.is_bound and form.is_valid()
        for field in form:
            quick = field.field.widget.render(
                field.html_name, field.value(), attrs=field.build_widget_attrs({"id": field.auto_id}), renderer=QUICK
            )
            stock = field.field.widget.render(
                field.html_name, field.value(), attrs=field.build_widget_attrs({"id": field.auto_id}), renderer=STOCK
            )
            assert quick == stock, field.name


@pytest.mark.parametrize(
    "choices, value",
    [
        (CHOICES, "a"),
        (CHOICES, 3),
        (CHOICES, "3"),
        (CHOICES, None),
        (CHOICES, ""),
        (CHOICES, "absent"),
        (GROUPED, "hp"),
        (GROUPED, "x"),
        (GROUPED, None),
        ([(None, "none"), ("", "empty"), (1, "one"), (1, "one again")], 1),
        ([("g", [(None, "none in a group"), (2, "two")])], None),
        ([("v", mark_safe("<b>bold</b>")), ("w", 'Trần "Thị" & <Hoa>')], "w"),
    ],
)
@pytest.mark.parametrize("language", ["vi", "en"])
def test_a_quick_select_writes_its_options_as_django_s_templates_write_them(choices, value, language):
    from core.renderers import QuickSelect

    attrs = {"id": "id_field", "class": "form-select", "required": True, "aria-invalid": False}
    with translation.override(language):
        quick = QuickSelect(attrs={"data-x": 'a"b'}, choices=choices).render(
            "field", value, attrs=attrs, renderer=QUICK
        )
        stock = forms.Select(attrs={"data-x": 'a"b'}, choices=choices).render(
            "field", value, attrs=attrs, renderer=STOCK
        )
        assert quick == stock
        assert QuickSelect(choices=choices).render("field", value, renderer=STOCK) == stock.replace(
            ' data-x="a&quot;b"', ""
        ).replace(' id="id_field" class="form-select" required', "")
