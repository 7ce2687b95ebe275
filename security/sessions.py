"""The idle timeout of sessions without a session write on every request."""

import time

from django.conf import settings

#: Where a session keeps when its expiry was last pushed back (seconds since the epoch).
REFRESHED_KEY = "_refreshed_at"


class SessionRefreshMiddleware:
    """Pushes a session's expiry back (a save: ``SESSION_COOKIE_AGE`` from now) when a request comes
    ``SESSION_REFRESH_SECONDS`` or more after the last push, not on every request as
    ``SESSION_SAVE_EVERY_REQUEST`` does: one session write a minute per user instead of one per page.
    A session then ends between ``SESSION_COOKIE_AGE - SESSION_REFRESH_SECONDS`` and
    ``SESSION_COOKIE_AGE`` after its last request. Place it after ``SessionMiddleware``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if session is not None and session.session_key is not None:
            refreshed = session.get(REFRESHED_KEY)  # reads it: a key the store no longer has is dropped
            now = int(time.time())
            stale = not isinstance(refreshed, int) or now - refreshed >= settings.SESSION_REFRESH_SECONDS
            if stale and session.session_key is not None:
                session[REFRESHED_KEY] = now  # modified: SessionMiddleware saves it with a new expiry
        return self.get_response(request)
