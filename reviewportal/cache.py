"""Django's Redis cache backend, with one Redis client per connection pool instead of one per call.

Django's RedisCacheClient builds a new redis.Redis for every cache operation, and redis-py 8
fills a table of about 170 response callbacks each time: about 60 µs on the benchmark machine,
more than the GET it wraps (docs/benchmarks.md). A Redis client only wraps its pool and is safe
to share between threads, so this keeps one per pool.
"""

from django.core.cache.backends import redis as django_redis


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(pool)
        if client is None:
            client = self._clients[pool] = self._client(connection_pool=pool)
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
