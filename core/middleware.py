from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from django.utils.functional import SimpleLazyObject

from core.scoping import role_assignments
from core.stack import with_stack_room

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


class StackRoomMiddleware:
    """Serves each request with room on the interpreter's frame stack (:mod:`core.stack`): no loop
    of the request runs on a boundary between two chunks of frames. The first middleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return with_stack_room(self.get_response, request)


class ActiveRoleMiddleware:
    """Puts ``request.active_role`` (lazily) on every request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.active_role = SimpleLazyObject(lambda: get_active_role(request))
        return self.get_response(request)


# The interface language (issue 16) -----------------------------------------------------------

LANGUAGE_SESSION_KEY = "interface_language"


def chosen_language(request):
    """The language the user chose (this session's, from their saved preference, or this browser's
    cookie), or None. The browser's Accept-Language is not asked: the interface is Vietnamese
    unless the user chooses English, whatever language their browser or phone is set to."""
    from django.conf import settings
    from django.utils.translation import get_supported_language_variant

    session = getattr(request, "session", None)
    for value in (
        session.get(LANGUAGE_SESSION_KEY) if session is not None else None,
        request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME),
    ):
        if value:
            try:
                return get_supported_language_variant(value)
            except LookupError:
                continue
    return None


class InterfaceLanguageMiddleware(LocaleMiddleware):
    """Django's LocaleMiddleware without Accept-Language for the pages: the user's choice, else
    Vietnamese (settings.LANGUAGE_CODE). The API keeps Accept-Language (its clients ask for it)."""

    def process_request(self, request):
        if request.path.startswith("/api/"):
            return super().process_request(request)
        from django.conf import settings

        translation.activate(chosen_language(request) or settings.LANGUAGE_CODE)
        request.LANGUAGE_CODE = translation.get_language()
        return None


def remember_language(request, language):
    """Keep ``language`` for this session and, for a signed-in user, in their preference."""
    from core.models import UserPreference

    request.session[LANGUAGE_SESSION_KEY] = language
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        UserPreference.objects.update_or_create(user=user, defaults={"language": language})


def language_at_sign_in(sender, request, user, **kwargs):
    """``user_logged_in``: the language the user saved, or the one chosen on the sign-in page
    (saved for next time)."""
    from core.models import UserPreference

    if request is None or not hasattr(request, "session"):
        return
    saved = UserPreference.objects.filter(user=user).values_list("language", flat=True).first()
    if saved:
        request.session[LANGUAGE_SESSION_KEY] = saved
        translation.activate(saved)
        request.LANGUAGE_CODE = saved
        return
    chosen = chosen_language(request)
    if chosen:
        remember_language(request, chosen)
