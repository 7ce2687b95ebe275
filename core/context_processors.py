from core.scoping import scope_for


def active_role(request):
    role = getattr(request, "active_role", None)
    user = getattr(request, "user", None)

    def can_see_reports():
        scope = scope_for(user)
        return scope.everything or bool(scope.department_paths)

    return {"active_role": role if role else None, "can_see_reports": can_see_reports}
