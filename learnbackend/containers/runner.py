"""Running one container with limits, safely, and reporting what happened.

Every container: the lab's image, ``network_mode="none"``, memory (without
extra swap) and pids limits, never privileged, no host mounts,
``no-new-privileges``, labelled with this run's id, and removed in ``finally``.
:func:`session` wraps a whole command: reap leftovers first, remove anything of
this run at the end (also after Ctrl-C).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from learnbackend.containers import engine, sessions, vm
from learnbackend.containers.signals import cleanup_on_signals
from learnbackend.errors import EnvironmentMissing

DEFAULT_MEM = 256 * 1024 * 1024
DEFAULT_PIDS = 256


@dataclass(frozen=True)
class RunSpec:
    """What to run and under which limits (already validated)."""

    command: list[str]
    mem_limit: int = DEFAULT_MEM
    pids_limit: int = DEFAULT_PIDS
    cpus: float | None = None
    read_only: bool = False
    user: str | None = None
    hostname: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    timeout: float = 30.0

    def create_kwargs(self, image: str, kind: str) -> dict[str, Any]:
        """The Docker SDK ``containers.create`` arguments: the lab's safety rules live here."""
        kwargs: dict[str, Any] = {
            "image": image, "command": self.command, "labels": engine.labels(kind),
            "network_mode": "none", "mem_limit": self.mem_limit, "memswap_limit": self.mem_limit,
            "pids_limit": self.pids_limit, "read_only": self.read_only, "privileged": False,
            "security_opt": ["no-new-privileges"], "environment": dict(self.env), "detach": True,
        }
        if self.cpus is not None:
            kwargs["nano_cpus"] = int(self.cpus * 1e9)
        if self.user:
            kwargs["user"] = self.user
        if self.hostname:
            kwargs["hostname"] = self.hostname
        return kwargs


@dataclass
class RunOutcome:
    """What one container did."""

    exit_code: int | None
    oom_killed: bool
    output: str
    timed_out: bool
    duration_s: float
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"exit_code": self.exit_code, "oom_killed": self.oom_killed, "output": self.output,
                "timed_out": self.timed_out, "duration_s": round(self.duration_s, 4), "error": self.error}


def create(client: Any, kwargs: dict[str, Any]) -> Any:
    """``containers.create``; if the image vanished (a concurrent ``clean``), rebuild it and retry once."""
    from docker.errors import ImageNotFound

    from learnbackend.containers.image import ensure_image

    try:
        return client.containers.create(**kwargs)
    except ImageNotFound:
        image = ensure_image(client)
        return client.containers.create(**{**kwargs, "image": image})


#: How long a SIGKILLed container's OOMKilled flag is awaited: with cgroup v2 the engine can record the
#: exit before the OOM event (hashicorp/nomad#13119 met the same race).
OOM_FLAG_WAIT_S = 2.0


def _oom_killed(container: Any, exit_code: int | None) -> bool:
    """Whether the kernel's OOM killer ended the container, as the engine records it."""
    deadline = time.monotonic() + (OOM_FLAG_WAIT_S if exit_code == 137 else 0.0)
    while True:
        container.reload()
        if container.attrs.get("State", {}).get("OOMKilled", False):
            return True
        if time.monotonic() >= deadline:  # exit 137 is any SIGKILL: after a while, believe the engine
            return False
        time.sleep(0.05)


def run(client: Any, image: str, spec: RunSpec, *, kind: str = "run") -> RunOutcome:
    """Create, start and wait for one container; always removes it."""
    from docker.errors import APIError
    from requests.exceptions import ConnectionError as RequestsConnectionError
    from requests.exceptions import ReadTimeout

    started = time.perf_counter()
    container = None
    timed_out = False
    try:
        container = create(client, spec.create_kwargs(image, kind))
        container.start()
        try:
            status = container.wait(timeout=spec.timeout)
            exit_code: int | None = int(status.get("StatusCode", -1))
        except (ReadTimeout, RequestsConnectionError):
            timed_out, exit_code = True, None
            container.kill()
        duration = time.perf_counter() - started
        output = container.logs(stdout=True, stderr=True).decode(errors="replace")
        return RunOutcome(exit_code, _oom_killed(container, exit_code), output, timed_out, duration)
    except APIError as exc:
        return RunOutcome(None, False, "", False, time.perf_counter() - started, error=exc.explanation or str(exc))
    finally:
        if container is not None:
            engine.remove_container(container)


@contextmanager
def session(*, reap: bool = True) -> Iterator[tuple[Any, str]]:
    """(client, image) for one command: leftovers reaped first; this run's containers removed at the end.

    SIGTERM and SIGHUP clean up like Ctrl-C; an engine that stops answering mid-run is
    :class:`EnvironmentMissing` (exit 3), and what it left is reaped by the next command.
    """
    from requests.exceptions import RequestException

    from learnbackend.containers.image import ensure_image

    with cleanup_on_signals():
        client = engine.connect()
        try:
            try:
                if reap:
                    engine.reap(client)
                    vm.reap_leftovers()
                image = ensure_image(client)
                yield client, image
            except RequestException as exc:
                raise EnvironmentMissing(f"The Docker engine stopped answering during the run ({_lost(exc)}).",
                                         fix=engine.ENGINE_LOST_FIX) from None
        finally:
            sessions.forget()
            try:
                for container in engine.labelled(client, f"{engine.RUN_LABEL}={engine.RUN_ID}"):
                    engine.remove_container(container)
            except RequestException:
                pass  # the engine is gone: the next command reaps what is left
            finally:
                client.close()


def _lost(exc: BaseException) -> str:
    text = str(exc)
    for known in ("Connection refused", "Connection aborted", "No such file or directory", "timed out",
                  "Remote end closed", "Connection reset"):
        if known in text:
            return known.lower()
    return type(exc).__name__
