"""Whose reports a user reads, for the pages, the exports and the API alike.

The scope answers the role question (``scope_for(user).reads_reports`` and ``report_paths``); this
module turns the answer into organisations, so that the dashboard and ``/api/v1/reports/…`` can
never disagree: a secretary reads the reports of their organisation's subtree, department staff
those of their committee's, administrators any; an organisation outside them is 404 (403 when the
user sees it but does not read its reports), and a user who reads no reports at all gets 403.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _

from branches.models import Organization
from core.scoping import paths_q, scope_for


def require_report_reader(user):
    if not scope_for(user).reads_reports:
        raise PermissionDenied(_("Your role reads no reports."))


def report_organizations(user):
    """Organisations whose reports ``user`` reads (403 when they read none)."""
    require_report_reader(user)
    paths = scope_for(user).report_paths
    if paths is None:
        return Organization.objects.all()
    return Organization.objects.filter(paths_q("path", paths))


def report_organization(user, code):
    """The organisation with ``code`` whose reports ``user`` reads, else 404 (403 if they see it)."""
    organization = report_organizations(user).filter(code=code).first()
    if organization is None:
        if Organization.objects.visible_to(user).filter(code=code).exists():
            raise PermissionDenied(_("You do not read the reports of this organisation."))
        raise Http404(_("No such organisation."))
    return organization
