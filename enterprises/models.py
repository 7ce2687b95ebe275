"""Localities, enterprises and the mass organisations inside them."""

import datetime

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Case, Exists, F, OuterRef, Q, Subquery, When
from django.db.models.functions import Coalesce, Length, Substr
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords
from treebeard.mp_tree import MP_Node, MP_NodeManager, MP_NodeQuerySet

from core.models import (
    TREE_STEPLEN,
    DatedQuerySet,
    LastDayMixin,
    OpenStartDatedQuerySet,
    ScopedQuerySet,
    ScopedQuerySetMixin,
    TimestampedModel,
)
from core.scoping import in_subtrees, paths_q, scope_for
from core.text import search_key, sort_key
from core.validators import validate_tax_code
from enterprises.choices import (
    LocalityChange,
    LocalityKind,
    MassOrganizationKind,
    OperatingStatus,
    Ownership,
    SizeClass,
)

#: The first day a locality recorded without a date of establishment is read as it stands today
#: (the as-of forms accept dates from 1930): the geography before it was never recorded.
LOCALITIES_RECORDED_FROM = datetime.date(1930, 1, 1)


class LocalityQuerySet(ScopedQuerySetMixin, MP_NodeQuerySet):
    """Localities are public geography: every signed-in user reads them, administrators edit."""

    def visible_to(self, user):
        return self.all() if getattr(user, "is_authenticated", False) else self.none()

    def editable_by(self, user):
        return self.all() if scope_for(user).administers else self.none()

    def current(self):
        """The localities that have not ended (merged, abolished)."""
        return self.filter(ended_on__isnull=True)

    def as_of(self, date):
        """The localities that existed on ``date``, each with ``name_as_of``, ``parent_id_as_of`` and
        ``parent_code_as_of`` of that date: from the dated states where a locality has them, from
        today's row for a locality never restructured (written in bulk)."""
        states = LocalityVersion.objects.on(date).filter(locality=OuterRef("pk"))
        dated = LocalityVersion.objects.filter(locality=OuterRef("pk"))
        parent_today = Locality.objects.filter(
            path=Substr(OuterRef("path"), 1, Length(OuterRef("path")) - TREE_STEPLEN)
        ).order_by()
        return self.filter(
            Exists(states) | (~Exists(dated) & (Q(ended_on__isnull=True) | Q(ended_on__gt=date)))
        ).annotate(
            name_as_of=Coalesce(Subquery(states.values("name")[:1]), F("name")),
            parent_id_as_of=Case(
                When(Exists(states), then=Subquery(states.values("parent")[:1])),
                default=Subquery(parent_today.values("pk")[:1]),
                output_field=models.BigIntegerField(),
            ),
            parent_code_as_of=Case(
                When(Exists(states), then=Subquery(states.values("parent__code")[:1])),
                default=Subquery(parent_today.values("code")[:1]),
            ),
        )


class LocalityManager(MP_NodeManager.from_queryset(LocalityQuerySet)):
    def get_queryset(self):
        return LocalityQuerySet(self.model, using=self._db).order_by("path")


class Locality(TimestampedModel, MP_Node):
    """An administrative unit: province → (district →) commune; depth is not fixed."""

    steplen = TREE_STEPLEN
    code = models.CharField(_("official code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=200)
    # "name" without marks or case, for search (core.text.search_key; filled on save).
    search_name = models.CharField(_("search key"), max_length=200, default="", editable=False)
    # "name" in Vietnamese alphabetical order (core.text.sort_key; filled on save).
    sort_name = models.CharField(_("sort key"), max_length=808, default="", editable=False)
    derived_text = {"search_name": ("name", search_key), "sort_name": ("name", sort_key)}
    kind = models.CharField(_("kind"), max_length=20, choices=LocalityKind.choices)
    # Set by a merge or an abolition (the dated states say into what); it stays in the tree, ended.
    ended_on = models.DateField(_("ended on"), null=True, blank=True, editable=False)

    objects = LocalityManager()
    history = HistoricalRecords(excluded_fields=["numchild"])

    #: The field ``__str__`` shows: filter lists read it without building a model per option.
    choice_label_field = "name"

    class Meta:
        ordering = ["path"]
        verbose_name = _("locality")
        verbose_name_plural = _("localities")
        indexes = [models.Index(fields=["path"], name="locality_path_prefix", opclasses=["varchar_pattern_ops"])]

    def __str__(self):
        return self.name

    def exists_on(self, date):
        """Whether the locality existed on ``date`` (one query)."""
        if self.ended_on is not None and self.ended_on <= date:
            return False
        versions = LocalityVersion.objects.filter(locality=self)
        return versions.on(date).exists() or not versions.exists()


class LocalityVersionQuerySet(DatedQuerySet):
    """The states in force on a date (``on``)."""


class LocalityVersion(LastDayMixin, models.Model):
    """One dated state of a locality: its parent and name from ``valid_from`` until the day before
    ``valid_to`` (open when empty).

    The tree (paths) is the geography of today; these rows answer "as of a date" (the provinces
    and communes merged and the districts abolished on 1 July 2025). They are written only by the
    locality services of ``enterprises.services``, each with the change that began the state and
    its decision; a locality without any (written in bulk) is read from today's row.
    """

    locality = models.ForeignKey(
        Locality, verbose_name=_("locality"), on_delete=models.CASCADE, related_name="versions"
    )
    parent = models.ForeignKey(
        Locality, verbose_name=_("parent"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    name = models.CharField(_("name"), max_length=200)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid until"), null=True, blank=True)
    change = models.CharField(_("change"), max_length=20, choices=LocalityChange.choices)
    decision_number = models.CharField(_("decision number"), max_length=60, blank=True)
    decision_date = models.DateField(_("decision date"), null=True, blank=True)
    end_change = models.CharField(_("ended by"), max_length=20, choices=LocalityChange.choices, blank=True)
    end_decision_number = models.CharField(_("decision number of the end"), max_length=60, blank=True)
    end_decision_date = models.DateField(_("decision date of the end"), null=True, blank=True)
    successor = models.ForeignKey(
        Locality, verbose_name=_("merged into"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = LocalityVersionQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["locality", "valid_from"]
        verbose_name = _("dated state of a locality")
        verbose_name_plural = _("dated states of localities")
        indexes = [models.Index(fields=["valid_from", "valid_to"], name="locality_version_validity")]
        constraints = [
            models.UniqueConstraint(fields=["locality", "valid_from"], name="locality_version_one_per_day"),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gt=F("valid_from")),
                name="locality_version_ends_after_start",
            ),
            models.CheckConstraint(condition=Q(change__in=LocalityChange.values), name="locality_version_change_known"),
            models.CheckConstraint(condition=~Q(parent=F("locality")), name="locality_version_not_own_parent"),
        ]

    def __str__(self):
        return f"{self.locality_id} {self.name} {self.valid_from}–{self.valid_to or ''}"


def enterprise_scope_q(paths, prefix=""):
    """Enterprises belonging to the subtrees ``paths``.

    An enterprise belongs to a subtree when its managing committee is there, when the
    organisation that recorded it is there, or when a Party organisation of the subtree sits in it.
    Each test is an ``IN`` over the subtree's ids (see ``core.scoping.in_subtrees``).
    """
    from branches.models import Organization

    if not paths:
        return Q(pk__in=[])
    sitting_here = Organization.objects.filter(paths_q("path", paths), enterprise__isnull=False)
    return (
        in_subtrees(f"{prefix}managing_committee", paths)
        | in_subtrees(f"{prefix}recorded_by", paths)
        | Q(**{f"{prefix}pk__in": sitting_here.order_by().values("enterprise")})
    )


class EnterpriseQuerySet(ScopedQuerySet):
    def scope_q(self, paths):
        return enterprise_scope_q(paths)

    def with_locality_on(self, date):
        """Each enterprise with ``locality_id_on``: the id of its locality on ``date`` (one subquery;
        see ``EnterpriseLocalityPeriod``)."""
        then = EnterpriseLocalityPeriod.objects.on(date).filter(enterprise=OuterRef("pk"), valid_to__isnull=False)
        return self.annotate(
            locality_id_on=Coalesce(
                Subquery(then.order_by().values("locality")[:1]), F("locality"), output_field=models.BigIntegerField()
            )
        )


class Enterprise(TimestampedModel):
    """A non-state enterprise (or non-public school or clinic) and who manages Party building there."""

    tax_code = models.CharField(_("tax code"), max_length=14, unique=True, validators=[validate_tax_code])
    name = models.CharField(_("name"), max_length=300)
    # "name" without marks or case, for search (core.text.search_key; filled on save).
    search_name = models.CharField(_("search key"), max_length=300, default="", editable=False)
    # "name" in Vietnamese alphabetical order (core.text.sort_key; filled on save).
    sort_name = models.CharField(_("sort key"), max_length=1208, default="", editable=False)
    derived_text = {"search_name": ("name", search_key), "sort_name": ("name", sort_key)}
    ownership = models.CharField(_("ownership"), max_length=30, choices=Ownership.choices)
    locality = models.ForeignKey(
        Locality, verbose_name=_("locality"), on_delete=models.PROTECT, related_name="enterprises"
    )
    industrial_park = models.CharField(_("industrial park"), max_length=200, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    size_class = models.CharField(_("size class"), max_length=10, choices=SizeClass.choices)
    employees = models.PositiveIntegerField(_("employees"), default=0)
    operating_status = models.CharField(
        _("operating status"), max_length=20, choices=OperatingStatus.choices, default=OperatingStatus.OPERATING
    )
    managing_committee = models.ForeignKey(
        "branches.Organization",
        verbose_name=_("managing committee"),
        on_delete=models.PROTECT,
        related_name="managed_enterprises",
        help_text=_("The committee responsible for Party building in this enterprise."),
    )
    recorded_by = models.ForeignKey(
        "branches.Organization",
        verbose_name=_("recorded by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="recorded_enterprises",
        help_text=_("The Party organisation whose secretary recorded this enterprise."),
    )
    version = models.PositiveIntegerField(
        _("version"), default=1, editable=False, help_text=_("Raised by every change; guards against lost updates.")
    )

    objects = EnterpriseQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["sort_name", "tax_code"]  # Vietnamese alphabetical order (core.text.sort_key)
        verbose_name = _("enterprise")
        verbose_name_plural = _("enterprises")
        indexes = [
            models.Index(fields=["sort_name", "tax_code"], name="enterprise_sort_order"),
            models.Index(fields=["operating_status"], name="enterprise_operating_status"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(employees__gte=0), name="enterprise_employees_not_negative"),
        ]

    def __str__(self):
        return f"{self.name} ({self.tax_code})"

    def get_absolute_url(self):
        return reverse("enterprises:enterprise_detail", args=[self.pk])


class MassOrganizationQuerySet(ScopedQuerySet):
    def scope_q(self, paths):
        return enterprise_scope_q(paths, prefix="enterprise__")


class MassOrganization(TimestampedModel):
    """A trade union, youth union, women's union or veterans' association inside an enterprise."""

    kind = models.CharField(_("kind"), max_length=30, choices=MassOrganizationKind.choices)
    name = models.CharField(_("name"), max_length=300)
    # "name" without marks or case, for search (core.text.search_key; filled on save).
    search_name = models.CharField(_("search key"), max_length=300, default="", editable=False)
    # "name" in Vietnamese alphabetical order (core.text.sort_key; filled on save).
    sort_name = models.CharField(_("sort key"), max_length=1208, default="", editable=False)
    derived_text = {"search_name": ("name", search_key), "sort_name": ("name", sort_key)}
    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("enterprise"), on_delete=models.PROTECT, related_name="mass_organizations"
    )
    established_on = models.DateField(_("established on"))
    dissolved_on = models.DateField(_("dissolved on"), null=True, blank=True)
    version = models.PositiveIntegerField(
        _("version"), default=1, editable=False, help_text=_("Raised by every change; guards against lost updates.")
    )

    objects = MassOrganizationQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["sort_name", "id"]
        verbose_name = _("mass organisation")
        verbose_name_plural = _("mass organisations")
        indexes = [
            models.Index(fields=["established_on"], name="massorg_established"),
            models.Index(fields=["sort_name", "id"], name="massorg_sort_order"),
            models.Index(fields=["enterprise", "kind"], name="massorg_enterprise_kind"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(dissolved_on__isnull=True) | Q(dissolved_on__gte=models.F("established_on")),
                name="massorg_dissolved_after_established",
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("enterprises:massorganization_detail", args=[self.pk])


class MembershipReturnQuerySet(ScopedQuerySet):
    def scope_q(self, paths):
        return enterprise_scope_q(paths, prefix="mass_organization__enterprise__")


class MembershipReturn(TimestampedModel):
    """A dated return of a mass organisation: its members in total and those admitted since the last."""

    mass_organization = models.ForeignKey(
        MassOrganization, verbose_name=_("mass organisation"), on_delete=models.CASCADE, related_name="returns"
    )
    date = models.DateField(_("date"))
    members_total = models.PositiveIntegerField(_("members in total"), validators=[MinValueValidator(0)])
    members_admitted = models.PositiveIntegerField(
        _("members admitted since the previous return"), validators=[MinValueValidator(0)]
    )
    is_founding = models.BooleanField(_("founding return"), default=False)

    objects = MembershipReturnQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["mass_organization", "date"]
        verbose_name = _("membership return")
        verbose_name_plural = _("membership returns")
        indexes = [models.Index(fields=["date"], name="return_date")]
        constraints = [
            models.UniqueConstraint(fields=["mass_organization", "date"], name="return_one_per_day"),
            models.UniqueConstraint(
                fields=["mass_organization"], condition=Q(is_founding=True), name="return_one_founding"
            ),
            models.CheckConstraint(
                condition=Q(members_admitted__lte=models.F("members_total")) | Q(is_founding=False),
                name="return_founding_admitted_within_total",
            ),
        ]

    def __str__(self):
        return f"{self.mass_organization} — {self.date}"


class ManagingCommitteePeriodQuerySet(OpenStartDatedQuerySet):
    """The periods in force on a date (``on``; an empty start: from the beginning)."""


class ManagingCommitteePeriod(LastDayMixin, models.Model):
    """Which committee managed Party building in an enterprise from ``valid_from`` (empty: from the
    start) until the day before ``valid_to`` (empty: still).

    ``Enterprise.managing_committee`` is today's; these rows exist only for enterprises that passed
    to another committee on a date (a restructuring), so that a report of an earlier date counts
    their mass organisations for the committee of that date. A correction of the committee is not
    a change on a date: it moves the enterprise's history with it and writes no period.
    """

    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("enterprise"), on_delete=models.CASCADE, related_name="committee_periods"
    )
    committee = models.ForeignKey(
        "branches.Organization", verbose_name=_("managing committee"), on_delete=models.PROTECT, related_name="+"
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid until"), null=True, blank=True)
    decision_number = models.CharField(_("decision number"), max_length=60, blank=True)
    decision_date = models.DateField(_("decision date"), null=True, blank=True)

    objects = ManagingCommitteePeriodQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["enterprise", "valid_from"]
        verbose_name = _("managing committee period")
        verbose_name_plural = _("managing committee periods")
        indexes = [models.Index(fields=["valid_from"], name="committee_period_from")]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True) | Q(valid_to__isnull=True) | Q(valid_to__gt=F("valid_from")),
                name="committee_period_ends_after_it_begins",
            ),
        ]

    def __str__(self):
        return f"{self.enterprise_id}: {self.committee_id} {self.valid_from or '…'}–{self.valid_to or '…'}"


class EnterpriseLocalityPeriodQuerySet(OpenStartDatedQuerySet):
    """The periods in force on a date (``on``; an empty start: from the beginning)."""


class EnterpriseLocalityPeriod(LastDayMixin, models.Model):
    """In which locality an enterprise was from ``valid_from`` (empty: from the start) until the day
    before ``valid_to`` (empty: still).

    ``Enterprise.locality`` is today's; these rows exist only for enterprises whose locality was
    merged into another or abolished on a date (a restructuring), so that the enterprise reads in
    its former locality on the dates before. A correction of the locality is not a change on a
    date and writes no period; the open period is today's row, so only ended ones are read.
    """

    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("enterprise"), on_delete=models.CASCADE, related_name="locality_periods"
    )
    locality = models.ForeignKey(Locality, verbose_name=_("locality"), on_delete=models.PROTECT, related_name="+")
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid until"), null=True, blank=True)
    decision_number = models.CharField(_("decision number"), max_length=60, blank=True)
    decision_date = models.DateField(_("decision date"), null=True, blank=True)

    objects = EnterpriseLocalityPeriodQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["enterprise", "valid_from"]
        verbose_name = _("locality period of an enterprise")
        verbose_name_plural = _("locality periods of enterprises")
        indexes = [models.Index(fields=["valid_from"], name="locality_period_from")]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True) | Q(valid_to__isnull=True) | Q(valid_to__gt=F("valid_from")),
                name="locality_period_ends_after_it_begins",
            ),
        ]

    def __str__(self):
        return f"{self.enterprise_id}: {self.locality_id} {self.valid_from or '…'}–{self.valid_to or '…'}"
