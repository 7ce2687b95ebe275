"""The Redis cache backend of production (config.cache), against the Redis server of the machine."""

import threading
import uuid

import pytest

from config.cache import SharedClientRedisCache

REDIS_URL = "redis://127.0.0.1:6379/12"


@pytest.fixture
def redis_cache():
    cache = SharedClientRedisCache(REDIS_URL, {"KEY_PREFIX": f"test-{uuid.uuid4().hex}"})
    yield cache
    cache.clear()


def test_reads_and_writes_like_djangos_redis_cache(redis_cache):
    redis_cache.set("figures", {"admitted": 1024}, 30)
    assert redis_cache.get("figures") == {"admitted": 1024}
    assert redis_cache.add("version", 7) is True
    assert redis_cache.add("version", 8) is False
    assert redis_cache.incr("version") == 8
    redis_cache.delete("figures")
    assert redis_cache.get("figures") is None


def test_one_client_serves_every_operation_of_a_pool(redis_cache):
    client = redis_cache._cache.get_client(write=True)
    redis_cache.set("a", 1)
    assert redis_cache._cache.get_client(write=True) is client
    assert redis_cache._cache.get_client(write=False) is client  # one server: reads use the same pool


def test_the_shared_client_serves_several_threads(redis_cache):
    errors = []

    def work(index):
        try:
            for n in range(50):
                redis_cache.set(f"key-{index}", n)
                assert redis_cache.get(f"key-{index}") == n
        except Exception as exc:  # noqa: BLE001 - reported to the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [redis_cache.get(f"key-{i}") for i in range(4)] == [49] * 4
