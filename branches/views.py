"""Pages of organisations, members and prospects, and the generic scoped views every app reuses.

The generic views below only name a queryset, a table, a filterset and a form (NetBox style).
Rows always come from ``Model.objects.visible_to(user)`` (outsiders get 404); a write first
asks ``editable_by(user)`` (read-only roles get 403), then calls one service function, whose
``ValidationError`` becomes form errors and whose ``PermissionDenied`` becomes a 403.
"""

import datetime

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Case, Count, When
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django.views.generic import TemplateView

from branches import services
from branches.choices import (
    OPEN_PROSPECT_STAGES,
    MemberStatus,
    OrganizationKind,
    PeriodEndReason,
    ProspectStage,
    RoleKey,
    TransferStatus,
)
from branches.filtersets import MemberFilterSet, OrganizationFilterSet, ProspectFilterSet
from branches.forms import (
    ORGANIZATION_CHOICE_SETS,
    AdmissionCorrectionForm,
    AsOfForm,
    CancelTransferForm,
    CeremonyForm,
    ConfirmTransferForm,
    EndTemporaryTransferForm,
    LeavingForm,
    MemberAdmitForm,
    MemberEditForm,
    ProspectAdmitForm,
    ProspectForm,
    ProspectWithdrawForm,
    RecognizeOfficialForm,
    RedirectTransferForm,
    TransferForm,
    UndoLeavingForm,
)
from branches.models import (
    BadgeAward,
    Member,
    MembershipPeriod,
    Organization,
    OrganizationVersion,
    Prospect,
    RoleAssignment,
    Transfer,
    enterprise_model,
)
from branches.structure import timeline, tree_as_of
from branches.tables import MemberTable, OrganizationTable, ProspectTable
from core.dates import add_years
from core.middleware import ACTIVE_ROLE_SESSION_KEY
from core.models import display_name
from core.prepared import PreparedQuery
from core.scoping import role_assignments, scope_for
from core.views import (
    AutocompleteView,
    ObjectActionView,
    ObjectCreateView,
    ObjectDetailView,
    ObjectListView,
    ScopedViewMixin,
    changed_values,
    history_entries,
    history_records,
    reverse_or_none,
    top_depth,
)
from security.access import password_change_done

# Sign-in, home and role switch ------------------------------------------------------------


class SignInView(auth_views.LoginView):
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        user = form.get_user()
        messages.success(self.request, _("Welcome, %(name)s.") % {"name": display_name(user)})
        return response


class SignOutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, _("You have signed out."))
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    def form_valid(self, form):
        response = super().form_valid(form)
        password_change_done(self.request)
        messages.success(self.request, _("Your password was changed."))
        return response


def _ended_organizations(user):
    """The organisations of ``user``'s roles when every one of them has ended (a restructuring that
    left no successor for their roles to pass to), else ``[]``. Reads the assignments already loaded."""
    organizations = [assignment.organization for assignment in role_assignments(user)]
    today = services.today()
    if not organizations or any(o is None or o.dissolved_on is None or o.dissolved_on > today for o in organizations):
        return []
    return organizations


@login_required
def home(request):
    """Send each role to its home: secretaries to their organisation, department staff to the dashboard.
    A user whose organisations all ended is told so, instead of landing on an empty page."""
    ended = _ended_organizations(request.user)
    if ended:
        versions = {
            version.organization_id: version
            for version in OrganizationVersion.objects.filter(organization__in=ended, valid_to__isnull=False)
            .select_related("successor")
            .order_by("valid_to")
        }
        rows = [(organization, versions.get(organization.pk)) for organization in ended]
        return render(request, "branches/organization_ended.html", {"ended": rows})
    role = request.active_role
    if role and role.role == RoleKey.SECRETARY and role.organization_id:
        return redirect("home:organization", pk=role.organization_id)
    if role and role.role == RoleKey.DEPARTMENT:
        return redirect(reverse_or_none("reports:dashboard") or reverse("branches:member_list"))
    if scope_for(request.user).administers:
        return redirect("branches:organization_tree")
    return redirect("branches:organization_list")


@require_POST
@login_required
def switch_role(request):
    assignment = get_object_or_404(
        RoleAssignment.objects.filter(user=request.user).select_related("organization"),
        pk=request.POST.get("assignment") or 0,
    )
    request.session[ACTIVE_ROLE_SESSION_KEY] = assignment.pk
    messages.success(request, _("You now work as %(role)s.") % {"role": assignment})
    return redirect("home")


# Organisations ----------------------------------------------------------------------------


class OrganizationListView(ObjectListView):
    export_kind = "organizations"
    model = Organization
    related = ("enterprise",)
    only = (
        *("name", "code", "kind", "depth", "path", "established_on", "dissolved_on"),
        *("enterprise__name", "enterprise__tax_code"),
    )
    table_class = OrganizationTable
    filterset_class = OrganizationFilterSet
    paginate_by = 50

    def get_table_kwargs(self):
        return {**super().get_table_kwargs(), "top_depth": top_depth(self.request.user)}


class OrganizationTreeView(ScopedViewMixin, TemplateView):
    """The visible tree, indented, in pages; administrators get links to the admin pages that change it.

    Every organisation is reachable (issue 16): the pages go on (``?page=``), ``?within=<pk>`` shows
    one committee's subtree, and the committees just below the top (or below ``within``) are listed
    as shortcuts above the tree.
    """

    model = Organization
    template_name = "branches/organization_tree.html"

    paginate_by = 200
    max_shortcuts = 200

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        as_of_form = AsOfForm(self.request.GET or None)
        as_of = as_of_form.date()
        context.update(as_of_form=as_of_form, as_of=as_of, is_past=as_of < services.today())
        if context["is_past"]:
            # The tree of that date, from the dated states: names and parents as they were then.
            nodes = tree_as_of(self.get_queryset(), as_of)
            page = Paginator(nodes, self.paginate_by).get_page(self.request.GET.get("page"))
            organizations = []
            for node in page.object_list:
                organization = node.organization
                organization.name = node.name
                organization.indent = min(node.depth, 10)
                organizations.append(organization)
            context.update(organizations=organizations, page_obj=page, is_administrator=False)
            return context
        visible = self.get_queryset()
        within = self._within(visible)
        top = top_depth(self.request.user)
        rows = visible.filter(path__startswith=within.path) if within else visible
        page = Paginator(rows.order_by("path"), self.paginate_by).get_page(self.request.GET.get("page"))
        is_administrator = scope_for(self.request.user).administers
        # One reverse for the admin's change page, not one per row.
        change_url = reverse_or_none("admin:branches_organization_change", 0) if is_administrator else None
        for organization in page.object_list:
            organization.indent = min(max(organization.depth - (within.depth if within else top) + 1, 1), 10)
            if change_url:
                organization.admin_url = change_url.replace("/0/", f"/{organization.pk}/")
        if within:
            shortcuts = visible.filter(path__startswith=within.path, depth=within.depth + 1)
            ancestors = visible.filter(
                path__in=[
                    within.path[:end] for end in range(Organization.steplen, len(within.path), Organization.steplen)
                ]
            ).order_by("path")
        else:
            shortcuts = visible.filter(depth__lte=top + 1)
            ancestors = []
        shortcuts = list(
            shortcuts.filter(kind=OrganizationKind.COMMITTEE)
            .order_by("path")
            .only("pk", "name", "code", "depth")[: self.max_shortcuts]
        )
        context.update(
            organizations=page.object_list,
            page_obj=page,
            is_administrator=is_administrator,
            within=within,
            ancestors=ancestors,
            shortcuts=shortcuts,
        )
        return context

    def _within(self, visible):
        value = self.request.GET.get("within", "")
        if not value.isdigit() or len(value) > 18:
            return None
        return visible.filter(pk=int(value)).first()


class OrganizationDetailView(ObjectDetailView):
    model = Organization
    related = ("enterprise", "locality")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        organization = self.object
        visible = Organization.objects.visible_to(self.request.user)
        context["ancestors"] = visible.filter(
            path__in=[organization.path[:end] for end in range(4, len(organization.path), 4)]
        ).order_by("path")
        context["children"] = visible.children_of(organization).select_related("enterprise")
        context["active_members"] = (
            Member.objects.visible_to(self.request.user)
            .active()
            .filter(organization__path__startswith=organization.path)
            .count()
        )
        context["timeline"] = timeline(organization)
        context["can_edit"] = False  # the tree is changed in the admin by administrators
        context["is_administrator"] = scope_for(self.request.user).administers
        return context


def probationary_due(members, on, within_days=60):
    """Probationary members whose twelve months end within ``within_days`` of ``on`` (or already ended)."""
    latest_admission = add_years(on + datetime.timedelta(days=within_days), -1)
    due = []
    for member in (
        members.active().filter(official_on__isnull=True, admitted_on__lte=latest_admission).order_by("admitted_on")
    ):
        member.due_on = services.default_official_date(member.admitted_on, member.ceremony_on)
        member.overdue = member.due_on < on
        due.append(member)
    return due


# Members ----------------------------------------------------------------------------------


class MemberListView(ObjectListView):
    export_kind = "members"
    model = Member
    related = ("organization", "enterprise")
    only = (
        *("full_name", "party_card_number", "citizen_id", "position", "is_business_owner"),
        *("admitted_on", "official_on", "status"),
        *("organization__name", "organization__code", "enterprise__name", "enterprise__tax_code"),
    )
    table_class = MemberTable
    filterset_class = MemberFilterSet
    add_url_name = "branches:member_admit"


class MemberDetailView(ObjectDetailView):
    model = Member
    related = ("organization", "enterprise", "admitted_by")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        member = self.object
        user = self.request.user
        shape = scope_for(user)
        context["periods"] = _periods_of(member.pk)
        # Labels only for the organisations and enterprises a change in the history names (most
        # members never moved: no look-up at all).
        records = history_records(member)
        org_ids = changed_values(records, "organization_id", "admitted_by_id")
        ent_ids = changed_values(records, "enterprise_id")
        organizations = (
            {o.pk: str(o) for o in Organization.objects.visible_to(user).filter(pk__in=org_ids)} if org_ids else {}
        )
        enterprises = (
            {e.pk: str(e) for e in enterprise_model().objects.visible_to(user).filter(pk__in=ent_ids)}
            if ent_ids
            else {}
        )
        context["history"] = history_entries(
            member,
            {"organization": organizations, "admitted_by": organizations, "enterprise": enterprises},
            user=user,
            editable=context["can_edit"],  # read once for the page (ObjectDetailView)
            records=records,
        )
        prospects = _prospects_of(member.pk, shape=shape, user=user)
        context["prospect"] = prospects[0] if prospects else None
        context["is_active"] = member.status == MemberStatus.ACTIVE
        context["badges"] = _badges_of(member.pk)
        context["transfers"] = _transfers_of(member.pk, shape=shape, user=user)
        context["undoable_leaving"] = member.status == MemberStatus.LEFT
        context["today"] = services.today()
        return context


# What the member page reads besides the member, each compiled once per connection (and viewer's
# scope where the rows are scoped): core.prepared.
_periods_of = PreparedQuery(
    lambda member_id: (
        MembershipPeriod.objects.filter(member_id=member_id).select_related("organization").order_by("started_on")
    )
)
_badges_of = PreparedQuery(lambda member_id: BadgeAward.objects.filter(member_id=member_id).order_by("years"))
_prospects_of = PreparedQuery(lambda member_id, user: Prospect.objects.visible_to(user).filter(member_id=member_id)[:1])
_transfers_of = PreparedQuery(
    lambda member_id, user: (
        Transfer.objects.visible_to(user)
        .filter(member_id=member_id)
        .select_related("from_organization", "to_organization")
        .order_by("-letter_date", "-id")
    )
)


class MemberActionMixin:
    model = Member

    def get_queryset(self):
        return Member.objects.visible_to(self.request.user).select_related("organization")


class MemberAdmitView(ObjectCreateView):
    form_class = MemberAdmitForm
    title = gettext_lazy("Admit a member")
    success_message = gettext_lazy("%(object)s was admitted.")
    submit_label = gettext_lazy("Admit")

    def perform(self, form):
        return services.admit_member(self.request.user, **form.values())


class MemberEditView(MemberActionMixin, ObjectActionView):
    form_class = MemberEditForm
    model_form = True
    title = gettext_lazy("Edit member")
    success_message = gettext_lazy("The record of %(object)s was saved.")

    def perform(self, form):
        return services.update_member(self.request.user, self.object, **form.values())


class MemberRecognizeView(MemberActionMixin, ObjectActionView):
    form_class = RecognizeOfficialForm
    object_kwarg = "member"
    title = gettext_lazy("Recognise as official member")
    success_message = gettext_lazy("%(object)s is now an official member.")
    submit_label = gettext_lazy("Recognise")

    def perform(self, form):
        return services.recognize_official(self.request.user, self.object, **form.cleaned_data)


class MemberCeremonyView(MemberActionMixin, ObjectActionView):
    form_class = CeremonyForm
    object_kwarg = "member"
    title = gettext_lazy("Record the admission ceremony")
    success_message = gettext_lazy("The admission ceremony of %(object)s was recorded.")
    submit_label = gettext_lazy("Record")

    def perform(self, form):
        return services.record_ceremony(self.request.user, self.object, **form.cleaned_data)


class MemberTransferView(MemberActionMixin, ObjectActionView):
    form_class = TransferForm
    object_kwarg = "member"
    title = gettext_lazy("Transfer Party activity")
    success_message = gettext_lazy("The Party activity of %(object)s was transferred.")
    submit_label = gettext_lazy("Confirm the transfer")
    destructive = True
    warning = gettext_lazy(
        "An official transfer ends the membership here on its date; the member is in transit until the "
        "receiving organisation confirms the date the letter was presented."
    )

    def perform(self, form):
        data = form.cleaned_data
        return services.transfer_member(
            self.request.user,
            self.object,
            on=data["on"],
            to_organization=data["to_organization"],
            decision_number=data["decision_number"],
            decided_on=data["decided_on"],
            kind=data["kind"],
            ends_on=data["ends_on"],
            expected_version=self.expected_version(form),
        )

    def get_success_message(self):
        if self.result.status == MemberStatus.IN_TRANSIT:
            return _(
                "The transfer of %(object)s was issued: it is in transit until the receiving organisation confirms it."
            ) % {"object": self.result}
        return super().get_success_message()

    def get_success_url(self):
        # The member may now sit outside the user's scope: go back to the list then.
        if Member.objects.visible_to(self.request.user).filter(pk=self.result.pk).exists():
            return self.result.get_absolute_url()
        return reverse("branches:member_list")


class MemberLeaveView(MemberActionMixin, ObjectActionView):
    form_class = LeavingForm
    object_kwarg = "member"
    title = gettext_lazy("Record leaving the Party")
    success_message = gettext_lazy("%(object)s was recorded as having left the Party.")
    submit_label = gettext_lazy("Confirm")
    destructive = True
    warning = gettext_lazy("This ends the membership. It cannot be undone from this page.")

    def perform(self, form):
        return services.record_leaving(self.request.user, self.object, **form.cleaned_data)


# Transfers in transit, incoming and former members -------------------------------------------


class OrganizationTransfersView(ScopedViewMixin, TemplateView):
    """One organisation's list of transfers (its subtree's), read-only: name, letter and dates only."""

    model = Organization
    template_name = "branches/transfer_list.html"
    paginate_by = 50

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        organization = get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])
        user = self.request.user
        context.update(
            organization=organization,
            today=services.today(),
            can_write=Organization.objects.editable_by(user).filter(pk=organization.pk).exists(),
        )
        return context


class IncomingTransfersView(OrganizationTransfersView):
    """Members transferred to the organisation: in transit (to confirm), hosted for a while, received."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        organization = context["organization"]
        transfers = (
            Transfer.objects.visible_to(self.request.user)
            .received_by(organization)
            .select_related("member", "from_organization", "to_organization")
            .order_by(Case(When(status=TransferStatus.IN_TRANSIT, then=0), default=1), "due_on", "-id")
        )
        page = Paginator(transfers, self.paginate_by).get_page(self.request.GET.get("page"))
        context.update(incoming=True, rows=page.object_list, page_obj=page, title=_("Incoming transfers"))
        return context


class FormerMembersView(OrganizationTransfersView):
    """Members who left the organisation (transferred, to the place of residence, left the Party):
    name, date, reason, destination, letter; no personal details (the record is no longer here)."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        organization = context["organization"]
        periods = (
            MembershipPeriod.objects.filter(organization__path__startswith=organization.path, ended_on__isnull=False)
            .exclude(end_reason=PeriodEndReason.MERGED)
            .exclude(member__status=MemberStatus.ACTIVE, member__organization__path__startswith=organization.path)
            .select_related("member", "organization")
            .order_by("-ended_on", "-id")
        )
        page = Paginator(periods, self.paginate_by).get_page(self.request.GET.get("page"))
        rows = list(page.object_list)
        transfers = {
            (t.member_id, t.from_organization_id, t.left_on): t
            for t in Transfer.objects.filter(member_id__in={p.member_id for p in rows}, kind="official").select_related(
                "to_organization"
            )
        }
        for period in rows:
            period.transfer = transfers.get((period.member_id, period.organization_id, period.ended_on))
        context.update(incoming=False, rows=rows, page_obj=page, title=_("Former members"))
        return context


class TransferActionMixin:
    model = Transfer
    object_kwarg = "transfer"

    def get_queryset(self):
        return Transfer.objects.visible_to(self.request.user).select_related(
            "member", "from_organization", "to_organization"
        )

    def get_title(self):
        return f"{self.title}: {self.object.member.full_name}"


class TransferConfirmView(TransferActionMixin, ObjectActionView):
    form_class = ConfirmTransferForm
    title = gettext_lazy("Confirm the transfer received")
    success_message = gettext_lazy("The transfer of %(object)s was received.")
    submit_label = gettext_lazy("Confirm")

    def perform(self, form):
        return services.confirm_transfer(
            self.request.user,
            self.object,
            presented_on=form.cleaned_data["presented_on"],
            expected_version=self.expected_version(form),
        )

    def get_success_message(self):
        return str(self.success_message) % {"object": self.result.member.full_name}

    def get_success_url(self):
        return reverse("branches:organization_incoming", args=[self.result.to_organization_id])

    def get_cancel_url(self):
        return reverse("branches:organization_incoming", args=[self.object.to_organization_id])


class TransferCancelView(TransferActionMixin, ObjectActionView):
    form_class = CancelTransferForm
    title = gettext_lazy("Cancel the transfer")
    success_message = gettext_lazy("The transfer of %(object)s was cancelled: the membership here continues.")
    submit_label = gettext_lazy("Cancel the transfer")
    destructive = True
    warning = gettext_lazy("The membership that the transfer ended reopens as if it had not ended.")

    def perform(self, form):
        return services.cancel_transfer(
            self.request.user,
            self.object,
            reason=form.cleaned_data["reason"],
            expected_version=self.expected_version(form),
        )

    def get_success_message(self):
        return str(self.success_message) % {"object": self.result.member.full_name}

    def get_success_url(self):
        return reverse("branches:member_detail", args=[self.result.member_id])

    def get_cancel_url(self):
        return reverse("branches:member_detail", args=[self.object.member_id])


class TransferEndView(TransferActionMixin, ObjectActionView):
    form_class = EndTemporaryTransferForm
    title = gettext_lazy("End the temporary transfer")
    success_message = gettext_lazy("The temporary transfer of %(object)s has ended.")
    submit_label = gettext_lazy("End")

    def perform(self, form):
        return services.end_temporary_transfer(
            self.request.user, self.object, expected_version=self.expected_version(form)
        )

    def get_success_message(self):
        return str(self.success_message) % {"object": self.result.member.full_name}

    def get_success_url(self):
        return self.get_cancel_url()

    def get_cancel_url(self):
        return self.request.META.get("HTTP_REFERER") or reverse("home")


class TransferRedirectView(TransferCancelView):
    form_class = RedirectTransferForm
    title = gettext_lazy("Send the transfer to another organisation")
    success_message = gettext_lazy("The transfer of %(object)s now goes to the organisation corrected.")
    submit_label = gettext_lazy("Correct the receiving organisation")
    destructive = False
    warning = ""

    def perform(self, form):
        return services.redirect_transfer(
            self.request.user,
            self.object,
            to_organization=form.cleaned_data["to_organization"],
            reason=form.cleaned_data["reason"],
            expected_version=self.expected_version(form),
        )


class MemberCorrectAdmissionView(MemberActionMixin, ObjectActionView):
    form_class = AdmissionCorrectionForm
    object_kwarg = "member"
    title = gettext_lazy("Correct the admission")
    success_message = gettext_lazy("The admission of %(object)s was corrected.")
    submit_label = gettext_lazy("Correct")

    def perform(self, form):
        data = dict(form.cleaned_data)
        data.pop("expected_version", None)
        return services.correct_admission(
            self.request.user, self.object, expected_version=self.expected_version(form), **data
        )


class MemberUndoLeavingView(MemberActionMixin, ObjectActionView):
    form_class = UndoLeavingForm
    object_kwarg = "member"
    title = gettext_lazy("Undo a leaving recorded by mistake")
    success_message = gettext_lazy("%(object)s is an active member again.")
    submit_label = gettext_lazy("Undo the leaving")
    destructive = True
    warning = gettext_lazy("The membership that the leaving ended reopens as if it had not ended.")

    def perform(self, form):
        return services.undo_leaving(
            self.request.user,
            self.object,
            reason=form.cleaned_data["reason"],
            expected_version=self.expected_version(form),
        )


# Prospects --------------------------------------------------------------------------------


class ProspectListView(ObjectListView):
    """The pipeline: open prospects grouped by stage, and the full table below."""

    export_kind = "prospects"

    model = Prospect
    related = ("organization", "enterprise")
    table_class = ProspectTable
    filterset_class = ProspectFilterSet
    add_url_name = "branches:prospect_add"
    template_name = "branches/prospect_list.html"
    title = gettext_lazy("Prospects")
    cards_per_stage = 50

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        filtered = self.object_list
        counts = dict(filtered.order_by().values_list("stage").annotate(n=Count("pk")).values_list("stage", "n"))
        context["pipeline"] = [
            (
                ProspectStage(stage),
                list(filtered.filter(stage=stage).order_by("sort_name")[: self.cards_per_stage]),
                counts.get(stage, 0),
            )
            for stage in OPEN_PROSPECT_STAGES
        ]
        return context


class ProspectDetailView(ObjectDetailView):
    model = Prospect
    related = ("organization", "enterprise", "member")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["is_open"] = self.object.stage in OPEN_PROSPECT_STAGES
        user = self.request.user
        organizations = {
            o.pk: str(o)
            for o in Organization.objects.visible_to(user).filter(
                pk__in=self.object.history.values_list("organization_id", flat=True)
            )
        }
        enterprises = {
            e.pk: str(e)
            for e in enterprise_model()
            .objects.visible_to(user)
            .filter(pk__in=self.object.history.values_list("enterprise_id", flat=True))
        }
        context["history"] = history_entries(
            self.object, {"organization": organizations, "enterprise": enterprises, "member": {}}, user=user
        )
        return context


class ProspectActionMixin:
    model = Prospect

    def get_queryset(self):
        return Prospect.objects.visible_to(self.request.user).select_related("organization")


class ProspectCreateView(ObjectCreateView):
    form_class = ProspectForm
    title = gettext_lazy("Add a prospect")
    success_message = gettext_lazy("%(object)s was added to the prospects.")

    def perform(self, form):
        return services.create_prospect(self.request.user, **form.values())


class ProspectEditView(ProspectActionMixin, ObjectActionView):
    form_class = ProspectForm
    model_form = True
    title = gettext_lazy("Edit prospect")
    success_message = gettext_lazy("The record of %(object)s was saved.")

    def perform(self, form):
        return services.update_prospect(self.request.user, self.object, **form.values())


class ProspectWithdrawView(ProspectActionMixin, ObjectActionView):
    form_class = ProspectWithdrawForm
    object_kwarg = "prospect"
    title = gettext_lazy("Withdraw prospect")
    success_message = gettext_lazy("%(object)s was withdrawn from the prospects.")
    submit_label = gettext_lazy("Confirm the withdrawal")
    destructive = True
    warning = gettext_lazy("A withdrawn prospect can no longer be admitted or edited.")

    def perform(self, form):
        return services.withdraw_prospect(
            self.request.user,
            self.object,
            on=form.cleaned_data["closed_on"],
            expected_version=self.expected_version(form),
        )


class ProspectAdmitView(ProspectActionMixin, ObjectActionView):
    form_class = ProspectAdmitForm
    object_kwarg = "prospect"
    title = gettext_lazy("Admit prospect")
    versioned = False  # admit_prospect locks the prospect itself
    success_message = gettext_lazy("%(object)s was admitted to the Party.")
    submit_label = gettext_lazy("Admit")

    def perform(self, form):
        return services.admit_prospect(self.request.user, self.object, **form.cleaned_data)


class OrganizationAutocompleteView(AutocompleteView):
    """Organisations for the pickers, by name without marks or by code (``?set=``: branches.forms)."""

    choice_sets = ORGANIZATION_CHOICE_SETS
    search_fields = ("code",)
    value_fields = ("pk", "code")
