"""Best effort: Redis INCRBY. Atomic and fast, but a retry is a second increment."""

from __future__ import annotations

import uuid

from learnbackend.counter.tokens import Token


class RedisIncrDesign:
    idempotent = False

    def __init__(self, url: str, key_prefix: str | None = None) -> None:
        from learnbackend.counter.store_redis import connect

        self.name = "redis-incr"
        self.client = connect(url)
        # A restarted process must find the same keys: the prefix comes from the design's directory.
        self.prefix = key_prefix or f"lbdesign:{uuid.uuid4().hex[:8]}"

    def add(self, counter: str, delta: int, token: Token) -> None:
        self.client.incrby(f"{self.prefix}:{counter}", delta)

    def get(self, counter: str) -> int:
        value = self.client.get(f"{self.prefix}:{counter}")
        return int(value) if value is not None else 0

    def settle(self) -> None:
        pass

    def close(self) -> None:
        keys = list(self.client.scan_iter(f"{self.prefix}:*"))
        if keys:
            self.client.delete(*keys)
        self.client.close()
