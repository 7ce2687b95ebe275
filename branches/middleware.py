from django.utils.functional import SimpleLazyObject

ACTIVE_ROLE_SESSION_KEY = "active_role_assignment"


def get_active_role(request):
    """The role assignment the user works under now: the one chosen in the navbar, else the first."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    assignments = list(user.role_assignments.select_related("organization").order_by("id"))
    chosen = request.session.get(ACTIVE_ROLE_SESSION_KEY)
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
