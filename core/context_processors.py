from django.utils.functional import SimpleLazyObject

from core.scoping import scope_for


def active_role(request):
    """``active_role`` (the role the user works under now) and ``scope``, which templates ask the
    role questions (``{% if scope.reads_reports %}``); both are read only when a template uses them."""
    role = getattr(request, "active_role", None)
    user = getattr(request, "user", None)
    return {"active_role": role if role else None, "scope": SimpleLazyObject(lambda: scope_for(user))}
