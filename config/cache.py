"""Django's Redis cache, with one Redis client per connection pool instead of one per operation.

Django's ``RedisCacheClient.get_client()`` builds a new ``redis.Redis`` for every cache
operation; redis-py builds its table of response callbacks in each constructor, about a quarter
of a millisecond, several times per request (the session read and write, the data version, the
dashboard's figures). A client only borrows a connection from its pool while a command runs,
so one client per pool serves every thread (redis-py: "Redis client instances can safely be
shared between threads").
"""

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class SharedClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class SharedClientRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = SharedClientRedisCacheClient
