"""Background work on the task queue, as deployed: production runs tasks on a queue (``check --deploy``
warns otherwise), RQ's settings come from the environment, and no product code starts a thread
that outlives its caller.
The tasks themselves are tested where they live (tests/dataio/test_tasks.py, tests/reports)."""

import subprocess
import sys
from pathlib import Path

from tests.security.test_security_settings import production_env

BASE_DIR = Path(__file__).resolve().parents[2]


def test_check_deploy_warns_when_production_runs_tasks_inline():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=production_env(TASKS_BACKEND="immediate"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "party.W001" in result.stdout + result.stderr


def test_rq_in_production_configures_the_queue_from_the_environment():
    code = "from django.conf import settings as s; print(s.TASKS['default']['BACKEND'], s.RQ_QUEUES['default']['URL'])"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c", code],
        cwd=BASE_DIR,
        env=production_env(TASKS_BACKEND="rq", REDIS_URL="redis://cache.internal:6379/2"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django_tasks_rq.RQBackend", "redis://cache.internal:6379/2"]


def test_the_product_code_starts_no_thread_but_the_bulk_writers_joined_one():
    """Background work goes to the task queue, never to a thread of its own. The one thread product
    code starts is the bulk writer's (``dataio.bulk.writers.CopyThread``): not a daemon, started and
    joined inside one ``with`` block of the import (tests/dataio/test_bulk_copy_thread.py)."""
    product = [
        path
        for folder in ("core", "security", "branches", "enterprises", "reports", "dataio", "devdata", "config")
        for path in (BASE_DIR / folder).rglob("*.py")
    ]
    assert product
    starting = [path for path in product if "threading.Thread(" in path.read_text() or "daemon" in path.read_text()]
    assert [str(path.relative_to(BASE_DIR)) for path in starting] == ["dataio/bulk/writers.py"]
    writers = starting[0].read_text()
    assert writers.count("threading.Thread(") == 1 and "daemon" not in writers
