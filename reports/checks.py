"""System checks of the reports' deployment (``manage.py check --deploy``)."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.caches, deploy=True)
def shared_cache(app_configs, **kwargs):
    """The dashboard's cached figures are keyed by a data version that every write bumps in the
    cache: a cache of one process cannot see the bumps of another worker (deploy/README.md)."""
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if backend.endswith(("LocMemCache", "DummyCache", "FileBasedCache")):
        return [
            Warning(
                "The cache is private to each process (or, in files, to each machine), so a worker would "
                "show dashboard figures counted before another worker's write as current.",
                hint="Set REDIS_URL (deploy/README.md, section on scaling out).",
                id="reports.W001",
            )
        ]
    return []
