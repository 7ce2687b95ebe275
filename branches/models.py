"""Party organisations, role assignments, members with their membership periods, prospects."""

import datetime
from contextlib import contextmanager
from functools import reduce
from operator import or_

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce, Left, Length
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords
from treebeard.mp_tree import MP_Node, MP_NodeManager, MP_NodeQuerySet

from branches.choices import (
    GRASSROOTS_KINDS,
    ApprovalStatus,
    Ethnicity,
    MemberStatus,
    OrganizationChange,
    OrganizationKind,
    PeriodEndReason,
    PoliticalTheory,
    Position,
    ProfessionalQualification,
    ProspectStage,
    Religion,
    RoleKey,
    Sex,
    TransferKind,
    TransferStatus,
)
from branches.history_events import badge_event, member_event, organization_event, period_event
from core.models import (
    TREE_STEPLEN,
    DatedQuerySet,
    LastDayMixin,
    ScopedManagerMixin,
    ScopedQuerySet,
    ScopedQuerySetMixin,
    TimestampedModel,
    mask_citizen_id,
)
from core.scoping import in_subtrees, paths_q, scope_for
from core.text import display_date, search_key, sort_key
from core.validators import validate_citizen_id


class OrganizationQuerySet(ScopedQuerySetMixin, MP_NodeQuerySet):
    def scope_q(self, paths):
        return paths_q("path", paths)

    def subtree(self, organization):
        """The organisation and everything below it: one indexed prefix query."""
        return self.filter(path__startswith=organization.path)

    def children_of(self, organization):
        return self.filter(path__startswith=organization.path, depth=organization.depth + 1)

    #: Up to this many paths, a query on several subtrees walks the path index once for each;
    #: beyond, it compares each row's prefix with them all in one pass over the table (PostgreSQL
    #: takes seconds to plan an OR of thousands of LIKEs).
    FEW_PATHS = 20

    def subtrees(self, paths):
        """The organisations in the subtrees of ``paths`` (themselves included): one query."""
        paths = set(paths)
        if len(paths) <= self.FEW_PATHS:
            return self.filter(paths_q("path", paths))
        by_length = {}
        for path in paths:
            by_length.setdefault(len(path), []).append(path)
        prefixes = {f"_prefix_{length}": Left("path", length) for length in by_length}
        return self.alias(**prefixes).filter(
            reduce(or_, (Q(**{f"_prefix_{length}__in": sorted(group)}) for length, group in by_length.items()))
        )

    def children_of_paths(self, paths):
        """The organisations directly below any of ``paths``: one query."""
        paths = set(paths)
        if not paths:
            return self.none()
        if len(paths) <= self.FEW_PATHS:
            return self.filter(
                reduce(or_, (Q(path__startswith=path, depth=len(path) // TREE_STEPLEN + 1) for path in paths))
            )
        return self.alias(_parent_path=Left("path", Length("path") - TREE_STEPLEN)).filter(
            _parent_path__in=sorted(paths)
        )

    def committees(self):
        return self.filter(kind=OrganizationKind.COMMITTEE)

    def active_on(self, date):
        return self.filter(Q(established_on__lte=date), Q(dissolved_on__isnull=True) | Q(dissolved_on__gt=date))

    def grassroots(self):
        return self.filter(kind__in=GRASSROOTS_KINDS)

    def transfer_destinations(self):
        """Where a member may be transferred: any grassroots organisation, in the user's scope or
        not (a transfer crosses subtrees; the receiving organisation gives its code). Whether it
        is active on the date is the service's check."""
        return self.grassroots()

    def assignable_managing_committees(self, user):
        """Committees a user may name as an enterprise's managing committee.

        Those in the user's subtrees and, for a secretary, the committees above their organisation.
        """
        scope = scope_for(user)
        committees = self.committees()
        if scope.everything:
            return committees
        ancestors = {path[:end] for path in scope.read_paths for end in range(4, len(path), 4)}
        return committees.filter(paths_q("path", scope.read_paths) | Q(path__in=ancestors))


class OrganizationManager(ScopedManagerMixin, MP_NodeManager.from_queryset(OrganizationQuerySet)):
    def get_queryset(self):
        return OrganizationQuerySet(self.model, using=self._db).order_by("path")


class Organization(TimestampedModel, MP_Node):
    """A Party organisation: a committee, a grassroots committee or branch, or a subordinate branch.

    The tree is a materialised path (django-treebeard): a subtree is one ``path LIKE 'p%'`` query,
    and the child of a committee that an event belongs to is a fixed-length path prefix.
    """

    steplen = TREE_STEPLEN
    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=300)
    # "name" without marks or case, for search (core.text.search_key; filled on save).
    search_name = models.CharField(_("search key"), max_length=300, default="", editable=False)
    # "name" in Vietnamese alphabetical order (core.text.sort_key; filled on save).
    sort_name = models.CharField(_("sort key"), max_length=1208, default="", editable=False)
    derived_text = {"search_name": ("name", search_key), "sort_name": ("name", sort_key)}
    kind = models.CharField(_("kind"), max_length=30, choices=OrganizationKind.choices)
    locality = models.ForeignKey(
        "enterprises.Locality",
        verbose_name=_("locality"),
        on_delete=models.PROTECT,
        related_name="organizations",
    )
    enterprise = models.ForeignKey(
        "enterprises.Enterprise",
        verbose_name=_("enterprise"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="organizations",
        help_text=_("Empty for committees and for branches combining several small enterprises."),
    )
    established_on = models.DateField(_("established on"))
    dissolved_on = models.DateField(_("dissolved on"), null=True, blank=True)
    dissolution_decision_number = models.CharField(
        _("number of the dissolution decision"), max_length=50, blank=True, default="", db_default=""
    )
    coordination_regulation_signed = models.BooleanField(
        _("coordination regulation signed"),
        default=False,
        help_text=_("Signed the coordination regulation with the enterprise's leadership (Decision 5491-QĐ/TU)."),
    )
    version = models.PositiveIntegerField(
        _("version"), default=1, editable=False, help_text=_("Raised by every change; guards against lost updates.")
    )

    objects = OrganizationManager()
    history = HistoricalRecords(excluded_fields=["numchild"])

    class Meta:
        ordering = ["path"]
        verbose_name = _("Party organisation")
        verbose_name_plural = _("Party organisations")
        indexes = [
            models.Index(fields=["path"], name="organization_path_prefix", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["kind", "established_on"], name="organization_kind_established"),
            models.Index(fields=["depth", "path"], name="organization_depth_path"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(dissolved_on__isnull=True) | Q(dissolved_on__gte=F("established_on")),
                name="organization_dissolved_after_established",
            ),
            models.CheckConstraint(condition=Q(kind__in=OrganizationKind.values), name="organization_kind_known"),
        ]

    #: The history row as an event (``branches.history_events``).
    history_event = staticmethod(organization_event)

    def __str__(self):
        return f"{self.name} ({self.code})"

    @property
    def parent(self):
        return type(self).objects.get_parent(self)

    @property
    def is_committee(self):
        return self.kind == OrganizationKind.COMMITTEE

    def is_active_on(self, date):
        return self.established_on <= date and (self.dissolved_on is None or self.dissolved_on > date)


class OrganizationVersionQuerySet(DatedQuerySet):
    """The states in force on a date (``on``)."""


class OrganizationVersion(LastDayMixin, models.Model):
    """One dated state of an organisation: its parent and name from ``valid_from`` until the day
    before ``valid_to`` (open when empty).

    The tree (paths) is the structure of today; these rows answer "as of a date". They are
    written only by the services of ``branches.services`` (establish, move, rename, merge,
    dissolve), each with the change that began the state and its decision.
    """

    organization = models.ForeignKey(
        Organization, verbose_name=_("organisation"), on_delete=models.CASCADE, related_name="versions"
    )
    parent = models.ForeignKey(
        Organization,
        verbose_name=_("parent"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    name = models.CharField(_("name"), max_length=300)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid until"), null=True, blank=True)
    change = models.CharField(_("change"), max_length=20, choices=OrganizationChange.choices)
    decision_number = models.CharField(_("decision number"), max_length=60, blank=True)
    decision_date = models.DateField(_("decision date"), null=True, blank=True)
    end_change = models.CharField(_("ended by"), max_length=20, choices=OrganizationChange.choices, blank=True)
    end_decision_number = models.CharField(_("decision number of the end"), max_length=60, blank=True)
    end_decision_date = models.DateField(_("decision date of the end"), null=True, blank=True)
    successor = models.ForeignKey(
        Organization,
        verbose_name=_("merged into"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = OrganizationVersionQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["organization", "valid_from"]
        verbose_name = _("dated state of an organisation")
        verbose_name_plural = _("dated states of organisations")
        indexes = [models.Index(fields=["valid_from", "valid_to"], name="org_version_validity")]
        constraints = [
            models.UniqueConstraint(fields=["organization", "valid_from"], name="org_version_one_per_day"),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gt=F("valid_from")),
                name="org_version_ends_after_start",
            ),
            models.CheckConstraint(condition=Q(change__in=OrganizationChange.values), name="org_version_change_known"),
            models.CheckConstraint(condition=~Q(parent=F("organization")), name="org_version_not_own_parent"),
        ]

    def __str__(self):
        # As the pages write dates (the admin's inline shows it above each row): not ISO.
        return f"{self.name} ({display_date(self.valid_from)} – {display_date(self.last_day) or '…'})"


class RoleAssignmentQuerySet(models.QuerySet):
    def visible_to(self, user):
        if scope_for(user).administers:
            return self.all()
        return self.filter(user=user) if getattr(user, "is_authenticated", False) else self.none()

    def editable_by(self, user):
        return self.all() if scope_for(user).administers else self.none()


class RoleAssignment(TimestampedModel):
    """A user's role over an organisation's subtree (administrators: over everything)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="role_assignments",
    )
    role = models.CharField(_("role"), max_length=20, choices=RoleKey.choices)
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="role_assignments",
    )

    objects = RoleAssignmentQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["user__username", "role"]
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        constraints = [
            models.UniqueConstraint(fields=["user", "role", "organization"], name="role_assignment_unique"),
            models.CheckConstraint(
                condition=Q(role=RoleKey.ADMINISTRATOR) | Q(organization__isnull=False),
                name="role_assignment_needs_organization",
            ),
            models.CheckConstraint(condition=Q(role__in=RoleKey.values), name="role_assignment_role_known"),
        ]

    def __str__(self):
        if self.organization_id:
            return f"{self.get_role_display()} — {self.organization}"
        return str(self.get_role_display())


#: General education as grades completed of the system's grades: ``9/12``, ``12/12`` (or ``7/10``
#: and ``10/10`` of the former ten-year system).
validate_general_education = RegexValidator(
    r"^(?:[1-9]|1[0-2])/12$|^(?:[1-9]|10)/10$",
    _("Write the grades completed of the system's grades, such as 9/12 or 12/12."),
)


#: The day a member was recognised as official, or the end of time while they are not: a member is
#: on probation on a date when this falls after it (the index ``member_probationary`` keeps it).
RECOGNISED_OR_NEVER = Coalesce("official_on", Value(datetime.date.max))


class MemberQuerySet(ScopedQuerySet):
    scope_lookup = "organization"

    def active(self):
        return self.filter(status=MemberStatus.ACTIVE)

    def on_probation(self, on):
        """Members not yet recognised as official on ``on`` (recognised later, or not yet)."""
        return self.alias(recognised_on=RECOGNISED_OR_NEVER).filter(recognised_on__gt=on)

    def with_list_relations(self):
        return self.select_related("organization", "enterprise")


class Member(TimestampedModel):
    """A Party member. ``organization`` is the current organisation (the last one once they left)."""

    full_name = models.CharField(_("full name"), max_length=200)
    # "full_name" without marks or case, for search (core.text.search_key; filled on save).
    search_name = models.CharField(_("search key"), max_length=200, default="", editable=False)
    # "full_name" in Vietnamese alphabetical order (core.text.sort_key; filled on save).
    sort_name = models.CharField(_("sort key"), max_length=808, default="", editable=False)
    derived_text = {"search_name": ("full_name", search_key), "sort_name": ("full_name", sort_key)}
    sex = models.CharField(_("sex"), max_length=10, choices=Sex.choices)
    date_of_birth = models.DateField(_("date of birth"))
    # Only its unique index: migration 0008 drops the LIKE-prefix index Django adds on PostgreSQL
    # (drop it again after a migration that alters this column's type).
    citizen_id = models.CharField(_("citizen ID"), max_length=12, unique=True, validators=[validate_citizen_id])
    party_card_number = models.CharField(_("Party card number"), max_length=20, blank=True, default="")
    enterprise = models.ForeignKey(
        "enterprises.Enterprise",
        verbose_name=_("workplace enterprise"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
        db_index=False,  # member_enterprise_status leads with it
    )
    position = models.CharField(_("position"), max_length=20, choices=Position.choices, default=Position.WORKER)
    is_business_owner = models.BooleanField(_("business owner"), default=False)
    admitted_on = models.DateField(_("admitted on"))
    admitted_by = models.ForeignKey(
        Organization,
        verbose_name=_("admitting organisation"),
        on_delete=models.PROTECT,
        related_name="admissions",
        db_index=False,  # member_admitted_by_on leads with it
    )
    owner_at_admission = models.BooleanField(_("business owner at admission"), default=False)
    # The admission (Điều lệ Đảng, Điều 4; Quy định 294-QĐ/TW; Hướng dẫn 06-HD/TW): ``admitted_on`` is
    # the date of the admission decision, from which reports count the admission and Party age runs.
    dossier_reviewed_on = models.DateField(
        _("dossier reviewed on"),
        null=True,
        blank=True,
        help_text=_("The date the branch met to review the dossier; the admission age is counted on it."),
    )
    over_age_approved = models.BooleanField(
        _("admission over 60 approved"),
        default=False,
        db_default=False,
        help_text=_("The provincial Party committee approved the admission of a person over 60."),
    )
    over_age_approval_reference = models.CharField(
        _("reference of the approval over 60"), max_length=100, blank=True, default="", db_default=""
    )
    admission_decision_number = models.CharField(
        _("number of the admission decision"), max_length=50, blank=True, default="", db_default=""
    )
    admission_decided_by = models.CharField(
        _("committee that decided the admission"), max_length=200, blank=True, default="", db_default=""
    )
    ceremony_on = models.DateField(
        _("admission ceremony on"),
        null=True,
        blank=True,
        help_text=_("At most 30 working days after the decision; the 12 months of probation count from it."),
    )
    official_on = models.DateField(_("official on"), null=True, blank=True)
    recognition_decision_number = models.CharField(
        _("number of the recognition decision"), max_length=50, blank=True, default="", db_default=""
    )
    recognition_decided_on = models.DateField(_("date of the recognition decision"), null=True, blank=True)
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="members",
        db_index=False,  # member_organization_status leads with it
    )
    status = models.CharField(_("status"), max_length=30, choices=MemberStatus.choices, default=MemberStatus.ACTIVE)
    # The profile of form 2-HSĐV: optional, empty while not recorded (see reports' data completeness).
    ethnicity = models.CharField(_("ethnicity"), max_length=10, choices=Ethnicity.choices, blank=True, default="")
    religion = models.CharField(_("religion"), max_length=20, choices=Religion.choices, blank=True, default="")
    general_education = models.CharField(
        _("general education"),
        max_length=5,
        blank=True,
        default="",
        validators=[validate_general_education],
        help_text=_("Grades completed, such as 9/12 or 12/12."),
    )
    professional_qualification = models.CharField(
        _("professional qualification"),
        max_length=20,
        choices=ProfessionalQualification.choices,
        blank=True,
        default="",
    )
    political_theory = models.CharField(
        _("political theory"), max_length=20, choices=PoliticalTheory.choices, blank=True, default=""
    )
    youth_union_member_at_admission = models.BooleanField(
        _("Youth Union member at admission"), null=True, blank=True, default=None
    )
    hometown = models.CharField(_("hometown"), max_length=200, blank=True, default="")
    version = models.PositiveIntegerField(
        _("version"), default=1, editable=False, help_text=_("Raised by every change; guards against lost updates.")
    )

    objects = MemberQuerySet.as_manager()
    # History is read by record (id) and change (history_id), never by these: no index to keep up
    # on every write (an import writes 100,000 rows of history).
    history = HistoricalRecords(no_db_index=["citizen_id", "admitted_by", "enterprise", "organization"])

    class Meta:
        ordering = ["sort_name", "id"]  # Vietnamese alphabetical order (core.text.sort_key)
        verbose_name = _("Party member")
        verbose_name_plural = _("Party members")
        indexes = [
            models.Index(fields=["organization", "status"], name="member_organization_status"),
            models.Index(fields=["sort_name", "id"], name="member_sort_order"),
            models.Index(fields=["enterprise", "status"], name="member_enterprise_status"),
            models.Index(
                fields=["admitted_on", "admitted_by", "owner_at_admission"], name="member_admissions_covering"
            ),
            # An organisation's last admission before a date (the gaps' stagnant organisations).
            models.Index(fields=["admitted_by", "admitted_on"], name="member_admitted_by_on"),
            # Business owners are a few in a hundred: the owners' filter and counts read this small index.
            models.Index(fields=["status"], condition=Q(is_business_owner=True), name="member_owners_status"),
            # The active members on probation on a date (a quarter of the country's members), with what
            # the deadlines' counts per committee read of them: those counts read this index only.
            models.Index(
                RECOGNISED_OR_NEVER,
                include=["id", "official_on", "organization", "admitted_on", "ceremony_on"],
                condition=Q(status=MemberStatus.ACTIVE),
                name="member_probationary",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["party_card_number"], condition=~Q(party_card_number=""), name="member_party_card_unique"
            ),
            models.CheckConstraint(condition=Q(citizen_id__regex=r"^[0-9]{12}$"), name="member_citizen_id_12_digits"),
            models.CheckConstraint(condition=Q(admitted_on__gt=F("date_of_birth")), name="member_admitted_after_birth"),
            models.CheckConstraint(
                condition=Q(official_on__isnull=True) | Q(official_on__gte=F("admitted_on")),
                name="member_official_after_admission",
            ),
            models.CheckConstraint(condition=Q(status__in=MemberStatus.values), name="member_status_known"),
            models.CheckConstraint(
                condition=Q(ceremony_on__isnull=True) | Q(ceremony_on__gte=F("admitted_on")),
                name="member_ceremony_after_decision",
            ),
            models.CheckConstraint(
                condition=Q(dossier_reviewed_on__isnull=True) | Q(dossier_reviewed_on__lte=F("admitted_on")),
                name="member_dossier_reviewed_before_decision",
            ),
        ]

    #: The history row as an event (``branches.history_events``).
    history_event = staticmethod(member_event)

    def __str__(self):
        return self.full_name

    def get_absolute_url(self):
        return reverse("branches:member_detail", args=[self.pk])

    def is_official_on(self, date):
        return self.official_on is not None and self.official_on <= date

    @property
    def masked_citizen_id(self):
        return mask_citizen_id(self.citizen_id)

    def citizen_id_for(self, user):
        """The citizen ID in full for a user who may edit this member, masked for everyone else."""
        if Member.objects.editable_by(user).filter(pk=self.pk).exists():
            return self.citizen_id
        return self.masked_citizen_id


class MembershipPeriodQuerySet(ScopedQuerySet):
    scope_lookup = "member__organization"

    def on(self, date):
        """Periods in force on ``date`` (half-open: from ``started_on`` up to, not including, ``ended_on``)."""
        return self.filter(Q(started_on__lte=date), Q(ended_on__isnull=True) | Q(ended_on__gt=date))


class MembershipPeriod(TimestampedModel):
    """A member's time in one organisation: ``[started_on, ended_on)``.

    One member's periods never overlap. On PostgreSQL statement triggers refuse what would
    (migration ``0020_period_overlap_trigger``); on SQLite the services are the only guard."""

    member = models.ForeignKey(Member, verbose_name=_("member"), on_delete=models.CASCADE, related_name="periods")
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="membership_periods",
        db_index=False,  # period_organization_start leads with it
    )
    started_on = models.DateField(_("from"))
    ended_on = models.DateField(_("to"), null=True, blank=True)
    end_reason = models.CharField(
        _("why it ended"), max_length=20, choices=PeriodEndReason.choices, blank=True, default=""
    )
    end_decision_number = models.CharField(
        _("number of the decision or letter"),
        max_length=50,
        blank=True,
        default="",
        db_default="",
        help_text=_("The introduction letter of a transfer, or the decision behind a leaving or a dissolution."),
    )
    end_decided_on = models.DateField(_("date of the decision or letter"), null=True, blank=True)

    objects = MembershipPeriodQuerySet.as_manager()
    history = HistoricalRecords(no_db_index=["member", "organization"])

    class Meta:
        ordering = ["member", "started_on"]
        verbose_name = _("membership period")
        verbose_name_plural = _("membership periods")
        indexes = [
            models.Index(fields=["organization", "started_on"], name="period_organization_start"),
            # The statistics' probes and the days of a month up to a date (reports.statistics).
            models.Index(fields=["started_on"], name="period_start"),
            models.Index(fields=["ended_on"], name="period_end"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["member"], condition=Q(ended_on__isnull=True), name="period_one_open_per_member"
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=F("started_on")),
                name="period_ends_after_start",
            ),
            models.CheckConstraint(
                condition=(Q(ended_on__isnull=True) & Q(end_reason=""))
                | (Q(ended_on__isnull=False) & Q(end_reason__in=PeriodEndReason.values)),
                name="period_end_reason_iff_ended",
            ),
        ]

    #: The history row as an event (``branches.history_events``).
    history_event = staticmethod(period_event)

    def __str__(self):
        until = display_date(self.ended_on) or "…"
        return f"{self.member} — {self.organization} ({display_date(self.started_on)} – {until})"


#: The trigger refusing overlapping periods that a bulk load of periods turns off, checking the
#: whole table with :data:`OVERLAPPING_PERIODS` once instead (it would lock every member's row).
PERIOD_OVERLAP_TRIGGER = "period_no_overlap_insert"

#: A member two of whose periods overlap, if any.
OVERLAPPING_PERIODS = (
    "SELECT a.member_id FROM branches_membershipperiod a JOIN branches_membershipperiod b "
    "ON b.member_id = a.member_id AND b.id > a.id "
    "AND daterange(a.started_on, a.ended_on, '[)') && daterange(b.started_on, b.ended_on, '[)') LIMIT 1"
)


#: The transaction-local setting by which a writer says that the periods it writes are those of
#: members created in its transaction (see :func:`periods_of_new_members`).
PERIODS_OF_NEW_MEMBERS = "branches.periods_of_new_members"


@contextmanager
def periods_of_new_members(connection):
    """Within (an atomic block): the periods written on ``connection`` belong to members created in
    this transaction, whom no other transaction sees, so none can write their periods meanwhile:
    the overlap trigger checks them without locking the members' rows (migration 0023). When the
    block raises, rolling the block back takes the setting back. Elsewhere than PostgreSQL: nothing."""
    if connection.vendor != "postgresql":
        yield
        return
    if not connection.in_atomic_block:
        raise RuntimeError("periods_of_new_members needs an atomic block, whose rollback takes the setting back")
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, 'on', true)", [PERIODS_OF_NEW_MEMBERS])
    yield
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, '', true)", [PERIODS_OF_NEW_MEMBERS])


class TransferQuerySet(ScopedQuerySet):
    def scope_q(self, paths):
        """A transfer row is seen by both sides: the sending and the receiving organisation's subtrees."""
        return in_subtrees("from_organization", paths) | in_subtrees("to_organization", paths)

    def sent_by(self, organization):
        return self.filter(from_organization__path__startswith=organization.path)

    def received_by(self, organization):
        return self.filter(to_organization__path__startswith=organization.path)

    def touching(self, organization):
        """Transfers whose sending or receiving organisation lies in ``organization``'s subtree."""
        return self.filter(
            Q(from_organization__path__startswith=organization.path)
            | Q(to_organization__path__startswith=organization.path)
        )

    def in_transit(self):
        return self.filter(status=TransferStatus.IN_TRANSIT)

    def overdue_on(self, date):
        return self.in_transit().filter(due_on__lt=date)


class Transfer(TimestampedModel):
    """A transfer of Party activity with its introduction letter (Hướng dẫn 06-HD/TW, on transfers).

    Official: the sending organisation issues the letter (number, date) and the membership there
    ends on the letter's date; the member presents the letter to the receiving organisation within
    30 working days (``due_on``): until the receiving secretary confirms the date it was presented
    (``presented_on``, when the new membership period starts) the transfer is **in transit**.
    Temporary (working away 3 months to under 1 year, studying 3 months to 2 years): the record
    stays at home and the member is shown at the host organisation until ``ends_on``.
    """

    member = models.ForeignKey(Member, verbose_name=_("member"), on_delete=models.CASCADE, related_name="transfers")
    kind = models.CharField(_("kind"), max_length=20, choices=TransferKind.choices, default=TransferKind.OFFICIAL)
    from_organization = models.ForeignKey(
        Organization, verbose_name=_("sending organisation"), on_delete=models.PROTECT, related_name="transfers_out"
    )
    to_organization = models.ForeignKey(
        Organization, verbose_name=_("receiving organisation"), on_delete=models.PROTECT, related_name="transfers_in"
    )
    letter_number = models.CharField(_("number of the introduction letter"), max_length=50, blank=True, default="")
    letter_date = models.DateField(_("date of the introduction letter"))
    left_on = models.DateField(
        _("left the sending organisation on"),
        null=True,
        blank=True,
        help_text=_("The day the membership at the sending organisation ended (official transfers)."),
    )
    due_on = models.DateField(
        _("to be presented by"), help_text=_("30 working days after the date of the introduction letter.")
    )
    presented_on = models.DateField(_("letter presented on"), null=True, blank=True)
    ends_on = models.DateField(_("temporary until"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=TransferStatus.choices, default=TransferStatus.IN_TRANSIT
    )
    version = models.PositiveIntegerField(
        _("version"), default=1, editable=False, help_text=_("Raised by every change; guards against lost updates.")
    )

    objects = TransferQuerySet.as_manager()
    history = HistoricalRecords(no_db_index=["member", "from_organization", "to_organization"])

    class Meta:
        ordering = ["-letter_date", "-id"]
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        indexes = [
            models.Index(fields=["status", "due_on"], name="transfer_status_due"),
            models.Index(fields=["to_organization", "status"], name="transfer_receiver_status"),
            models.Index(fields=["from_organization", "status"], name="transfer_sender_status"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=TransferStatus.values), name="transfer_status_known"),
            models.CheckConstraint(condition=Q(kind__in=TransferKind.values), name="transfer_kind_known"),
            models.CheckConstraint(
                condition=~Q(from_organization=F("to_organization")), name="transfer_to_another_organization"
            ),
            models.CheckConstraint(
                condition=Q(presented_on__isnull=True) | Q(presented_on__gte=F("letter_date")),
                name="transfer_presented_after_letter",
            ),
            models.CheckConstraint(
                condition=Q(presented_on__isnull=True) | Q(left_on__isnull=True) | Q(presented_on__gte=F("left_on")),
                name="transfer_presented_after_leaving",
            ),
            models.CheckConstraint(
                condition=Q(kind=TransferKind.OFFICIAL, ends_on__isnull=True)
                | (~Q(kind=TransferKind.OFFICIAL) & Q(ends_on__gt=F("letter_date"))),
                name="transfer_temporary_has_end",
            ),
            models.UniqueConstraint(
                fields=["member"],
                condition=Q(status=TransferStatus.IN_TRANSIT),
                name="transfer_one_in_transit_per_member",
            ),
        ]

    def __str__(self):
        return f"{self.member} → {self.to_organization}"

    @property
    def is_temporary(self):
        return self.kind != TransferKind.OFFICIAL

    def is_overdue_on(self, date):
        return self.status == TransferStatus.IN_TRANSIT and self.due_on < date


class ProspectQuerySet(ScopedQuerySet):
    scope_lookup = "organization"


class Prospect(TimestampedModel):
    """A person being prepared for admission by a sponsoring organisation."""

    full_name = models.CharField(_("full name"), max_length=200)
    # "full_name" without marks or case, for search (core.text.search_key; filled on save).
    search_name = models.CharField(_("search key"), max_length=200, default="", editable=False)
    # "full_name" in Vietnamese alphabetical order (core.text.sort_key; filled on save).
    sort_name = models.CharField(_("sort key"), max_length=808, default="", editable=False)
    derived_text = {"search_name": ("full_name", search_key), "sort_name": ("full_name", sort_key)}
    sex = models.CharField(_("sex"), max_length=10, choices=Sex.choices)
    date_of_birth = models.DateField(_("date of birth"))
    citizen_id = models.CharField(_("citizen ID"), max_length=12, blank=True, validators=[validate_citizen_id])
    enterprise = models.ForeignKey(
        "enterprises.Enterprise",
        verbose_name=_("workplace enterprise"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="prospects",
    )
    position = models.CharField(_("position"), max_length=20, choices=Position.choices, default=Position.WORKER)
    is_business_owner = models.BooleanField(_("business owner"), default=False)
    organization = models.ForeignKey(
        Organization, verbose_name=_("sponsoring organisation"), on_delete=models.PROTECT, related_name="prospects"
    )
    stage = models.CharField(_("stage"), max_length=20, choices=ProspectStage.choices, default=ProspectStage.IDENTIFIED)
    identified_on = models.DateField(_("identified on"))
    course_completed_on = models.DateField(_("awareness course completed on"), null=True, blank=True)
    dossier_completed_on = models.DateField(_("dossier completed on"), null=True, blank=True)
    closed_on = models.DateField(_("admitted or withdrawn on"), null=True, blank=True)
    member = models.OneToOneField(
        Member, verbose_name=_("member"), on_delete=models.SET_NULL, null=True, blank=True, related_name="prospect"
    )
    notes = models.TextField(_("notes"), blank=True)
    version = models.PositiveIntegerField(
        _("version"), default=1, editable=False, help_text=_("Raised by every change; guards against lost updates.")
    )

    objects = ProspectQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["organization", "stage", "sort_name"]
        verbose_name = _("prospect")
        verbose_name_plural = _("prospects")
        constraints = [
            models.CheckConstraint(condition=Q(stage__in=ProspectStage.values), name="prospect_stage_known"),
            models.CheckConstraint(
                condition=~Q(stage=ProspectStage.ADMITTED) | Q(member__isnull=False),
                name="prospect_admitted_has_member",
            ),
        ]

    def __str__(self):
        return self.full_name

    def get_absolute_url(self):
        return reverse("branches:prospect_detail", args=[self.pk])


def enterprise_model():
    """``enterprises.Enterprise``, reached through the member's foreign key.

    The enterprises app sits above branches in the layers (its enterprises point at their managing
    committee), so branches reads enterprise rows through the relation and never imports the app.
    """
    return Member._meta.get_field("enterprise").related_model


def locality_model():
    """``enterprises.Locality``, reached through the organisation's foreign key (see :func:`enterprise_model`)."""
    return Organization._meta.get_field("locality").related_model


class PeriodApproval(TimestampedModel):
    """The approval of an organisation's figures of a year or a half-year (``half`` 0: the whole year).

    Submitted by the organisation (its secretary, or its committee's department), approved or returned
    by the department of the committee above (the root committee's department approves its own);
    an approved period locks, for the organisation's subtree, every write dated inside it
    (``branches.approvals.check_open``). Every step is kept in the history.
    """

    organization = models.ForeignKey(
        Organization, verbose_name=_("organisation"), on_delete=models.CASCADE, related_name="approvals"
    )
    year = models.PositiveSmallIntegerField(_("year"))
    half = models.PositiveSmallIntegerField(_("half-year"), default=0, help_text=_("1 or 2; 0: the whole year."))
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("to"))
    status = models.CharField(_("status"), max_length=20, choices=ApprovalStatus.choices, default=ApprovalStatus.OPEN)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("submitted by"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("approved or returned by"), on_delete=models.PROTECT, null=True,
        blank=True, related_name="+",
    )  # fmt: skip
    decided_at = models.DateTimeField(_("approved or returned at"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True, default="")

    history = HistoricalRecords()

    class Meta:
        ordering = ["organization__path", "year", "half"]
        verbose_name = _("approval of figures")
        verbose_name_plural = _("approvals of figures")
        constraints = [
            models.UniqueConstraint(fields=["organization", "year", "half"], name="approval_one_per_period"),
            models.CheckConstraint(condition=Q(half__in=(0, 1, 2)), name="approval_half_0_1_or_2"),
            models.CheckConstraint(condition=Q(status__in=ApprovalStatus.values), name="approval_status_known"),
        ]
        indexes = [models.Index(fields=["status", "starts_on", "ends_on"], name="approval_status_period")]

    def __str__(self):
        return f"{self.organization.code} {self.period_label} ({self.get_status_display()})"

    @property
    def period_label(self):
        if self.half:
            return _("half %(half)s of %(year)s") % {"half": self.half, "year": self.year}
        return str(self.year)


#: Years of Party age that earn a badge (Quy định 94-QĐ/TW on Party badges; Điều lệ Đảng).
BADGE_YEARS = (30, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90)


class BadgeAwardQuerySet(ScopedQuerySet):
    scope_lookup = "member__organization"


class BadgeAward(TimestampedModel):
    """A Party badge (huy hiệu Đảng) presented to a member for ``years`` years of Party age."""

    member = models.ForeignKey(Member, verbose_name=_("member"), on_delete=models.CASCADE, related_name="badges")
    years = models.PositiveSmallIntegerField(_("years of Party age"), choices=[(y, str(y)) for y in BADGE_YEARS])
    presented_on = models.DateField(_("presented on"))
    decision_number = models.CharField(_("decision number"), max_length=60, blank=True, default="")

    objects = BadgeAwardQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["member", "years"]
        verbose_name = _("Party badge")
        verbose_name_plural = _("Party badges")
        constraints = [
            models.UniqueConstraint(fields=["member", "years"], name="badge_once_per_member_and_years"),
            models.CheckConstraint(condition=Q(years__in=BADGE_YEARS), name="badge_years_known"),
        ]

    #: The history row as an event (``branches.history_events``).
    history_event = staticmethod(badge_event)

    def __str__(self):
        return _("%(years)s-year Party badge of %(member)s") % {"years": self.years, "member": self.member}


class DeadlineNotice(models.Model):
    """An item of ``branches.deadlines`` already sent to a user in their e-mail digest, in the state
    it had (due, then overdue): each digest lists only what became due or overdue since."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(_("item"), max_length=120)
    overdue = models.BooleanField(_("overdue"), default=False)
    sent_on = models.DateField(_("sent on"))

    class Meta:
        ordering = ["user", "sent_on"]
        verbose_name = _("deadline notice")
        verbose_name_plural = _("deadline notices")
        constraints = [
            models.UniqueConstraint(fields=["user", "key", "overdue"], name="deadline_notice_once_per_state"),
        ]

    def __str__(self):
        return f"{self.user} {self.key} {self.sent_on}"
