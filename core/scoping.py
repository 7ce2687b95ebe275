"""Who sees and edits what: the one place that turns a user into organisation subtrees, and
that answers every role question.

Every model's ``visible_to(user)`` / ``editable_by(user)`` queryset method is built on
:func:`scope_for`; views, forms, exports, reports and the API never filter by hand. The role
questions (may this user write, read the reports, set targets, read the change history,
administer, must they use two-factor authentication?) are asked of the :class:`Scope`
(``scope_for(user).reads_reports``, ``{{ scope.may_write }}`` in a template): code asks, it never
looks at roles or paths itself. The row gates stay ``visible_to`` / ``editable_by``.
"""

from dataclasses import dataclass, field
from functools import reduce
from operator import or_

from django.apps import apps
from django.conf import settings
from django.db.models import Q

from core.prepared import PreparedQuery
from core.versions import KeptPerStructureVersion


def tree_model():
    """The organisation tree scopes are cut from (``settings.SCOPE_TREE_MODEL``, a treebeard model)."""
    return apps.get_model(settings.SCOPE_TREE_MODEL)


def role_model():
    """The role assignments (``settings.SCOPE_ROLE_MODEL``: ``user``, ``role``, ``organization``)."""
    return apps.get_model(settings.SCOPE_ROLE_MODEL)


class Role:
    SECRETARY = "secretary"
    DEPARTMENT = "department"
    ADMINISTRATOR = "administrator"


@dataclass(frozen=True)
class Scope:
    """The organisation subtrees (as materialised-path prefixes) a user reads and writes."""

    everything: bool = False
    read_paths: tuple[str, ...] = ()
    write_paths: tuple[str, ...] = ()
    department_paths: tuple[str, ...] = ()
    secretary_paths: tuple[str, ...] = field(default=())
    #: The read paths cover every root of the organisation tree: every row is readable (every
    #: scoped row hangs off an organisation by a required foreign key), so no filter is needed.
    reads_everything: bool = False
    #: The role keys the user holds (``Role``); a superuser holds the administrator's.
    roles: frozenset = frozenset()

    @property
    def is_empty(self):
        return not self.everything and not self.read_paths

    # The role questions ------------------------------------------------------------------
    # Properties answer "anywhere?"; the ``…_at`` / ``…_of`` / ``…_for`` methods answer for one
    # organisation (any object with a materialised ``path``).

    @property
    def administers(self):
        """Administrators (and superusers): the tree, localities, users and roles, the access log."""
        return self.everything

    @property
    def may_write(self):
        """Whether the user records anything anywhere (secretaries and administrators)."""
        return self.everything or bool(self.write_paths)

    def may_write_at(self, organization):
        """Whether the user records things of ``organization`` (it lies in a secretary's subtree)."""
        return self.everything or _within(organization, self.write_paths)

    @property
    def reads_reports(self):
        """Whether the user reads reports (fulfilment, structure, gaps) of some organisation: every
        role does, each of the subtrees it reads."""
        return self.everything or bool(self.read_paths)

    @property
    def report_paths(self):
        """The subtrees whose reports the user reads; ``None``: every organisation."""
        return None if self.everything else self.read_paths

    def reads_reports_of(self, organization):
        """Whether the user reads the reports of ``organization`` (it lies in a subtree they read)."""
        return self.everything or _within(organization, self.read_paths)

    @property
    def sets_targets(self):
        """Whether the user sets yearly targets (department staff, below their committee; administrators)."""
        return self.everything or bool(self.department_paths)

    @property
    def target_parent_paths(self):
        """The committees whose direct sub-committees' targets the user sets; ``None``: every committee."""
        return None if self.everything else self.department_paths

    def sets_targets_for(self, committee):
        """Whether the user sets the targets of ``committee`` (one step below a department's committee).
        Whether it is a committee at all is the row gate's (``Target.assignable_committees``)."""
        if self.everything:
            return True
        parent = committee.path[: -tree_model().steplen]
        return parent in self.department_paths

    def submits_figures_of(self, organization):
        """Whether the user submits the period figures of ``organization``: its secretary (or a
        secretary above it), department staff of it or above, administrators."""
        return self.everything or _within(organization, self.write_paths + self.department_paths)

    def approves_figures_of(self, organization):
        """Whether the user approves, returns or reopens the period figures of ``organization``:
        department staff of a committee above it (of the root committee itself for the root),
        administrators. Secretaries never approve."""
        if self.everything:
            return True
        parent = organization.path[: -tree_model().steplen]
        if parent:
            return any(parent.startswith(prefix) for prefix in self.department_paths)
        return organization.path in self.department_paths

    @property
    def reads_history(self):
        """Whether the user reads the change history and change sets (department staff, administrators)."""
        return self.everything or bool(self.department_paths)

    @property
    def must_use_two_factor(self):
        """Whether a role of the user needs two-factor authentication (``settings.OTP_REQUIRED_ROLES``).
        A user who set up a device must use it too: ``security.access.otp_required_for`` adds that."""
        return bool(self.roles & frozenset(getattr(settings, "OTP_REQUIRED_ROLES", ())))


def _within(organization, paths):
    path = getattr(organization, "path", None) or ""
    return bool(path) and any(path.startswith(prefix) for prefix in paths)


def _minimal(paths):
    """Drop paths that sit inside another path of the set (their subtree is already covered)."""
    kept = []
    for path in sorted(set(paths)):
        if not any(path.startswith(other) for other in kept):
            kept.append(path)
    return tuple(kept)


def role_assignments(user):
    """The user's role assignments with their organisations, in the order given, read once per user
    object: the scope, the active role and the navbar's role switcher all use this one list (one
    query per request, since every request loads its user afresh)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    cached = getattr(user, "_role_assignments", None)
    if cached is None:
        cached = user._role_assignments = _assignments_of(user.pk)
    return cached


#: A user's role assignments with their organisations (its SQL compiled once per connection).
_assignments_of = PreparedQuery(
    lambda user_id: role_model().objects.filter(user_id=user_id).select_related("organization").order_by("id")
)


def scope_for(user):
    """The user's scope, computed once per user object (from :func:`role_assignments`)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return Scope()
    cached = getattr(user, "_party_scope", None)
    if cached is not None:
        return cached
    if user.is_superuser:
        scope = Scope(everything=True, roles=frozenset({Role.ADMINISTRATOR}))
    else:
        rows = [
            (assignment.role, assignment.organization.path if assignment.organization_id else None)
            for assignment in role_assignments(user)
        ]
        roles = frozenset(role for role, _path in rows)
        if Role.ADMINISTRATOR in roles:
            scope = Scope(everything=True, roles=roles)
        else:
            secretary = [path for role, path in rows if role == Role.SECRETARY and path]
            department = [path for role, path in rows if role == Role.DEPARTMENT and path]
            read_paths = _minimal(secretary + department)
            scope = Scope(
                read_paths=read_paths,
                reads_everything=_covers_every_root(read_paths),
                write_paths=_minimal(secretary),
                department_paths=_minimal(department),
                secretary_paths=_minimal(secretary),
                roles=roles,
            )
    user._party_scope = scope
    return scope


#: The paths of the tree's roots, read once per structure version in each process (a root is
#: only added or dissolved by a write that bumps it), not on every request of a province's staff.
_roots = KeptPerStructureVersion(1)


def _covers_every_root(paths):
    """Whether ``paths`` include every root of the organisation tree."""
    Organization = tree_model()
    roots = {path for path in paths if len(path) == Organization.steplen}
    if not roots:
        return False
    every_root = _roots.get(
        "roots", lambda: frozenset(Organization.objects.filter(depth=1).values_list("path", flat=True))
    )
    return every_root <= roots


def forget_scope(user):
    """Drop the cached scope and role assignments after the user's role assignments change."""
    for name in ("_party_scope", "_role_assignments"):
        if hasattr(user, name):
            delattr(user, name)


def paths_q(lookup, paths):
    """``Q`` matching rows whose ``lookup`` path starts with any of ``paths``; none → nothing."""
    if not paths:
        return Q(pk__in=[])
    return reduce(or_, (Q(**{f"{lookup}__startswith": path}) for path in paths))


def in_subtrees(lookup, paths):
    """``Q`` matching rows whose organisation ``lookup`` (a foreign key to Organization) lies in
    the subtrees ``paths``; none → nothing.

    Written as ``lookup IN (SELECT id FROM organisation WHERE path LIKE …)`` rather than a join on
    the path: PostgreSQL hashes the subtree's ids once and probes it per row, so a list walking
    an index in its display order never joins the organisation of every row it skips.
    """
    if not paths:
        return Q(pk__in=[])
    return Q(**{f"{lookup}__in": tree_model().objects.filter(paths_q("path", paths)).order_by().values("pk")})
