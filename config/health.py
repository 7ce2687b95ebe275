"""``GET /health/``: is the database answering, is the cache answering? For load balancers and monitoring.

200 with ``{"status": "ok", ...}`` when both work, 503 with ``"status": "unavailable"`` otherwise.
No login, no personal data, never cached.
"""

import logging
import time
import uuid

from django.core.cache import cache
from django.db import connections
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger("django.request")


def check_database(alias="default"):
    started = time.monotonic()
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means unavailable
        logger.error("health: database %s unavailable: %s", alias, exc)
        return {"status": "unavailable", "error": exc.__class__.__name__}
    return {"status": "ok", "ms": round((time.monotonic() - started) * 1000, 1)}


def check_cache():
    started = time.monotonic()
    key = f"health:{uuid.uuid4().hex}"
    try:
        cache.set(key, "1", timeout=10)
        answered = cache.get(key) == "1"
        cache.delete(key)
    except Exception as exc:  # noqa: BLE001 - any failure means unavailable
        logger.error("health: cache unavailable: %s", exc)
        return {"status": "unavailable", "error": exc.__class__.__name__}
    if not answered:
        return {"status": "unavailable", "error": "value not kept"}
    return {"status": "ok", "ms": round((time.monotonic() - started) * 1000, 1)}


@never_cache
@require_GET
def health(request):
    checks = {"database": check_database(), "cache": check_cache()}
    healthy = all(check["status"] == "ok" for check in checks.values())
    return JsonResponse({"status": "ok" if healthy else "unavailable", **checks}, status=200 if healthy else 503)
