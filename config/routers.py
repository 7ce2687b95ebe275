"""Read replica for the reports, used when ``DATABASE_REPLICA_URL`` is set (see config/settings.py).

Writes and ordinary page reads always go to ``default`` (the primary), so a user sees what they
just saved. Reads inside :func:`reading_from_replica` go to ``replica``: the reports
(``ReplicaForReportsMiddleware`` wraps the ``GET`` requests of the report views it lists, and a
management command can use the context manager itself). Reports may then lag the primary by the
replication delay, usually well under a second. Sign-in state (sessions, users, tokens, devices,
lockouts) and role assignments (who may read which reports) are always read from the primary.

tests/config/test_replica.py runs all this against a real streaming standby.
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import connections
from django.urls import Resolver404, resolve

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


def replica_is_current():
    """Whether reads now see every transaction the primary has committed so far: always, unless
    they go to a standby that has not replayed the primary's WAL up to its current end.

    Something cached under a version read *before* this call (``reports.rollups.data_version``)
    may be cached as of that version only when this is true; otherwise it may lack writes the
    version already counts (the standby's replay lags or is paused).
    """
    if not (_use_replica.get() and replica_configured()):
        return True
    primary, replica = connections["default"], connections[REPLICA]
    if primary.vendor != "postgresql" or replica.vendor != "postgresql":
        return True
    with primary.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_insert_lsn()::text")
        (end,) = cursor.fetchone()
    with replica.cursor() as cursor:
        # Not in recovery: the alias points at a primary, which sees its own commits.
        cursor.execute("SELECT NOT pg_is_in_recovery() OR pg_last_wal_replay_lsn() >= %s::pg_lsn", [end])
        (current,) = cursor.fetchone()
    return bool(current)


# Sign-in state is always read from the primary: a session created a moment ago must be found.
PRIMARY_ONLY_APPS = {"sessions", "auth", "axes", "otp_totp", "django_otp", "authtoken", "contenttypes"}
# So is who may read what: a role granted or withdrawn a moment ago counts at once (the scope's
# query also joins the users).
PRIMARY_ONLY_MODELS = {"branches.roleassignment", "security.apitoken"}  # and API tokens: a revoked one stops at once


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
    """Serves the ``GET`` requests of the report views from the replica.

    Only the views listed: the targets grid under ``/reports/targets/`` is an editing page (a user
    saving targets must find them on the page they are sent back to), so it reads the primary.
    """

    #: Paths that may belong to a report view (the others are not even resolved).
    prefixes = ("/reports/", "/api/v1/reports/")
    #: The report views, by URL name.
    views = {
        "reports:dashboard",
        "reports:fulfilment_export",
        "api:report-fulfilment",
        "api:report-structure",
        "api:report-gaps",
    }

    def __init__(self, get_response):
        self.get_response = get_response

    def is_report(self, request):
        if request.method not in ("GET", "HEAD") or not request.path_info.startswith(self.prefixes):
            return False
        try:
            return resolve(request.path_info).view_name in self.views
        except Resolver404:
            return False

    def __call__(self, request):
        if self.is_report(request):
            with reading_from_replica():
                return self.get_response(request)
        return self.get_response(request)
