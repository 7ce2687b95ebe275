"""django-tables2 tables of the enterprise and mass-organisation lists."""

import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from core.tables import NOWRAP, TABLE_ATTRS, CountColumn, ShortDateColumn
from enterprises.models import Enterprise, MassOrganization


class EnterpriseTable(tables.Table):
    name = tables.Column(linkify=("enterprises:enterprise_detail", {"pk": tables.A("pk")}), order_by=("sort_name",))
    tax_code = tables.Column()
    ownership = tables.Column()
    locality = tables.Column(order_by=("locality__sort_name",))
    size_class = tables.Column()
    employees = CountColumn()
    operating_status = tables.Column()
    managing_committee = tables.Column(order_by=("managing_committee__path",))

    class Meta:
        model = Enterprise
        fields = (
            "name",
            "tax_code",
            "ownership",
            "locality",
            "size_class",
            "employees",
            "operating_status",
            "managing_committee",
        )
        attrs = TABLE_ATTRS
        empty_text = _("No enterprises match.")


class MassOrganizationTable(tables.Table):
    name = tables.Column(
        linkify=("enterprises:massorganization_detail", {"pk": tables.A("pk")}), order_by=("sort_name",)
    )
    kind = tables.Column()
    enterprise = tables.Column(
        linkify=("enterprises:enterprise_detail", {"pk": tables.A("enterprise_id")}),
        order_by=("enterprise__sort_name",),
    )
    established_on = ShortDateColumn(attrs=NOWRAP)
    dissolved_on = ShortDateColumn(attrs=NOWRAP)
    latest_total = CountColumn(verbose_name=_("members (latest return)"))
    latest_date = ShortDateColumn(attrs=NOWRAP, verbose_name=_("latest return"))

    class Meta:
        model = MassOrganization
        fields = ("name", "kind", "enterprise", "established_on", "dissolved_on", "latest_total", "latest_date")
        attrs = TABLE_ATTRS
        empty_text = _("No mass organisations match.")
