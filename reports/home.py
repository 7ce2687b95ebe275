"""Home pages: the organisation at a glance for its secretary (members, prospects, enterprises and their unions).

It sits in the top domain layer because it reads every app's records."""

from django.db.models import Count
from django.urls import reverse
from django.utils.http import urlencode
from django.views.generic import DetailView

from branches.choices import OPEN_PROSPECT_STAGES, ProspectStage
from branches.deadlines import deadlines_for
from branches.models import Member, Organization, Prospect, Transfer
from branches.views import probationary_due
from core.dates import today
from core.scoping import scope_for
from core.views import (
    ScopedViewMixin,
)
from enterprises.models import Enterprise, MassOrganization, enterprise_scope_q
from enterprises.views import with_latest_return


class OrganizationHomeView(ScopedViewMixin, DetailView):
    """A secretary's home: the organisation at a glance."""

    model = Organization
    related = ("enterprise__locality", "enterprise__managing_committee", "locality")
    template_name = "branches/organization_home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        organization = self.object
        on = today()
        members = Member.objects.visible_to(user).filter(organization__path__startswith=organization.path)
        stages = dict(
            Prospect.objects.visible_to(user)
            .filter(organization__path__startswith=organization.path)
            .values_list("stage")
            .annotate(n=Count("pk"))
            .values_list("stage", "n")
        )
        context.update(
            today=on,
            active_members=members.active().count(),
            business_owners=members.active().filter(is_business_owner=True).count(),
            due=probationary_due(members.select_related("organization"), on),
            deadlines=deadlines_for(
                organization,
                on,
                members=Member.objects.visible_to(user),
                prospects=Prospect.objects.visible_to(user),
                transfers=Transfer.objects.visible_to(user),
            ),
            prospect_stages=[(stage, stages.get(stage.value, 0)) for stage in ProspectStage],
            open_prospects=sum(stages.get(stage.value, 0) for stage in OPEN_PROSPECT_STAGES),
            mass_organizations=with_latest_return(
                MassOrganization.objects.visible_to(user)
                .filter(enterprise_scope_q((organization.path,), prefix="enterprise__"))
                .select_related("enterprise")
            ).order_by("enterprise__sort_name", "kind"),
            enterprises=Enterprise.objects.visible_to(user)
            .filter(organizations__path__startswith=organization.path)
            .select_related("locality", "managing_committee")
            .distinct()[:10],
            can_write=Organization.objects.editable_by(user).filter(pk=organization.pk).exists(),
            reports_url=(
                f"{reverse('reports:dashboard')}?{urlencode({'organization': organization.code})}"
                if scope_for(user).reads_reports_of(organization)
                else None
            ),
        )
        return context
