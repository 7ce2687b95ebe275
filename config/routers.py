"""Read replica for the reports, used when ``DATABASE_REPLICA_URL`` is set (see config/settings.py).

Writes and ordinary page reads always go to ``default`` (the primary), so a user sees what they
just saved. Reads inside :func:`reading_from_replica` go to ``replica``: the reports
(``ReplicaForReportsMiddleware`` wraps every ``GET /reports/...``, and a management command can
use the context manager itself). Reports may then lag the primary by the replication delay,
usually well under a second.
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings

REPLICA = "replica"
_use_replica = ContextVar("use_replica", default=False)


@contextmanager
def reading_from_replica():
    token = _use_replica.set(True)
    try:
        yield
    finally:
        _use_replica.reset(token)


def replica_configured():
    return REPLICA in settings.DATABASES


# Sign-in state is always read from the primary: a session created a moment ago must be found.
PRIMARY_ONLY_APPS = {"sessions", "auth", "axes", "otp_totp", "django_otp", "authtoken", "contenttypes"}
# API tokens likewise: a revoked token must stop working at once.
PRIMARY_ONLY_MODELS = {"security.apitoken"}


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if (
            _use_replica.get()
            and replica_configured()
            and model._meta.app_label not in PRIMARY_ONLY_APPS
            and model._meta.label_lower not in PRIMARY_ONLY_MODELS
        ):
            return REPLICA
        return "default"

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # both databases hold the same data

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"


class ReplicaForReportsMiddleware:
    """Serves ``GET`` requests under ``/reports/`` and ``/api/v1/reports/`` from the replica."""

    prefixes = ("/reports/", "/api/v1/reports/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in ("GET", "HEAD") and request.path.startswith(self.prefixes):
            with reading_from_replica():
                return self.get_response(request)
        return self.get_response(request)
