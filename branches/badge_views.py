"""Party badges: the list per committee for a presentation date (page and .xlsx) and the award."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from branches import services
from branches.badges import badge_rows, is_presentation_day, previous_presentation, upcoming_presentations
from branches.deadlines import badge_years_reached
from branches.models import BADGE_YEARS, Member, Organization
from branches.views import MemberActionMixin
from core.dates import today
from core.forms import date_field
from core.scoping import scope_for
from core.spreadsheets import OutColumn, write_xlsx
from core.views import ObjectActionView

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class BadgeListForm(forms.Form):
    organization = forms.CharField(label=_("organisation (code)"), required=False, max_length=40)
    presentation = date_field(
        _("presentation date"), required=False, help_text=_("3 February, 19 May, 2 September or 7 November.")
    )

    def clean_presentation(self):
        day = self.cleaned_data.get("presentation")
        if day is not None and not is_presentation_day(day):
            raise forms.ValidationError(_("Badges are presented on 3 February, 19 May, 2 September or 7 November."))
        return day


def _organization(request, code):
    organizations = Organization.objects.visible_to(request.user)
    if code:
        organization = organizations.filter(code=code).first()
        if organization is None:
            raise Http404(_("No such organisation."))
        return organization
    role = getattr(request, "active_role", None)
    if role and role.organization_id:
        organization = organizations.filter(pk=role.organization_id).first()
        if organization is not None:
            return organization
    organization = organizations.order_by("depth", "path").first()
    if organization is None:
        raise Http404(_("No organisation is recorded yet."))
    return organization


@login_required
def badge_list(request):
    """The members of a committee's subtree reaching each badge age for a presentation date (the
    next one by default), with the awards recorded; ``?format=xlsx`` downloads it."""
    form = BadgeListForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    organization = _organization(request, data.get("organization"))
    choices = upcoming_presentations(today())
    presentation = data.get("presentation") or choices[0]
    rows = badge_rows(organization, presentation, Member.objects.visible_to(request.user))
    if request.GET.get("format") == "xlsx":
        return _xlsx(organization, presentation, rows)
    context = {
        "form": form,
        "organization": organization,
        "presentation": presentation,
        "choices": choices,
        "rows": rows,
        "can_award": scope_for(request.user).may_write_at(organization),
        "counts": [(years, sum(1 for row in rows if row.years == years)) for years in BADGE_YEARS],
    }
    return render(request, "branches/badge_list.html", context)


def _xlsx(organization, presentation, rows):
    columns = [
        OutColumn(str(_("badge (years of Party age)"))),
        OutColumn(str(_("full name"))),
        OutColumn(str(_("date of birth"))),
        OutColumn(str(_("organisation")), text=True),
        OutColumn(str(_("admitted on"))),
        OutColumn(str(_("reaches the Party age on"))),
        OutColumn(str(_("presented on"))),
        OutColumn(str(_("decision number")), text=True),
    ]
    values = (
        [
            row.years,
            row.member.full_name,
            row.member.date_of_birth,
            row.member.organization.code,
            row.member.admitted_on,
            row.reached_on,
            row.award.presented_on if row.award else None,
            row.award.decision_number if row.award else "",
        ]
        for row in rows
    )
    content = write_xlsx(columns, values, title=str(_("Party badges")))
    response = HttpResponse(content, content_type=XLSX)
    filename = f"badges-{organization.code}-{presentation.isoformat()}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class BadgeAwardForm(forms.Form):
    years = forms.TypedChoiceField(label=_("badge"), coerce=int, choices=())
    presented_on = date_field(_("presented on"))
    decision_number = forms.CharField(label=_("decision number"), max_length=60, required=False)

    def __init__(self, *args, member=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["years"].choices = [(y, _("%(years)s years of Party age") % {"years": y}) for y in BADGE_YEARS]
        if not self.is_bound and member is not None:
            presentation = upcoming_presentations(today(), count=1)[0]
            self.fields["presented_on"].initial = presentation
            self.fields["years"].initial = badge_years_reached(
                member.admitted_on, previous_presentation(presentation), presentation
            )


class MemberBadgeView(MemberActionMixin, ObjectActionView):
    form_class = BadgeAwardForm
    object_kwarg = "member"
    title = _("Record a Party badge")
    success_message = _("%(object)s was recorded.")
    submit_label = _("Record")

    def perform(self, form):
        data = form.cleaned_data
        return services.award_badge(
            self.request.user,
            self.object,
            years=data["years"],
            presented_on=data["presented_on"],
            decision_number=data["decision_number"],
            expected_version=self.expected_version(form),
        )

    def get_success_url(self):
        return reverse("branches:member_detail", args=[self.object.pk])
