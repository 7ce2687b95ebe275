"""Yearly targets assigned to committees."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.models import ScopedQuerySet, TimestampedModel
from core.scoping import scope_for
from reports.metrics import Metric


class TargetQuerySet(ScopedQuerySet):
    scope_lookup = "committee"

    def editable_by(self, user):
        """Department staff set the targets of the committees directly below their own."""
        scope = scope_for(user)
        if scope.everything:
            return self.all()
        return self.filter(committee__in=Target.assignable_committees(user))


class Target(TimestampedModel):
    """A committee's yearly target for one metric."""

    committee = models.ForeignKey(
        "branches.Organization", verbose_name=_("committee"), on_delete=models.CASCADE, related_name="targets"
    )
    year = models.PositiveSmallIntegerField(_("year"))
    metric = models.CharField(_("metric"), max_length=40, choices=Metric.choices)
    value = models.PositiveIntegerField(_("target"))

    objects = TargetQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["year", "committee", "metric"]
        verbose_name = _("yearly target")
        verbose_name_plural = _("yearly targets")
        # The reports read one year of a subtree; the dashboard looks for the latest year with targets.
        indexes = [models.Index(fields=["year", "committee"], name="target_year_committee")]
        constraints = [
            models.UniqueConstraint(fields=["committee", "year", "metric"], name="target_unique_committee_year_metric"),
            models.CheckConstraint(condition=Q(value__gte=0), name="target_value_not_negative"),
            models.CheckConstraint(condition=Q(metric__in=Metric.values), name="target_metric_known"),
            models.CheckConstraint(condition=Q(year__gte=1930) & Q(year__lte=2200), name="target_year_plausible"),
        ]

    def __str__(self):
        return f"{self.committee.code} {self.year} {self.get_metric_display()} = {self.value}"

    @staticmethod
    def assignable_committees(user):
        """Committees whose targets ``user`` sets: those directly below their department's committees."""
        from branches.models import Organization

        scope = scope_for(user)
        committees = Organization.objects.committees()
        if not scope.sets_targets:
            return committees.none()
        parents = scope.target_parent_paths
        if parents is None:
            return committees
        q = Q(pk__in=[])
        for path in parents:
            q |= Q(path__startswith=path, depth=len(path) // Organization.steplen + 1)
        return committees.filter(q)


class Rollup(models.Model):
    """Events of an organisation's whole subtree in one calendar month, per metric (DOMAIN.md rule 3).

    Derived data, kept exact by ``reports.rollups`` (its handlers of the domain events every
    service, bulk writer and loader announces); ``manage.py verify_rollups``
    recounts it from the raw tables. A row counts the events of the organisation and of every
    organisation below it, so a report reads the rows of one organisation and its children.
    """

    pk = models.CompositePrimaryKey("organization", "month", "metric")
    organization = models.ForeignKey(
        "branches.Organization",
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="rollups",
        db_index=False,
        db_constraint=False,  # derived data, checked by verify_rollups: an import's deferred checks spared
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    metric = models.CharField(_("metric"), max_length=40, choices=Metric.choices)
    value = models.BigIntegerField(_("value"), default=0)

    class Meta:
        ordering = ["organization", "month", "metric"]
        verbose_name = _("roll-up")
        verbose_name_plural = _("roll-ups")

    def __str__(self):
        return f"{self.organization_id} {self.month:%Y-%m} {self.metric} = {self.value}"


class TargetCarry(models.Model):
    """Part of a year's target carried, by a merge or a split, from a committee that ended to a
    successor on ``on`` (issue 13).

    The successor's Target row holds the value after the carry; ``previous`` is what it held
    before (empty: it had no row of its own), so that a report dated before ``on`` reads it as it
    was, and from ``on`` the ended committee's own row no longer counts: the effective target of
    the committees above is the same before and after.
    """

    source = models.ForeignKey(
        "branches.Organization",
        verbose_name=_("committee that ended"),
        on_delete=models.CASCADE,
        related_name="targets_carried_away",
    )
    successor = models.ForeignKey(
        "branches.Organization",
        verbose_name=_("successor"),
        on_delete=models.CASCADE,
        related_name="targets_carried_in",
    )
    year = models.PositiveSmallIntegerField(_("year"))
    metric = models.CharField(_("metric"), max_length=40, choices=Metric.choices)
    on = models.DateField(_("carried on"))
    value = models.PositiveIntegerField(_("value carried"))
    previous = models.PositiveIntegerField(_("successor's target before"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["year", "on", "successor", "metric"]
        verbose_name = _("carried target")
        verbose_name_plural = _("carried targets")
        indexes = [models.Index(fields=["year", "successor"], name="target_carry_year_successor")]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "successor", "year", "metric"], name="target_carry_unique_source_successor"
            ),
            models.CheckConstraint(condition=Q(metric__in=Metric.values), name="target_carry_metric_known"),
        ]

    def __str__(self):
        return f"{self.source_id}→{self.successor_id} {self.year} {self.metric} {self.value}"


class StandingCount(models.Model):
    """What stands in one organisation from one day on, per figure of the structure report (DOMAIN.md rule 6).

    A row is a change on ``day`` (an organisation established +1, dissolved −1; a membership
    period opened +1, closed −1; …): a figure of the organisation on a date is the sum of its rows
    up to that date. Two sentinel days: ``FIRST_DAY`` holds the undated figures (enterprises by
    managing committee), ``TOTAL_DAY`` the sum of all the other rows (what stands after every
    change), so a date near today reads the total less the few later changes. Per organisation,
    not per ancestor: a report maps them onto any tree. Derived data, kept exact by
    ``reports.rollups`` and checked by ``manage.py verify_rollups``.
    """

    pk = models.CompositePrimaryKey("organization", "day", "metric")
    organization = models.ForeignKey(
        "branches.Organization",
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="standing_counts",
        db_index=False,
        db_constraint=False,  # derived data, checked by verify_rollups: an import's deferred checks spared
    )
    day = models.DateField(_("day"))
    metric = models.CharField(_("figure"), max_length=40)
    value = models.BigIntegerField(_("value"), default=0)

    class Meta:
        ordering = ["organization", "day", "metric"]
        verbose_name = _("standing count")
        verbose_name_plural = _("standing counts")
        indexes = [models.Index(fields=["day"], name="standing_count_day")]

    def __str__(self):
        return f"{self.organization_id} {self.day} {self.metric} = {self.value}"


class StandingRollup(models.Model):
    """The standing counts' changes of an organisation's whole subtree (on today's tree), per month.

    ``month`` is the first day of the month the changes fall in, or one of the standing counts'
    sentinel days: ``FIRST_DAY`` for the undated figures, ``TOTAL_DAY`` for the sum of all (what
    stands after every change). A subtree's figure on a date is its total less the months after
    the date's (or the months before it), the days of the date's own month read from its
    organisations' :class:`StandingCount` rows: a few rows per subtree, whatever its size. Kept
    with the standing counts by ``reports.rollups.standing``; not the admissions.
    """

    pk = models.CompositePrimaryKey("organization", "month", "metric")
    organization = models.ForeignKey(
        "branches.Organization",
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,  # derived data, checked by verify_rollups: an import's deferred checks spared
    )
    month = models.DateField(_("month"))
    metric = models.CharField(_("figure"), max_length=40)
    value = models.BigIntegerField(_("value"), default=0)

    class Meta:
        ordering = ["organization", "month", "metric"]
        verbose_name = _("standing roll-up")
        verbose_name_plural = _("standing roll-ups")
        # (one figure of every subtree after a month: the gaps' stagnant organisations)
        indexes = [models.Index(fields=["metric", "month"], name="standing_rollup_metric_month")]

    def __str__(self):
        return f"{self.organization_id} {self.month} {self.metric} = {self.value}"


class EnterpriseStandingCount(models.Model):
    """What stands in one enterprise from one day on, per figure of the gaps report (DOMAIN.md rule 7):
    members working there with a period in force, of whom official, and its trade unions. Read
    like :class:`StandingCount` (same sentinel days)."""

    pk = models.CompositePrimaryKey("enterprise", "day", "metric")
    enterprise = models.ForeignKey(
        "enterprises.Enterprise",
        verbose_name=_("enterprise"),
        on_delete=models.CASCADE,
        related_name="standing_counts",
        db_index=False,
        db_constraint=False,  # derived data, checked by verify_rollups: an import's deferred checks spared
    )
    day = models.DateField(_("day"))
    metric = models.CharField(_("figure"), max_length=40)
    value = models.BigIntegerField(_("value"), default=0)

    class Meta:
        ordering = ["enterprise", "day", "metric"]
        verbose_name = _("enterprise standing count")
        verbose_name_plural = _("enterprise standing counts")
        indexes = [
            models.Index(fields=["day"], name="enterprise_standing_day"),
            # (the enterprises a gap flag holds on a date: the gaps' lists)
            models.Index(fields=["metric", "day"], name="enterprise_standing_metric_day"),
        ]

    def __str__(self):
        return f"{self.enterprise_id} {self.day} {self.metric} = {self.value}"


class StatisticsFact(models.Model):
    """What one member contributes to the statutory statistics (forms 1-BTCTW and 3-BTCTW), as last
    counted: a membership period beginning or ending in an organisation and month (by the form's
    column), a move between two organisations at the nearest organisation holding both, and the
    admission with the columns of the new-admissions form it counts in (``value``: their bits,
    in the order of ``reports.statistics_rules.admission_columns``).

    Derived data: when a member's records change, its facts are counted again and the difference
    goes to :class:`StatisticsRollup`. The member is not a foreign key so that the facts of a
    member deleted outright can still be taken back.
    """

    member_id = models.BigIntegerField(_("member"))
    organization = models.ForeignKey(
        "branches.Organization",
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,  # derived data, checked by verify_rollups: an import's deferred checks spared
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    metric = models.CharField(_("figure"), max_length=40)
    value = models.BigIntegerField(_("value"), default=1)

    class Meta:
        ordering = ["member_id", "month", "metric"]
        verbose_name = _("statistics fact")
        verbose_name_plural = _("statistics facts")
        indexes = [
            models.Index(fields=["member_id"], name="statistics_fact_member"),
            models.Index(fields=["organization", "metric"], name="statistics_fact_org_metric"),
        ]

    def __str__(self):
        return f"{self.member_id} {self.organization_id} {self.month:%Y-%m} {self.metric} = {self.value}"


class StatisticsRollup(models.Model):
    """The statutory statistics' figures of an organisation's whole subtree in one month: the sums
    of the :class:`StatisticsFact` of the organisation and of every organisation below it (the
    admissions' bits counted one figure each), so that a report reads the rows of one
    organisation and its children. Kept exact with the facts; ``manage.py verify_rollups``
    recounts both."""

    pk = models.CompositePrimaryKey("organization", "month", "metric")
    organization = models.ForeignKey(
        "branches.Organization",
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="statistics_rollups",
        db_index=False,
        db_constraint=False,  # derived data, checked by verify_rollups: an import's deferred checks spared
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    metric = models.CharField(_("figure"), max_length=60)
    value = models.BigIntegerField(_("value"), default=0)

    class Meta:
        ordering = ["organization", "month", "metric"]
        verbose_name = _("statistics roll-up")
        verbose_name_plural = _("statistics roll-ups")

    def __str__(self):
        return f"{self.organization_id} {self.month:%Y-%m} {self.metric} = {self.value}"
