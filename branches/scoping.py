"""Who sees and edits what: the one place that turns a user into organisation subtrees.

Every model's ``visible_to(user)`` / ``editable_by(user)`` queryset method is built on
:func:`scope_for`; views, forms, exports, reports and the API never filter by hand.
"""

from dataclasses import dataclass, field
from functools import reduce
from operator import or_

from django.db.models import Q


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
        scope = Scope(everything=True)
    else:
        from branches.models import RoleAssignment

        rows = list(RoleAssignment.objects.filter(user=user).values_list("role", "organization__path"))
        if any(role == Role.ADMINISTRATOR for role, _path in rows):
            scope = Scope(everything=True)
        else:
            secretary = [path for role, path in rows if role == Role.SECRETARY and path]
            department = [path for role, path in rows if role == Role.DEPARTMENT and path]
            scope = Scope(
                read_paths=_minimal(secretary + department),
                write_paths=_minimal(secretary),
                department_paths=_minimal(department),
                secretary_paths=_minimal(secretary),
            )
    user._party_scope = scope
    return scope


def forget_scope(user):
    """Drop the cached scope after the user's role assignments change."""
    if hasattr(user, "_party_scope"):
        del user._party_scope


def paths_q(lookup, paths):
    """``Q`` matching rows whose ``lookup`` path starts with any of ``paths``; none → nothing."""
    if not paths:
        return Q(pk__in=[])
    return reduce(or_, (Q(**{f"{lookup}__startswith": path}) for path in paths))


def is_administrator(user):
    return scope_for(user).everything
