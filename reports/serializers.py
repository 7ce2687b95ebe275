"""The one JSON shape of each report, shared by the CLI and the REST API.

Fulfilment (fixed, other tools read it)::

    {"organization": {"code", "name"}, "start", "end", "structure": "end" | "historical",
     "rows": [{"metric", "actual", "target", "percent", "display"}],
     "children": [{"organization": {"code", "name"}, "rows": [...], "ended_on": date or null}]}

The children are the organisations directly below on the end date ("end"), or on the date of
each event ("historical": those gone before the end have ``ended_on``, their last day there).

Structure::

    {"organization", "date", "rows": [{"metric", "label", "value", "display"}], "children": [...]}

Gaps::

    {"organization", "date", "stagnant_years",
     "rows": [{"metric", "label", "value", "total", "percent", "display"}], "children": [...],
     "eligible_enterprises": [{"tax_code", "name", "managing_committee", "official_members"}],
     "small_enterprises": [{"tax_code", "name", "managing_committee", "active_members"}],
     "stagnant_organizations": [{"code", "name", "established_on", "last_admitted_on"}]}

Fulfilment, movement and admissions add ``"approval"``: null, or ``{"year", "half", "approved_on",
"approved_by", "text"}`` when the report's period (a year or a half-year) is approved for its
organisation.

Fulfilment adds ``"projection"``: for a yearly report, one entry per metric with a target,
``{"metric", "actual", "target", "projected", "method", "share", "years", "status"}`` (see
``reports.projection``; ``status`` is ``on_track`` or ``at_risk``), ``[]`` otherwise.

Dates are ISO strings, ``percent`` a JSON number (one decimal) or null, ``display`` and
``label`` in the active language.
"""

from reports.approval import approval_stamp, stamp_to_dict
from reports.projection import fulfilment_projection, projection_to_dict
from reports.statistics import MOVEMENT_COLUMNS, MOVEMENT_LABELS
from reports.statistics_rules import admission_columns


def _organization(organization):
    return {"code": organization.code, "name": organization.name}


def _percent(percent):
    return None if percent is None else float(percent)


def _date(value):
    return value.isoformat() if value is not None else None


def fulfilment_row_to_dict(row):
    return {
        "metric": str(row.metric.value),
        "actual": row.actual,
        "target": row.target,
        "percent": _percent(row.percent),
        "display": row.display,
    }


def fulfilment_to_dict(report):
    return {
        "organization": _organization(report.organization),
        "start": _date(report.start),
        "end": _date(report.end),
        "rows": [fulfilment_row_to_dict(row) for row in report.rows],
        "structure": str(report.structure),
        "children": [
            {
                "organization": _organization(part.organization),
                "rows": [fulfilment_row_to_dict(r) for r in part.rows],
                "ended_on": _date(part.ended_on),
            }
            for part in report.children
        ],
        "approval": _approval(report),
        "projection": [projection_to_dict(item) for item in fulfilment_projection(report)],
    }


def _approval(report):
    return stamp_to_dict(approval_stamp(report.organization, report.start, report.end))


def structure_row_to_dict(row):
    return {"metric": row.metric, "label": str(row.label), "value": row.value, "display": row.display}


def structure_to_dict(report):
    return {
        "organization": _organization(report.organization),
        "date": _date(report.date),
        "rows": [structure_row_to_dict(row) for row in report.rows],
        "children": [
            {"organization": _organization(part.organization), "rows": [structure_row_to_dict(r) for r in part.rows]}
            for part in report.children
        ],
    }


def gap_row_to_dict(row):
    return {
        "metric": row.metric,
        "label": str(row.label),
        "value": row.value,
        "total": row.total,
        "percent": _percent(row.percent),
        "display": row.display,
    }


def gaps_to_dict(report):
    return {
        "organization": _organization(report.organization),
        "date": _date(report.date),
        "stagnant_years": report.stagnant_years,
        "rows": [gap_row_to_dict(row) for row in report.rows],
        "children": [
            {"organization": _organization(part.organization), "rows": [gap_row_to_dict(r) for r in part.rows]}
            for part in report.children
        ],
        "eligible_enterprises": [
            {
                "tax_code": enterprise.tax_code,
                "name": enterprise.name,
                "managing_committee": enterprise.managing_committee.code,
                "official_members": enterprise.official_members,
            }
            for enterprise in report.eligible_enterprises
        ],
        "small_enterprises": [
            {
                "tax_code": enterprise.tax_code,
                "name": enterprise.name,
                "managing_committee": enterprise.managing_committee.code,
                "active_members": enterprise.active_members,
            }
            for enterprise in report.small_enterprises
        ],
        "stagnant_organizations": [
            {
                "code": organization.code,
                "name": organization.name,
                "established_on": _date(organization.established_on),
                "last_admitted_on": _date(organization.last_admitted_on),
            }
            for organization in report.stagnant_organizations
        ],
    }


# Statutory statistics ----------------------------------------------------------------------
# Member movement::
#
#     {"organization", "start", "end", "columns": [{"key", "label"}],
#      "total": {"organization", <column>: n, ..., "additions", "removals", "previous_year_end",
#                "change_percent"}, "children": [<the same per organisation below>]}


def movement_row_to_dict(row):
    data = {"organization": _organization(row.organization)}
    data |= {name: getattr(row, name) for name in MOVEMENT_COLUMNS}
    data |= {
        "additions": row.additions,
        "removals": row.removals,
        "previous_year_end": row.previous_year_end,
        "change_percent": _percent(row.change_percent),
    }
    return data


def movement_to_dict(report):
    return {
        "organization": _organization(report.organization),
        "start": _date(report.start),
        "end": _date(report.end),
        "columns": [
            {"key": name, "label": str(MOVEMENT_LABELS[name])} for name in (*MOVEMENT_COLUMNS, "change_percent")
        ],
        "total": movement_row_to_dict(report.total),
        "children": [movement_row_to_dict(row) for row in report.children],
        "approval": _approval(report),
    }


# New admissions::
#
#     {"organization", "start", "end", "columns": [{"key": "group.column", "label"}],
#      "total": {"organization", "counts": {"group.column": n}}, "children": [...]}


def admissions_to_dict(report):
    columns = admission_columns()

    def row(item):
        return {"organization": _organization(item.organization), "counts": {k: item.get(k) for k, _l in columns}}

    return {
        "organization": _organization(report.organization),
        "start": _date(report.start),
        "end": _date(report.end),
        "columns": [{"key": key, "label": str(label)} for key, label in columns],
        "total": row(report.total),
        "children": [row(item) for item in report.children],
        "approval": _approval(report),
    }
