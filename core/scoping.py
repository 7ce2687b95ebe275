"""Who sees and edits what: the one place that turns a user into organisation subtrees.

Every model's ``visible_to(user)`` / ``editable_by(user)`` queryset method is built on
:func:`scope_for`; views, forms, exports, reports and the API never filter by hand.
"""

from dataclasses import dataclass, field
from functools import reduce
from operator import or_

from django.apps import apps
from django.conf import settings
from django.db.models import Q


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


def _minimal(paths):
    """Drop paths that sit inside another path of the set (their subtree is already covered)."""
    kept = []
    for path in sorted(set(paths)):
        if not any(path.startswith(other) for other in kept):
            kept.append(path)
    return tuple(kept)


def scope_for(user):
    """The user's scope, computed once per user object (one query)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return Scope()
    cached = getattr(user, "_party_scope", None)
    if cached is not None:
        return cached
    if user.is_superuser:
        scope = Scope(everything=True, roles=frozenset({Role.ADMINISTRATOR}))
    else:
        rows = list(role_model().objects.filter(user=user).values_list("role", "organization__path"))
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


def _covers_every_root(paths):
    """Whether ``paths`` include every root of the organisation tree (one query, and only when
    some path is a root's)."""
    Organization = tree_model()
    roots = [path for path in paths if len(path) == Organization.steplen]
    if not roots:
        return False
    return not Organization.objects.filter(depth=1).exclude(path__in=roots).exists()


def forget_scope(user):
    """Drop the cached scope after the user's role assignments change."""
    if hasattr(user, "_party_scope"):
        del user._party_scope


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


def is_administrator(user):
    return scope_for(user).everything
