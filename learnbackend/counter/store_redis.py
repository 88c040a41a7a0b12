"""Redis: the best-effort counter type (INCRBY) and the rollup cache, with redis-py.

Only used when a Redis URL is given; the lab works without it.
"""

from __future__ import annotations

from typing import Any

from learnbackend.counter.cache import decode, encode
from learnbackend.errors import EnvironmentMissing

# Replace the cached value only when the new checkpoint is not older: count and
# checkpoint travel together in one string.
_PUT_FORWARD = """
local old = redis.call('GET', KEYS[1])
if old then
  local ts = tonumber(string.match(old, '@(%d+)$'))
  if ts and ts > tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
"""


def connect(url: str) -> Any:
    """A redis-py client, checked with PING; EnvironmentMissing when unreachable."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise EnvironmentMissing(f"Cannot reach Redis at {url}: {exc}",
                                 fix="Start redis-server (apt-get install redis-server) or drop --redis.") from None
    return client


def key_of(prefix: str, kind: str, namespace: str, counter: str) -> str:
    """A Redis key no other (namespace, counter) can produce, though names may contain ':'.

    The namespace is length-prefixed: ``b:y``/``z`` is ``...:3:b:y:z`` and ``b``/``y:z``
    is ``...:1:b:y:z``, two different keys.
    """
    return f"{prefix}:{kind}:{len(namespace)}:{namespace}:{counter}"


class RedisCounters:
    """Best-effort counters: INCRBY, no idempotency, no durability."""

    def __init__(self, client: Any, prefix: str = "lbcounter") -> None:
        self.client = client
        self.prefix = prefix

    def key(self, namespace: str, counter: str) -> str:
        return key_of(self.prefix, "be", namespace, counter)

    def incr(self, namespace: str, counter: str, delta: int) -> int:
        return int(self.client.incrby(self.key(namespace, counter), delta))

    def get(self, namespace: str, counter: str) -> int:
        value = self.client.get(self.key(namespace, counter))
        return int(value) if value is not None else 0

    def clear(self, namespace: str, counter: str) -> None:
        self.client.delete(self.key(namespace, counter))


class RedisCache:
    """The rollup cache in Redis: one string ``count@ts`` per counter."""

    def __init__(self, client: Any, prefix: str = "lbcounter") -> None:
        self.client = client
        self.prefix = prefix
        self._put = client.register_script(_PUT_FORWARD)

    def get(self, namespace: str, counter: str) -> tuple[int, int] | None:
        return decode(self.client.get(self.key(namespace, counter)))

    def key(self, namespace: str, counter: str) -> str:
        return key_of(self.prefix, "rc", namespace, counter)

    def put(self, namespace: str, counter: str, count: int, last_ts: int) -> None:
        self._put(keys=[self.key(namespace, counter)], args=[encode(count, last_ts), last_ts])
