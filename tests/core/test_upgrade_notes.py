"""Each use of a library's private API (README, "Upgrade notes") has a test here that fails when an
upgrade changes it; django-tables2's row internals are checked by tests/core/test_lean_tables.py,
which compares the lean rows with django-tables2's own HTML."""

import inspect

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.admin import ModelAdmin
from django.core.cache.backends.redis import RedisCacheClient

from config.cache import SharedClientRedisCache
from dataio.bulk import HISTORY_FIELDS


def test_the_admin_still_has_the_changeform_view_our_admin_wraps_in_its_transaction():
    """core.admin.AdministratorOnlyMixin overrides ``_changeform_view`` to roll back a refused page."""
    parameters = list(inspect.signature(ModelAdmin._changeform_view).parameters)
    assert parameters == ["self", "request", "object_id", "form_url", "extra_context"]


def test_djangos_redis_client_still_builds_clients_from_its_pools():
    """config.cache reuses one client per pool through ``_get_connection_pool`` and ``_client``."""
    assert list(inspect.signature(RedisCacheClient._get_connection_pool).parameters) == ["self", "write"]
    assert "_client" in inspect.getsource(RedisCacheClient.__init__)


def test_the_shared_client_cache_works_against_a_real_redis():
    location = getattr(settings, "REDIS_URL", None) or "redis://127.0.0.1:6379/15"
    cache = SharedClientRedisCache(location, {"KEY_PREFIX": "upgrade-notes"})
    try:
        client = cache._cache.get_client(write=True)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - no Redis on this machine
        pytest.fail(f"Redis is needed for this test (127.0.0.1:6379): {exc}")
    assert cache._cache.get_client(write=True) is client
    cache.set("answer", 42)
    assert cache.get("answer") == 42
    cache.delete("answer")


@pytest.mark.parametrize(
    "model",
    [model for model in apps.get_models() if hasattr(model, "history") and model._meta.app_label != "simple_history"],
    ids=lambda model: model._meta.label,
)
def test_history_tables_keep_the_layout_the_bulk_writers_copy_into(model):
    """dataio.bulk COPYs history rows straight into simple-history's tables: every field of the
    record under its own column name, then the history fields."""
    history = model.history.model._meta
    columns = {field.attname for field in history.concrete_fields}
    excluded = set(model.history.model._history_excluded_fields)
    assert {field.attname for field in model._meta.concrete_fields if field.name not in excluded} <= columns
    for name in HISTORY_FIELDS:
        assert history.get_field(name).concrete
