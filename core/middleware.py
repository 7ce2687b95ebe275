from django.utils.functional import SimpleLazyObject

from core.scoping import role_assignments

ACTIVE_ROLE_SESSION_KEY = "active_role_assignment"


def role_assignments_of(request):
    """The signed-in user's role assignments with their organisations, read once per request: the
    active role, the navbar's role switcher and ``scope_for`` share one list
    (:func:`core.scoping.role_assignments`)."""
    return role_assignments(getattr(request, "user", None))


def get_active_role(request):
    """The role assignment the user works under now: the one chosen in the navbar, else the first."""
    assignments = role_assignments_of(request)
    chosen = request.session.get(ACTIVE_ROLE_SESSION_KEY) if assignments else None
    for assignment in assignments:
        if assignment.pk == chosen:
            return assignment
    return assignments[0] if assignments else None


class ActiveRoleMiddleware:
    """Puts ``request.active_role`` (lazily) on every request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.active_role = SimpleLazyObject(lambda: get_active_role(request))
        return self.get_response(request)
