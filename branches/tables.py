"""django-tables2 tables of the organisation, member and prospect lists."""

import django_tables2 as tables
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from branches.models import Member, Organization, Prospect
from core.tables import NOWRAP, TABLE_ATTRS, ShortDateColumn


class OrganizationTable(tables.Table):
    name = tables.Column(linkify=("branches:organization_detail", {"pk": tables.A("pk")}), order_by=("path",))
    code = tables.Column()
    kind = tables.Column()
    enterprise = tables.Column(linkify=("enterprises:enterprise_detail", {"pk": tables.A("enterprise_id")}))
    established_on = ShortDateColumn(attrs=NOWRAP)
    dissolved_on = ShortDateColumn(attrs=NOWRAP)

    class Meta:
        model = Organization
        fields = ("name", "code", "kind", "enterprise", "established_on", "dissolved_on")
        attrs = TABLE_ATTRS
        empty_text = _("No organisations.")

    def __init__(self, *args, top_depth=1, **kwargs):
        self.top_depth = top_depth
        super().__init__(*args, **kwargs)

    def render_name(self, record, value):
        # Indented by depth below the user's highest organisation (CSS classes: no inline styles).
        indent = min(max(record.depth - self.top_depth + 1, 1), 10)
        return format_html('<span class="tree-indent tree-depth-{}">{}</span>', indent, value)


class MemberTable(tables.Table):
    full_name = tables.Column(linkify=("branches:member_detail", {"pk": tables.A("pk")}), order_by=("sort_name", "id"))
    party_card_number = tables.Column()
    masked_citizen_id = tables.Column(verbose_name=_("citizen ID"), orderable=False)
    organization = tables.Column(order_by=("organization__path",))
    enterprise = tables.Column()
    position = tables.Column()
    is_business_owner = tables.BooleanColumn()
    admitted_on = ShortDateColumn(attrs=NOWRAP)
    official_on = ShortDateColumn(attrs=NOWRAP, verbose_name=_("official on"))
    status = tables.Column()

    class Meta:
        model = Member
        fields = (
            "full_name",
            "party_card_number",
            "masked_citizen_id",
            "organization",
            "enterprise",
            "position",
            "is_business_owner",
            "admitted_on",
            "official_on",
            "status",
        )
        attrs = TABLE_ATTRS
        empty_text = _("No members match.")

    def value_masked_citizen_id(self, record):
        return record.masked_citizen_id


class ProspectTable(tables.Table):
    full_name = tables.Column(linkify=("branches:prospect_detail", {"pk": tables.A("pk")}), order_by=("sort_name",))
    organization = tables.Column(order_by=("organization__path",))
    enterprise = tables.Column()
    stage = tables.Column()
    identified_on = ShortDateColumn(attrs=NOWRAP)
    course_completed_on = ShortDateColumn(attrs=NOWRAP)
    dossier_completed_on = ShortDateColumn(attrs=NOWRAP)

    class Meta:
        model = Prospect
        fields = (
            "full_name",
            "organization",
            "enterprise",
            "stage",
            "identified_on",
            "course_completed_on",
            "dossier_completed_on",
        )
        attrs = TABLE_ATTRS
        empty_text = _("No prospects match.")
