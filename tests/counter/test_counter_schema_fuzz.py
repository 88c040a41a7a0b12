"""Fuzz the running service from its own OpenAPI schema (schemathesis): never a server error.

A real uvicorn child process on 127.0.0.1 with a real SQLite file; schemathesis
generates valid and invalid requests for every documented operation. Every
answer must be below 500 and JSON. Bounded: max_examples per operation.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from learnbackend.counter.redis_server import free_port
from learnbackend.counter.server import ServeConfig, ServiceProcess


@pytest.fixture(scope="module")
def running_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    svc = ServiceProcess(ServeConfig(Path(tmp_path_factory.mktemp("fuzz")) / "fuzz.db", free_port())).start()
    yield svc
    svc.kill9()


def test_no_input_makes_a_server_error(running_service: ServiceProcess) -> None:
    """Every operation of the live schema, valid (positive) and invalid (negative) requests alike."""
    schema = schemathesis.openapi.from_url(running_service.url + "/openapi.json")
    failures: list[str] = []
    tried = 0
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 7

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            def run(case: schemathesis.Case) -> None:
                response = case.call(base_url=running_service.url, timeout=30)
                content_type = (response.headers.get("content-type") or [""])[0]  # header -> list of values
                if response.status_code >= 500 or not content_type.startswith("application/json"):
                    failures.append(f"{case.method} {case.formatted_path} body={case.body!r} -> "
                                    f"{response.status_code} {response.text[:200]}")

            try:
                run()
            except Unsatisfiable:  # an operation with no inputs has no invalid request to make
                assert mode is GenerationMode.NEGATIVE
                continue
            tried += 1
    assert tried >= 2 * len(operations) - 3
    assert failures == [], "\n".join(failures[:10])
    assert httpx.get(running_service.url + "/healthz", timeout=5).status_code == 200
