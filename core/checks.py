"""``check --deploy``: production runs background work on a queue, not inside the request."""

from django.conf import settings
from django.core import checks

INLINE_BACKENDS = (
    "django_tasks.backends.immediate.ImmediateBackend",
    "django_tasks.backends.dummy.DummyBackend",
)


@checks.register(checks.Tags.compatibility, deploy=True)
def tasks_on_a_queue(app_configs=None, **kwargs):
    backend = getattr(settings, "TASKS", {}).get("default", {}).get("BACKEND", INLINE_BACKENDS[0])
    if backend in INLINE_BACKENDS:
        return [
            checks.Warning(
                f"Background tasks run inline ({backend.rsplit('.', 1)[-1]}): large imports and exports "
                "then run inside the request and can exceed the worker timeout.",
                hint="Set TASKS_BACKEND=rq with REDIS_URL (or TASKS_BACKEND=database) and run a worker "
                "(deploy/party-worker.service).",
                id="party.W001",
            )
        ]
    return []
