"""The fixed metric keys of the reports (DOMAIN.md, rule 3)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Metric(models.TextChoices):
    PARTY_ORGS_ESTABLISHED = "party_orgs_established", _("Party organisations established")
    MEMBERS_ADMITTED = "members_admitted", _("members admitted")
    OWNERS_ADMITTED = "owners_admitted", _("of which business owners")
    MASS_ORGS_ESTABLISHED = "mass_orgs_established", _("mass organisations established")
    MASS_ORG_MEMBERS_ADMITTED = "mass_org_members_admitted", _("mass organisation members admitted")
    TRADE_UNIONS_ESTABLISHED = "trade_unions_established", _("trade unions established")
    TRADE_UNION_MEMBERS_ADMITTED = "trade_union_members_admitted", _("trade union members admitted")
    YOUTH_UNIONS_ESTABLISHED = "youth_unions_established", _("youth unions established")
    YOUTH_UNION_MEMBERS_ADMITTED = "youth_union_members_admitted", _("youth union members admitted")


#: For the two all-kinds mass-organisation metrics, the per-kind metrics whose targets add up to them.
MASS_ORG_KIND_METRICS = {
    Metric.MASS_ORGS_ESTABLISHED: (Metric.TRADE_UNIONS_ESTABLISHED, Metric.YOUTH_UNIONS_ESTABLISHED),
    Metric.MASS_ORG_MEMBERS_ADMITTED: (Metric.TRADE_UNION_MEMBERS_ADMITTED, Metric.YOUTH_UNION_MEMBERS_ADMITTED),
}
