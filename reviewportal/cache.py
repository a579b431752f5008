"""Django's Redis cache backend, with one connection pool and one client per process.

Django keeps cache backends per asyncio context (its CacheHandler is not thread-critical), and
every request runs in a context of its own (reviewportal.handler, as Django's ASGI handler does),
so each request built a new backend, a new connection pool and a new Redis connection: a TCP
handshake, redis-py's client handshake and a package-metadata lookup, about a tenth of the
server's CPU in the queue benchmark (docs/benchmarks.md). Pools here are kept per process, by
server and options, and shared by every backend instance. Django also built a new redis.Redis
for every cache call (about 60 µs, more than the GET it wraps); a client only wraps its pool and
is safe to share between threads, so there is one per pool.
"""

import threading

from django.core.cache.backends import redis as django_redis

# (server URL, pool options) -> (pool, client), for the whole process.
_shared: dict[tuple, tuple] = {}
_shared_lock = threading.Lock()


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._by_index: dict[int, tuple] = {}  # this instance's look-ups of the shared ones

    def _get_connection_pool(self, write):
        return self._shared(write)[0]

    def get_client(self, key=None, *, write=False):
        return self._shared(write)[1]

    def _shared(self, write) -> tuple:
        index = self._get_connection_pool_index(write)
        shared = self._by_index.get(index)
        if shared is None:
            server = self._servers[index]
            key = (server, tuple(sorted((name, repr(value)) for name, value in self._pool_options.items())))
            with _shared_lock:
                shared = _shared.get(key)
                if shared is None:
                    pool = self._pool_class.from_url(server, **self._pool_options)
                    shared = _shared[key] = (pool, self._client(connection_pool=pool))
            self._by_index[index] = shared
        return shared


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
