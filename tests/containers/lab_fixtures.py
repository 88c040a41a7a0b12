"""Fixtures of the containers tests: a real engine client, the lab's image, QEMU.

Imported by name from the test modules: a second conftest.py would shadow the root one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import need


@pytest.fixture
def docker_client() -> Iterator[Any]:
    """A client of the real engine (skips locally / fails in CI when none answers)."""
    from learnbackend.containers import engine

    client, why = engine.try_connect()
    need(client is not None, f"a Docker engine: {why}")
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def lab_image(docker_client: Any) -> str:
    """The lab's busybox image (built offline if missing)."""
    from learnbackend.containers import sessions
    from learnbackend.containers.image import ensure_image

    tag = ensure_image(docker_client)
    sessions.forget()  # the claim ensure_image made: pytest is not a lab command that `clean` must wait for
    return tag


@pytest.fixture
def vm_setup() -> Any:
    """QEMU, a kernel and busybox (skips locally / fails in CI when missing)."""
    from learnbackend.containers import vm

    setup = vm.setup()
    need(setup.ready, f"QEMU with a guest kernel: {setup.missing}")
    return setup


def labelled(client: Any, run_prefix: str | None = None) -> list[Any]:
    """Containers carrying the lab's label (optionally of runs whose id starts with ``run_prefix``)."""
    from learnbackend.containers.engine import LABEL, RUN_LABEL

    # ignore_removed: a container removed between the list and its inspection (the run under test is
    # cleaning up right now) is simply gone, not a NotFound error.
    found = client.containers.list(all=True, filters={"label": f"{LABEL}=1"}, ignore_removed=True)
    if run_prefix is None:
        return found
    return [c for c in found if c.labels.get(RUN_LABEL, "").startswith(run_prefix)]
