"""Exercise: token dedup with retention.

Remembering every token forever costs unbounded memory. Keep tokens for
``retention`` seconds only, and refuse tokens older than that: you could no
longer tell whether they were already counted.
"""

from __future__ import annotations


class TokenDedup:
    def __init__(self, retention: float) -> None:
        self.retention = retention
        self.seen: dict[str, float] = {}  # token -> its generation time

    def admit(self, token: str, generation_time: float, now: float) -> str:
        """Decide on a request, returning one of:

        - ``"late"``: ``generation_time < now - retention`` and the token is not remembered (refuse it);
        - ``"duplicate"``: the token is remembered (already counted);
        - ``"new"``: count it, and remember the token.
        """
        # TODO
        raise NotImplementedError

    def purge(self, now: float) -> int:
        """Forget tokens with ``generation_time < now - retention``; return how many were forgotten."""
        # TODO
        raise NotImplementedError
