"""Exports of every list (members, enterprises, organisations, mass organisations, prospects).

Each export is the list's FilterSet applied to ``visible_to(user)``: exactly what the user sees
on the list page with the same filters. Headers are in the active language, dates are dates,
codes are text. The members export has the columns of the members import (plus informative columns
the import skips: status, organisation, the recognition decision, and how the membership ended with
its decision or letter), so exporting and re-importing changes nothing.
"""

import re
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Case, CharField, Exists, F, Func, OuterRef, Subquery, When
from django.db.models.functions import Concat, Length, Substr
from django.utils.translation import gettext_lazy as _

from branches.choices import MemberStatus, PeriodEndReason
from branches.filtersets import MemberFilterSet, OrganizationFilterSet, ProspectFilterSet
from branches.models import Member, MembershipPeriod, Organization, OrganizationVersion, Prospect
from core.models import mask_citizen_id
from core.spreadsheets import (
    FORMULA_TRIGGERS,
    XLSX_DATE_STYLE,
    XLSX_TEXT_STYLE,
    OutColumn,
    csv_cell,
    write_csv,
    write_csv_to,
    write_xlsx,
    write_xlsx_rows_to,
    write_xlsx_to,
)
from dataio.enterprise_imports import ENTERPRISE_COLUMNS, ENTERPRISE_IGNORED
from dataio.imports import MEMBER_COLUMNS, MEMBER_IGNORED
from enterprises.filtersets import EnterpriseFilterSet, MassOrganizationFilterSet
from enterprises.models import Enterprise, MassOrganization, MembershipReturn

FORMATS = ("xlsx", "csv")


def _masked(row, value):
    if not value:
        return ""
    return value if getattr(row, "can_edit", False) else mask_citizen_id(value)


class Choice:
    """A column holding the label of a choice field's value (``get_FOO_display``), in the active language.

    The labels are translated once per export: ``get_FOO_display`` flattens the choices and
    translates the label again for every row (most of the CPU of a large export).
    """

    def __init__(self, name):
        self.name = name

    def getter(self, model):
        field = model._meta.get_field(self.name)
        labels = {value: str(label) for value, label in field.flatchoices}
        attname = field.attname

        def label(row):
            value = getattr(row, attname)
            if value is None:
                return ""
            try:
                return labels[value]
            except (KeyError, TypeError):  # a value outside the choices: shown as stored
                return str(value)

        return label


@dataclass(frozen=True)
class ExportKind:
    """One exportable list: its title, model, filterset, the rows' queryset and their columns."""

    key: str
    title: object
    model: type
    filterset: type
    columns: tuple  # (header, value of a row, is text)
    csv_columns: object = None  # () → the columns as CSV fields computed by PostgreSQL (_copy_csv)
    xlsx_columns: object = None  # () → the cells of a row as XML computed by PostgreSQL (_copy_xlsx)

    def out_columns(self):
        return [OutColumn(str(header), text=text) for header, _value, text in self.columns]

    def rows(self, queryset, collect_ids=None):
        """The values of each row; ``collect_ids`` (a list) receives the primary keys written."""
        getters = [
            value.getter(self.model) if isinstance(value, Choice) else value for _header, value, _text in self.columns
        ]
        prepared = self.prepare(queryset)
        for row in prepared.iterator(chunk_size=2000):
            if collect_ids is not None:
                collect_ids.append(row.pk)
            yield [getter(row) for getter in getters]

    def prepare(self, queryset):
        return PREPARE[self.key](queryset)


def _header(columns, key):
    return next(column.label for column in columns if column.key == key)


MEMBER_EXPORT = ExportKind(
    "members",
    _("Party members"),
    Member,
    MemberFilterSet,
    (
        (_header(MEMBER_COLUMNS, "citizen_id"), lambda m: _masked(m, m.citizen_id), True),
        (_header(MEMBER_COLUMNS, "full_name"), lambda m: m.full_name, False),
        (_header(MEMBER_COLUMNS, "sex"), Choice("sex"), False),
        (_header(MEMBER_COLUMNS, "date_of_birth"), lambda m: m.date_of_birth, False),
        (_header(MEMBER_COLUMNS, "party_card_number"), lambda m: m.party_card_number, True),
        (_header(MEMBER_COLUMNS, "organization"), lambda m: m.organization.code, True),
        (_header(MEMBER_COLUMNS, "admitted_on"), lambda m: m.admitted_on, False),
        (_header(MEMBER_COLUMNS, "dossier_reviewed_on"), lambda m: m.dossier_reviewed_on, False),
        (_header(MEMBER_COLUMNS, "over_age_approved"), lambda m: m.over_age_approved, False),
        (_header(MEMBER_COLUMNS, "over_age_approval_reference"), lambda m: m.over_age_approval_reference, True),
        (_header(MEMBER_COLUMNS, "admission_decision_number"), lambda m: m.admission_decision_number, True),
        (_header(MEMBER_COLUMNS, "admission_decided_by"), lambda m: m.admission_decided_by, False),
        (_header(MEMBER_COLUMNS, "ceremony_on"), lambda m: m.ceremony_on, False),
        (_header(MEMBER_COLUMNS, "official_on"), lambda m: m.official_on, False),
        (MEMBER_IGNORED[2], lambda m: m.recognition_decision_number, True),
        (MEMBER_IGNORED[3], lambda m: m.recognition_decided_on, False),
        (_header(MEMBER_COLUMNS, "enterprise"), lambda m: m.enterprise.tax_code if m.enterprise_id else "", True),
        (_header(MEMBER_COLUMNS, "position"), Choice("position"), False),
        (_header(MEMBER_COLUMNS, "is_business_owner"), lambda m: m.is_business_owner, False),
        (_header(MEMBER_COLUMNS, "ethnicity"), Choice("ethnicity"), False),
        (_header(MEMBER_COLUMNS, "religion"), Choice("religion"), False),
        (_header(MEMBER_COLUMNS, "general_education"), lambda m: m.general_education, True),
        (
            _header(MEMBER_COLUMNS, "professional_qualification"),
            Choice("professional_qualification"),
            False,
        ),
        (_header(MEMBER_COLUMNS, "political_theory"), Choice("political_theory"), False),
        (
            _header(MEMBER_COLUMNS, "youth_union_member_at_admission"),
            lambda m: m.youth_union_member_at_admission,
            False,
        ),
        (_header(MEMBER_COLUMNS, "hometown"), lambda m: m.hometown, False),
        (MEMBER_IGNORED[0], Choice("status"), False),
        (MEMBER_IGNORED[1], lambda m: m.organization.name, False),
        (MEMBER_IGNORED[4], lambda m: m.ended_on, False),
        (MEMBER_IGNORED[5], lambda m: _end_reason_label(m.end_reason), False),
        (MEMBER_IGNORED[6], lambda m: m.end_decision_number or "", True),
        (MEMBER_IGNORED[7], lambda m: m.end_decided_on, False),
    ),
    csv_columns=lambda: _csv_columns(Member, MEMBER_SQL_COLUMNS),
    xlsx_columns=lambda: _xlsx_columns(MEMBER_EXPORT, MEMBER_SQL_COLUMNS),
)


def _end_reason_label(reason):
    return str(PeriodEndReason(reason).label) if reason else ""


# The PostgreSQL fast path of a large CSV export (:func:`_copy_csv`): each column's CSV field is
# computed by the database, byte for byte what ``csv_cell`` makes of the column's Python value, and
# COPY writes the rows. A field that would be empty is NULL (COPY writes an empty string as "").


class _Sql(Func):
    """SQL of a template: ``{0}``, ``{1}``… the expressions (each may be repeated), ``%s`` the
    template's own parameters in order."""

    output_field = CharField()

    def __init__(self, template, *expressions, params=()):
        super().__init__(*expressions)
        self.sql_template, self.sql_params = template, tuple(params)

    def as_sql(self, compiler, connection, **extra_context):
        compiled = [compiler.compile(expression) for expression in self.get_source_expressions()]
        sql, params, own = [], [], iter(self.sql_params)
        for token in re.split(r"(\{\d\}|%s)", self.sql_template):
            if token == "%s":
                params.append(next(own))
            elif re.fullmatch(r"\{\d\}", token):
                token, expression_params = compiled[int(token[1])]
                params.extend(expression_params)
            sql.append(token)
        return "".join(sql), params


#: ``csv_cell``'s neutralisation of a text: an apostrophe before a formula trigger; NULL when empty.
_TEXT = (
    "CASE WHEN left({0}, 1) IN ("
    + ", ".join(f"chr({ord(char)})" for char in FORMULA_TRIGGERS)
    + ") THEN chr(39) || {0} ELSE NULLIF({0}, '') END"
)


def _text_sql(name):
    return _Sql(_TEXT, F(name))


def _date_sql(name):
    return _Sql("to_char({0}, 'DD/MM/YYYY')", F(name))


def _boolean_sql(name):
    return _Sql("CASE WHEN {0} THEN '1' WHEN NOT {0} THEN '0' END", F(name))


def _labels_sql(name, choices):
    """The label of each stored value (``choices``: value, label) in the active language; a value
    outside them shown as stored (as :class:`Choice` does)."""
    labels = {value: str(label) for value, label in choices}
    params = []
    for value, label in labels.items():
        params += [value, csv_cell(label) or None]
    whens = " ".join("WHEN %s THEN %s" for _label in labels)
    return _Sql(f"CASE {{0}} {whens} ELSE {_TEXT} END", F(name), params=params)


def _number_sql(name):
    return _Sql("CAST({0} AS text)", F(name))


def _masked_sql():
    """The citizen ID as ``_masked`` shows it: whole to those who may edit the member, else masked."""
    dots = mask_citizen_id("0000")[:-4]
    return _Sql(
        "CASE WHEN {0} = '' THEN NULL WHEN {1} THEN {0} ELSE %s || right({0}, 4) END",
        F("citizen_id"),
        F("can_edit"),
        params=[dots],
    )


#: The member export's columns as the database computes them: (kind, field), in the order of
#: ``MEMBER_EXPORT.columns``.
MEMBER_SQL_COLUMNS = (
    ("masked", "citizen_id"),
    ("text", "full_name"),
    ("choice", "sex"),
    ("date", "date_of_birth"),
    ("text", "party_card_number"),
    ("text", "organization__code"),
    ("date", "admitted_on"),
    ("date", "dossier_reviewed_on"),
    ("boolean", "over_age_approved"),
    ("text", "over_age_approval_reference"),
    ("text", "admission_decision_number"),
    ("text", "admission_decided_by"),
    ("date", "ceremony_on"),
    ("date", "official_on"),
    ("text", "recognition_decision_number"),
    ("date", "recognition_decided_on"),
    ("text", "enterprise__tax_code"),
    ("choice", "position"),
    ("boolean", "is_business_owner"),
    ("choice", "ethnicity"),
    ("choice", "religion"),
    ("text", "general_education"),
    ("choice", "professional_qualification"),
    ("choice", "political_theory"),
    ("boolean", "youth_union_member_at_admission"),
    ("text", "hometown"),
    ("choice", "status"),
    ("text", "organization__name"),
    ("date", "ended_on"),
    ("end_reason", "end_reason"),
    ("text", "end_decision_number"),
    ("date", "end_decided_on"),
)


def _choices(model, kind, name):
    """The (value, label) pairs of a choice column (``kind`` "choice" or "end_reason")."""
    return PeriodEndReason.choices if kind == "end_reason" else model._meta.get_field(name).flatchoices


def _csv_columns(model, sql_columns):
    """The CSV fields of ``sql_columns`` ((kind, field) of ``model``'s rows) as the database computes them."""
    builders = {
        "masked": lambda _name: _masked_sql(),
        "text": _text_sql,
        "choice": lambda name: _labels_sql(name, _choices(model, "choice", name)),
        "date": _date_sql,
        "boolean": _boolean_sql,
        "number": _number_sql,
        "end_reason": lambda name: _labels_sql(name, _choices(model, "end_reason", name)),
    }
    return tuple(builders[kind](name) for kind, name in sql_columns)


# The PostgreSQL path of a large .xlsx export (:func:`_copy_xlsx`): each row's cells are written as
# the sheet's XML by the database, the values, styles and empty cells as ``write_xlsx_to`` writes
# them through openpyxl (``tests/dataio/test_export_xlsx_sql.py`` reads both back and compares).
# Text is escaped for XML, and the characters COPY's text format would escape (backslash, tab,
# line breaks) are written as character references, so that each line COPY sends is the row.

_XML_TEXT = (
    "replace(replace(replace(replace(replace(replace(replace(regexp_replace({0}, "
    "'[' || chr(1) || '-' || chr(8) || chr(11) || chr(12) || chr(14) || '-' || chr(31) || ']', '', 'g'), "
    "'&', '&amp;'), '<', '&lt;'), '>', '&gt;'), chr(92), '&#92;'), chr(9), '&#9;'), chr(10), '&#10;'), "
    "chr(13), '&#13;')"
)


def _xlsx_string(value_sql, style):
    """A string cell of ``value_sql`` (an SQL expression of text): empty when NULL or empty."""
    styled = f' s="{style}"' if style else ""
    empty = f"<c{styled}/>" if style else "<c/>"
    text = _XML_TEXT.replace("{0}", value_sql)
    return (
        f"CASE WHEN COALESCE({value_sql}, '') = '' THEN '{empty}' "
        f"ELSE '<c{styled} t=\"inlineStr\"><is><t xml:space=\"preserve\">' || {text} || '</t></is></c>' END"
    )


def _xlsx_column(model, kind, name, text):
    style = XLSX_TEXT_STYLE if text else 0
    if kind == "date":
        return _Sql(
            f"CASE WHEN {{0}} IS NULL THEN '<c/>' ELSE '<c s=\"{XLSX_DATE_STYLE}\" t=\"n\"><v>' "
            "|| ({0} - DATE '1899-12-30') || '</v></c>' END",
            F(name),
        )
    if kind == "boolean":
        return _Sql(
            "CASE WHEN {0} THEN '<c t=\"b\"><v>1</v></c>' WHEN NOT {0} THEN '<c t=\"b\"><v>0</v></c>' ELSE '<c/>' END",
            F(name),
        )
    if kind == "masked":
        dots = mask_citizen_id("0000")[:-4]
        masked = "CASE WHEN {1} THEN {0} ELSE %s || right({0}, 4) END"
        template = _xlsx_string(masked, style)
        return _Sql(template, F(name), F("can_edit"), params=[dots] * template.count("%s"))
    if kind in ("choice", "end_reason"):
        labels = {value: str(label) for value, label in _choices(model, kind, name)}
        params = [item for value, label in labels.items() for item in (value, label)]
        whens = " ".join("WHEN %s THEN %s" for _label in labels)
        labelled = f"(CASE {{0}} {whens} ELSE {{0}} END)"
        template = _xlsx_string(labelled, style)
        return _Sql(template, F(name), params=params * template.count(whens))
    if kind == "number":
        return _Sql("CASE WHEN {0} IS NULL THEN '<c/>' ELSE '<c t=\"n\"><v>' || {0} || '</v></c>' END", F(name))
    return _Sql(_xlsx_string("{0}", style), F(name))


def _xlsx_columns(export, sql_columns):
    """The cells of ``sql_columns`` ((kind, field), in the order of ``export.columns``) as the sheet's XML."""
    texts = [text for _header, _value, text in export.columns]
    pairs = zip(sql_columns, texts, strict=True)
    return tuple(_xlsx_column(export.model, kind, name, text) for (kind, name), text in pairs)


def _copied_rows(rows, options, separator, collect_ids, progress):
    """Each row of ``rows`` (a values list of the primary key, then the row's text) as PostgreSQL's
    COPY sends it (``options``: its format), without the key (collected into ``collect_ids``, then
    cut off at ``separator``) and the line end; ``progress(rows so far)`` every 500 rows when given.
    PostgreSQL sends one message per row (the protocol's CopyData), so each chunk is one line."""
    sql, params = rows.query.sql_with_params()
    # Without JIT: compiling the query's expressions costs seconds and saves less (measured at 100,000
    # members: 3.0-3.4 s without, 5.2-6.9 s with); the setting is put back for the rest of the transaction.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('jit'), set_config('jit', 'off', true)")
        jit = cursor.fetchone()[0]
        with cursor.cursor.copy(f"COPY ({sql}) TO STDOUT{options}", params) as copy:
            for written, chunk in enumerate(copy, start=1):
                line = bytes(chunk)
                if not line.endswith(b"\n"):
                    raise RuntimeError("COPY sent a part of a row")
                cut = line.index(separator)
                if collect_ids is not None:
                    collect_ids.append(int(line[:cut]))
                yield line[cut + 1 : -1]
                if progress is not None and written % 500 == 0:
                    progress(written)
        cursor.execute("SELECT set_config('jit', %s, true)", [jit])


def _copy_csv(target, export, queryset, collect_ids, progress):
    """Write the rows of ``queryset`` (prepared) as CSV into ``target`` with PostgreSQL's COPY, the
    line ending made ``\\r\\n`` as ``csv.writer``'s."""
    fields = export.csv_columns()
    names = [f"csv_{index}" for index in range(len(fields))]
    rows = queryset.annotate(**dict(zip(names, fields, strict=True))).values_list("pk", *names)
    written, pending = 0, []
    for written, line in enumerate(_copied_rows(rows, " (FORMAT csv)", b",", collect_ids, None), start=1):  # noqa: B007
        pending.append(line)
        if written % 500 == 0:
            target.write(b"\r\n".join(pending) + b"\r\n")
            pending = []
            if progress is not None:
                progress(written)
    if pending:
        target.write(b"\r\n".join(pending) + b"\r\n")
    return written


def _copy_xlsx(target, export, queryset, collect_ids, progress):
    """Write the rows of ``queryset`` (prepared) as an .xlsx into ``target``: PostgreSQL writes each
    row's cells as XML (:func:`_xlsx_columns`) and COPY sends them;
    :func:`~core.spreadsheets.write_xlsx_rows_to` packs them."""
    cells = export.xlsx_columns()
    rows = queryset.annotate(row=Concat(*cells, output_field=CharField())).values_list("pk", "row")
    lines = _copied_rows(rows, "", b"\t", collect_ids, progress)
    return write_xlsx_rows_to(target, export.out_columns(), lines, title=export.title)


ENTERPRISE_EXPORT = ExportKind(
    "enterprises",
    _("Enterprises"),
    Enterprise,
    EnterpriseFilterSet,
    (
        (_header(ENTERPRISE_COLUMNS, "tax_code"), lambda e: e.tax_code, True),
        (_header(ENTERPRISE_COLUMNS, "name"), lambda e: e.name, False),
        (_header(ENTERPRISE_COLUMNS, "ownership"), Choice("ownership"), False),
        (_header(ENTERPRISE_COLUMNS, "locality"), lambda e: e.locality.code, True),
        (_header(ENTERPRISE_COLUMNS, "industrial_park"), lambda e: e.industrial_park, False),
        (_header(ENTERPRISE_COLUMNS, "address"), lambda e: e.address, False),
        (_header(ENTERPRISE_COLUMNS, "size_class"), Choice("size_class"), False),
        (_header(ENTERPRISE_COLUMNS, "employees"), lambda e: e.employees, False),
        (
            _header(ENTERPRISE_COLUMNS, "operating_status"),
            Choice("operating_status"),
            False,
        ),
        (_header(ENTERPRISE_COLUMNS, "managing_committee"), lambda e: e.managing_committee.code, True),
        (ENTERPRISE_IGNORED[0], lambda e: e.locality.name, False),
        (ENTERPRISE_IGNORED[1], lambda e: e.managing_committee.name, False),
    ),
    csv_columns=lambda: _csv_columns(Enterprise, ENTERPRISE_SQL_COLUMNS),
    xlsx_columns=lambda: _xlsx_columns(ENTERPRISE_EXPORT, ENTERPRISE_SQL_COLUMNS),
)

#: The enterprise export's columns as the database computes them, in the order of its columns.
ENTERPRISE_SQL_COLUMNS = (
    ("text", "tax_code"),
    ("text", "name"),
    ("choice", "ownership"),
    ("text", "locality__code"),
    ("text", "industrial_park"),
    ("text", "address"),
    ("choice", "size_class"),
    ("number", "employees"),
    ("choice", "operating_status"),
    ("text", "managing_committee__code"),
    ("text", "locality__name"),
    ("text", "managing_committee__name"),
)

ORGANIZATION_EXPORT = ExportKind(
    "organizations",
    _("Party organisations"),
    Organization,
    OrganizationFilterSet,
    (
        (_("code"), lambda o: o.code, True),
        (_("name"), lambda o: o.name, False),
        (_("kind"), Choice("kind"), False),
        (_("parent organisation code"), lambda o: o.parent_code or "", True),
        (_("locality"), lambda o: o.locality.name, False),
        (_("enterprise tax code"), lambda o: o.enterprise.tax_code if o.enterprise_id else "", True),
        (_("established on"), lambda o: o.established_on, False),
        (_("number of the establishment decision"), lambda o: o.established_by or "", True),
        (_("date of the establishment decision"), lambda o: o.established_by_on, False),
        (_("dissolved on"), lambda o: o.dissolved_on, False),
        (_("number of the dissolution decision"), lambda o: o.dissolution_decision_number, True),
        (_("coordination regulation signed"), lambda o: o.coordination_regulation_signed, False),
    ),
    csv_columns=lambda: _csv_columns(Organization, ORGANIZATION_SQL_COLUMNS),
    xlsx_columns=lambda: _xlsx_columns(ORGANIZATION_EXPORT, ORGANIZATION_SQL_COLUMNS),
)

#: The organisation export's columns as the database computes them, in the order of its columns.
ORGANIZATION_SQL_COLUMNS = (
    ("text", "code"),
    ("text", "name"),
    ("choice", "kind"),
    ("text", "parent_code"),
    ("text", "locality__name"),
    ("text", "enterprise__tax_code"),
    ("date", "established_on"),
    ("text", "established_by"),
    ("date", "established_by_on"),
    ("date", "dissolved_on"),
    ("text", "dissolution_decision_number"),
    ("boolean", "coordination_regulation_signed"),
)

MASS_ORGANIZATION_EXPORT = ExportKind(
    "mass_organizations",
    _("Mass organisations"),
    MassOrganization,
    MassOrganizationFilterSet,
    (
        (_("name"), lambda m: m.name, False),
        (_("kind"), Choice("kind"), False),
        (_("enterprise tax code"), lambda m: m.enterprise.tax_code, True),
        (_("enterprise"), lambda m: m.enterprise.name, False),
        (_("managing committee code"), lambda m: m.enterprise.managing_committee.code, True),
        (_("established on"), lambda m: m.established_on, False),
        (_("dissolved on"), lambda m: m.dissolved_on, False),
        (_("date of the latest return"), lambda m: m.latest_return_on, False),
        (_("members in total"), lambda m: m.latest_members_total, False),
    ),
)

PROSPECT_EXPORT = ExportKind(
    "prospects",
    _("Prospects"),
    Prospect,
    ProspectFilterSet,
    (
        (_("full name"), lambda p: p.full_name, False),
        (_("sex"), Choice("sex"), False),
        (_("date of birth"), lambda p: p.date_of_birth, False),
        (_("citizen ID"), lambda p: _masked(p, p.citizen_id), True),
        (_("sponsoring organisation code"), lambda p: p.organization.code, True),
        (_("workplace enterprise tax code"), lambda p: p.enterprise.tax_code if p.enterprise_id else "", True),
        (_("position"), Choice("position"), False),
        (_("business owner"), lambda p: p.is_business_owner, False),
        (_("stage"), Choice("stage"), False),
        (_("identified on"), lambda p: p.identified_on, False),
        (_("awareness course completed on"), lambda p: p.course_completed_on, False),
        (_("dossier completed on"), lambda p: p.dossier_completed_on, False),
        (_("admitted or withdrawn on"), lambda p: p.closed_on, False),
    ),
)

KINDS = {
    kind.key: kind
    for kind in (MEMBER_EXPORT, ENTERPRISE_EXPORT, ORGANIZATION_EXPORT, MASS_ORGANIZATION_EXPORT, PROSPECT_EXPORT)
}


#: Columns no export shows: left unread (a million members read 3 million timestamps otherwise).
UNSHOWN = ("created", "updated", "search_name", "sort_name", "version")


def _prepare_members(queryset):
    """How a membership ended is read from the member's latest period, only for the members who are
    no longer active (the CASE spares the active ones the look-up)."""
    unshown = [f"{prefix}{name}" for prefix in ("", "organization__", "enterprise__") for name in UNSHOWN]
    latest = MembershipPeriod.objects.filter(member=OuterRef("pk")).order_by("-started_on", "-id")

    def ended(field):
        return Case(When(status=MemberStatus.ACTIVE, then=None), default=Subquery(latest.values(field)[:1]))

    return (
        queryset.select_related("organization", "enterprise")
        .defer(*unshown)
        .annotate(
            ended_on=ended("ended_on"),
            end_reason=ended("end_reason"),
            end_decision_number=ended("end_decision_number"),
            end_decided_on=ended("end_decided_on"),
        )
        .order_by("full_name", "id")
    )


def _prepare_enterprises(queryset):
    return queryset.select_related("locality", "managing_committee").order_by("name", "tax_code")


def _prepare_organizations(queryset):
    parent = Organization.objects.filter(path=OuterRef("parent_path")).values("code")[:1]
    first_state = OrganizationVersion.objects.filter(organization=OuterRef("pk")).order_by("valid_from", "id")
    return (
        queryset.select_related("locality", "enterprise")
        .annotate(parent_path=Substr("path", 1, Length("path") - Organization.steplen))
        .annotate(parent_code=Subquery(parent))
        .annotate(established_by=Subquery(first_state.values("decision_number")[:1]))
        .annotate(established_by_on=Subquery(first_state.values("decision_date")[:1]))
        .order_by("path")
    )


def _prepare_mass_organizations(queryset):
    latest = MembershipReturn.objects.filter(mass_organization=OuterRef("pk")).order_by("-date")
    return (
        queryset.select_related("enterprise", "enterprise__managing_committee")
        .annotate(latest_return_on=Subquery(latest.values("date")[:1]))
        .annotate(latest_members_total=Subquery(latest.values("members_total")[:1]))
        .order_by("enterprise__name", "kind", "established_on", "pk")
    )


def _prepare_prospects(queryset):
    return queryset.select_related("organization", "enterprise").order_by("organization__path", "full_name", "pk")


PREPARE = {
    "members": _prepare_members,
    "enterprises": _prepare_enterprises,
    "organizations": _prepare_organizations,
    "mass_organizations": _prepare_mass_organizations,
    "prospects": _prepare_prospects,
}


def export_queryset(kind, user, data=None, request=None):
    """The rows of an export: ``visible_to(user)``, then the list's filters (``data``: the query string)."""
    export = KINDS[kind]
    queryset = export.model.objects.visible_to(user)
    filterset = export.filterset(data or None, queryset=queryset, request=request)
    queryset = filterset.qs
    if kind in ("members", "prospects"):
        model = Member if kind == "members" else Prospect
        queryset = queryset.annotate(can_edit=Exists(model.objects.editable_by(user).filter(pk=OuterRef("pk"))))
    return queryset


def export_file(kind, user, *, data=None, request=None, file_format="xlsx", collect_ids=None, queryset=None):
    """``(bytes, content type, file name)`` of an export (``queryset``: its rows, when already read
    with :func:`export_queryset`)."""
    from core.spreadsheets import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE

    export = KINDS[kind]
    if queryset is None:
        queryset = export_queryset(kind, user, data=data, request=request)
    rows = export.rows(queryset, collect_ids)
    if file_format == "csv":
        content, content_type = write_csv(export.out_columns(), rows), CSV_CONTENT_TYPE
    else:
        content, content_type = write_xlsx(export.out_columns(), rows, title=export.title), XLSX_CONTENT_TYPE
    return content, content_type, f"{kind}.{file_format}"


def write_export(target, kind, user, *, data=None, request=None, file_format="xlsx", collect_ids=None, progress=None):
    """Write an export into the binary file ``target`` row by row, in constant memory (the task of a
    large export); ``progress(rows written)`` is called as it goes. Returns the number of rows."""
    export = KINDS[kind]
    queryset = export_queryset(kind, user, data=data, request=request)
    if file_format == "csv" and export.csv_columns is not None and connection.vendor == "postgresql":
        write_csv_to(target, export.out_columns(), ())  # the byte order mark and the header
        return _copy_csv(target, export, export.prepare(queryset), collect_ids, progress)
    if file_format == "xlsx" and export.xlsx_columns is not None and connection.vendor == "postgresql":
        return _copy_xlsx(target, export, export.prepare(queryset), collect_ids, progress)
    written = 0

    def counted(rows):
        nonlocal written
        for written, row in enumerate(rows, start=1):  # noqa: B007 (``written`` is read after the loop)
            yield row
            if progress is not None and written % 500 == 0:
                progress(written)

    rows = counted(export.rows(queryset, collect_ids))
    if file_format == "csv":
        write_csv_to(target, export.out_columns(), rows)
    else:
        write_xlsx_to(target, export.out_columns(), rows, title=export.title)
    return written
