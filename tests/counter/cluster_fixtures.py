"""Fixtures for the counter cluster: a real PostgreSQL the lab starts (initdb in a temp dir, 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import need


def need_postgres() -> None:
    from learnbackend.counter.postgres_server import postgres_available

    need(postgres_available(), "PostgreSQL's server is not installed (apt-get install postgresql, "
                               "or .ci/setup-postgres.sh)")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """One throw-away PostgreSQL for the session (each test uses its own names in it)."""
    need_postgres()
    from learnbackend.counter.postgres_server import start_postgres

    server = start_postgres()
    yield server.url
    server.stop()
