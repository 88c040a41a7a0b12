"""Exercise: a sharded counter.

One hot row serialises every writer. Spread a counter over ``shards`` rows: an
add goes to one shard (chosen by ``self.rng``, seeded with ``seed``), a read
sums them all. ``rows`` simulates the table: ``rows[(counter, shard)]``.
"""

from __future__ import annotations

import random


class ShardedCounter:
    def __init__(self, shards: int, seed: int) -> None:
        # TODO: refuse fewer than one shard with a ValueError
        self.shards = shards
        self.rng = random.Random(seed)
        self.rows: dict[tuple[str, int], int] = {}
        self.rows_read = 0  # how many rows reads have touched: the price of sharding

    def add(self, counter: str, delta: int) -> int:
        """Add ``delta`` to one shard of ``counter`` (``self.rng.randrange(self.shards)``); return the shard used."""
        # TODO
        raise NotImplementedError

    def read(self, counter: str) -> int:
        """The counter's value: the sum over all its shards. Count every row looked at in ``rows_read``."""
        # TODO
        raise NotImplementedError
