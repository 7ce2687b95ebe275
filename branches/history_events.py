"""History rows read as events: "admitted", "recognised", "transferred to …", "left the Party",
"dissolved", "merged into …", "badge presented", each with its decision or letter, rather than
only field diffs. The models' ``history_event(record, previous)`` call these; the history pages
(``core.views.history_entries``, the change sets of ``dataio``) show what they return."""

from django.utils.translation import gettext as _

from branches.choices import LEAVING_REASONS, MemberStatus, OrganizationChange, PeriodEndReason
from core.text import display_date


def decision_text(number, day=None, *, letter=False):
    """ "decision 12-QĐ/TU of 01/03/2025", "letter 5/GGT", or "" when nothing is recorded."""
    if not number and day is None:
        return ""
    if number and day is not None:
        template = _("letter %(number)s of %(date)s") if letter else _("decision %(number)s of %(date)s")
    elif number:
        template = _("letter %(number)s") if letter else _("decision %(number)s")
    else:
        template = _("letter of %(date)s") if letter else _("decision of %(date)s")
    return template % {"number": number, "date": display_date(day) if day else ""}


def _with(text, decision):
    return f"{text} ({decision})" if decision else text


def _organization_name(pk):
    from branches.models import Organization

    organization = Organization.objects.filter(pk=pk).only("name", "code").first()
    return f"{organization.name} ({organization.code})" if organization else f"#{pk}"


def member_event(record, previous, *, lookups=True):
    """What happened to a member in the history row ``record`` (``previous``: the row before).
    Without ``lookups`` (a change set of many rows) nothing is read: the period rows of the same
    change set carry the reason and the letter."""
    if previous is None:
        if record.history_type != "+":
            return ""
        return _with(
            _("Admitted on %(date)s") % {"date": display_date(record.admitted_on)},
            decision_text(record.admission_decision_number)
            + (f" — {record.admission_decided_by}" if record.admission_decided_by else ""),
        )
    if record.official_on and not previous.official_on:
        return _with(
            _("Recognised as an official member on %(date)s") % {"date": display_date(record.official_on)},
            decision_text(record.recognition_decision_number, record.recognition_decided_on),
        )
    if record.ceremony_on and not previous.ceremony_on:
        return _("Admission ceremony held on %(date)s") % {"date": display_date(record.ceremony_on)}
    moved = record.organization_id != previous.organization_id
    if not lookups:
        if record.status == MemberStatus.LEFT and previous.status != MemberStatus.LEFT:
            return _("Left the Party")
        if record.status == MemberStatus.TRANSFERRED_TO_RESIDENCE and previous.status != record.status:
            return _("Transferred to the place of residence")
        return _("Transferred to another organisation") if moved else ""
    if moved or record.status != previous.status:
        period = _closed_period(record.id, previous.organization_id)
        ended = period.ended_on if period else None
        decision = decision_text(
            period.end_decision_number if period else "",
            period.end_decided_on if period else None,
            letter=bool(period and period.end_reason in (PeriodEndReason.TRANSFER, PeriodEndReason.RESIDENCE)),
        )
        when = {"date": display_date(ended)} if ended else None
        if record.status == MemberStatus.LEFT:
            reason = period.get_end_reason_display() if period and period.end_reason in LEAVING_REASONS else ""
            text = _("Left the Party on %(date)s") % when if when else _("Left the Party")
            return _with(f"{text}: {reason}" if reason else text, decision)
        if record.status == MemberStatus.TRANSFERRED_TO_RESIDENCE:
            return _with(_("Transferred to the place of residence"), decision)
        if moved:
            target = _organization_name(record.organization_id)
            if period and period.end_reason == PeriodEndReason.DISSOLVED:
                text = _("Moved to %(org)s: the organisation was dissolved") % {"org": target}
            elif period and period.end_reason == PeriodEndReason.MERGED:
                text = _("Moved to %(org)s: the organisations were merged") % {"org": target}
            else:
                text = _("Transferred to %(org)s") % {"org": target}
            return _with(text, decision)
    return ""


def _closed_period(member_id, organization_id):
    from branches.models import MembershipPeriod

    return (
        MembershipPeriod.objects.filter(member_id=member_id, organization_id=organization_id, ended_on__isnull=False)
        .order_by("-ended_on", "-pk")
        .first()
    )


def organization_event(record, previous, *, lookups=True):
    """What happened to an organisation in the history row ``record``."""
    if previous is None:
        if record.history_type != "+":
            return ""
        return _("Established on %(date)s") % {"date": display_date(record.established_on)}
    if record.dissolved_on and not previous.dissolved_on and not lookups:
        return _with(
            _("Dissolved on %(date)s") % {"date": display_date(record.dissolved_on)},
            decision_text(record.dissolution_decision_number),
        )
    if not lookups:
        return ""
    if record.dissolved_on and not previous.dissolved_on:
        from branches.models import OrganizationVersion

        version = (
            OrganizationVersion.objects.filter(organization_id=record.id, valid_to=record.dissolved_on)
            .select_related("successor")
            .order_by("-valid_from")
            .first()
        )
        if version is not None and version.end_change == OrganizationChange.MERGED and version.successor_id:
            return _with(
                _("Merged into %(org)s on %(date)s")
                % {"org": _organization_name(version.successor_id), "date": display_date(record.dissolved_on)},
                decision_text(version.end_decision_number, version.end_decision_date),
            )
        return _with(
            _("Dissolved on %(date)s") % {"date": display_date(record.dissolved_on)},
            decision_text(
                record.dissolution_decision_number or (version.end_decision_number if version else ""),
                version.end_decision_date if version else None,
            ),
        )
    steplen = record.instance_type.steplen
    parent_path = record.path[:-steplen]
    if parent_path and parent_path != previous.path[:-steplen]:
        from branches.models import Organization

        parent = Organization.objects.filter(path=parent_path).only("name", "code").first()
        if parent is not None:
            return _("Moved under %(org)s") % {"org": f"{parent.name} ({parent.code})"}
    return ""


def period_event(record, previous, *, lookups=True):
    """The end of a membership period: why, when, and the decision or letter behind it."""
    if record.ended_on and (previous is None or not previous.ended_on):
        letter = record.end_reason in (PeriodEndReason.TRANSFER, PeriodEndReason.RESIDENCE)
        reason = PeriodEndReason(record.end_reason).label if record.end_reason in PeriodEndReason.values else ""
        return _with(
            _("Ended on %(date)s: %(reason)s") % {"date": display_date(record.ended_on), "reason": reason},
            decision_text(record.end_decision_number, record.end_decided_on, letter=letter),
        )
    if previous is None and record.history_type == "+":
        return _("Began on %(date)s") % {"date": display_date(record.started_on)}
    return ""


def badge_event(record, previous, *, lookups=True):
    if previous is None and record.history_type == "+":
        return _with(
            _("Party badge for %(years)s years presented on %(date)s")
            % {"years": record.years, "date": display_date(record.presented_on)},
            decision_text(record.decision_number),
        )
    return ""
