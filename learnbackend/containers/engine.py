"""Access to the Docker engine: connect with timeouts, label, reap and clean.

Everything the lab creates carries the label ``learnbackend=1`` plus a run id
(``learnbackend.run``); ``clean`` and the reaping at the start of every command
remove only what carries that label. Without a reachable engine,
:class:`EnvironmentMissing` (exit 3) says how to get one.
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from learnbackend.errors import EnvironmentMissing
from learnbackend.liveness import same_process, start_time

LABEL = "learnbackend"
RUN_LABEL = "learnbackend.run"
KIND_LABEL = "learnbackend.kind"
#: The uid of the user whose run created it: a reaper removes only its own user's leftovers.
UID_LABEL = "learnbackend.uid"
#: The image's own label. Not ``learnbackend=1``: containers inherit their image's labels, and a
#: container someone else starts from the lab's image must not look like one of ours.
IMAGE_LABEL = "learnbackend.image"
API_TIMEOUT = 20  # seconds for one engine API call

INSTALL_FIX = (
    "Install and start a Docker engine: on Debian/Ubuntu `sudo apt-get install docker.io` then "
    "`sudo systemctl start docker` (or `sudo bash .ci/setup-docker.sh` in a checkout, which starts "
    "`dockerd --bridge=none --iptables=false`); elsewhere Docker Desktop. Make sure your user can reach it "
    "(the `docker` group) or set DOCKER_HOST. `learnbackend containers doctor` shows what is missing."
)

#: A run id for this process (``PID-START-RANDOM``, START from /proc/<pid>/stat): every object this
#: process creates is labelled with it, and a reused PID does not make a dead run look alive.
RUN_ID = f"{os.getpid()}-{start_time(os.getpid()) or 0}-{uuid.uuid4().hex[:8]}"

ENGINE_LOST_FIX = ("Check that the Docker engine runs (`learnbackend containers doctor`). The containers this "
                   "run left are removed by the next lab command, or now by `learnbackend containers clean`.")


def labels(kind: str) -> dict[str, str]:
    """The labels of everything the lab creates."""
    return {LABEL: "1", RUN_LABEL: RUN_ID, KIND_LABEL: kind, UID_LABEL: str(os.geteuid())}


def connect(timeout: int = API_TIMEOUT) -> Any:
    """A Docker client that answered a ping; raises :class:`EnvironmentMissing` otherwise."""
    try:
        import docker
        from docker.errors import DockerException
    except ImportError:  # pragma: no cover - a declared dependency
        raise EnvironmentMissing("The Docker SDK for Python is not installed.", fix="pip install docker") from None
    where = os.environ.get("DOCKER_HOST") or "the default socket (/var/run/docker.sock)"
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except DockerException as exc:
        raise EnvironmentMissing(f"No Docker engine is reachable at {where}: {_reason(exc)}.", fix=INSTALL_FIX) from None
    except Exception as exc:  # noqa: BLE001 - requests/urllib3 errors differ between versions
        raise EnvironmentMissing(f"No Docker engine is reachable at {where}: {_reason(exc)}.", fix=INSTALL_FIX) from None
    return client


def _reason(exc: BaseException) -> str:
    text = str(getattr(exc, "explanation", None) or exc)
    for known in ("Permission denied", "No such file or directory", "Connection refused", "timed out"):
        if known in text:
            return known.lower()
    return text.split("(")[0].strip().rstrip(":") or type(exc).__name__


def try_connect(timeout: int = 5) -> tuple[Any | None, str]:
    """(client, "") or (None, why not): for commands that work without an engine."""
    try:
        return connect(timeout), ""
    except EnvironmentMissing as exc:
        return None, exc.message


@dataclass
class CleanReport:
    """What a reap or ``containers clean`` removed, per kind, and what it left and why."""

    containers: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    vms: list[int] = field(default_factory=list)
    vm_dirs: list[str] = field(default_factory=list)
    vm_bytes: int = 0
    errors: list[str] = field(default_factory=list)
    #: Containers of lab commands still running: they remove their own.
    skipped: list[str] = field(default_factory=list)
    #: What was left on purpose, with the reason (an image a running command or a foreign container uses).
    kept: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.containers) + len(self.images) + len(self.vms) + len(self.vm_dirs)

    def to_dict(self) -> dict[str, Any]:
        return {"containers": self.containers, "images": self.images, "vms": self.vms, "vm_dirs": self.vm_dirs,
                "vm_bytes": self.vm_bytes, "errors": self.errors, "skipped": self.skipped, "kept": self.kept}


def remove_container(container: Any) -> None:
    """Force-remove one container, ignoring one that is already gone."""
    from docker.errors import APIError, NotFound

    try:
        container.remove(force=True)
    except NotFound:
        pass
    except APIError as exc:
        if "already in progress" not in str(exc):
            raise


def run_alive(run_id: str) -> bool:
    """Whether the lab process that created a run (``PID-START-…``) is still running here.

    The start time tells a reused PID apart; an id without one (older versions) is judged by its PID.
    """
    parts = run_id.split("-")
    try:
        pid = int(parts[0])
        started = int(parts[1]) if len(parts) >= 3 and parts[1].isdigit() and int(parts[1]) else None
    except ValueError:
        return False
    return run_id == RUN_ID or same_process(pid, started)


def labelled(client: Any, label: str) -> list[Any]:
    """Containers carrying ``label``; one removed while the list is read is simply not in it."""
    return client.containers.list(all=True, filters={"label": label}, ignore_removed=True)


def reap(client: Any, *, other_runs_only: bool = True, unowned: bool = False) -> CleanReport:
    """Remove labelled containers that this user's (crashed or interrupted) runs left, once their process is gone.

    A run that is still going (another terminal, a concurrent test suite) removes its own containers;
    another user's leftovers are theirs to clean. ``unowned`` (``containers clean``) also takes the
    lab's containers that carry no uid label (made by older versions).
    """
    report = CleanReport()
    me, others = str(os.geteuid()), 0
    for container in labelled(client, f"{LABEL}=1"):
        owner = container.labels.get(UID_LABEL)
        if owner != me and not (unowned and owner is None):
            others += 1
            continue
        run_id = container.labels.get(RUN_LABEL, "")
        if run_alive(run_id) and (other_runs_only or run_id != RUN_ID):
            report.skipped.append(container.name)
            continue
        try:
            remove_container(container)
            report.containers.append(container.name)
        except Exception as exc:  # noqa: BLE001 - one stuck container must not block the others
            report.errors.append(f"{container.name}: {_reason(exc)}")
    if others:
        report.kept.append(f"{others} container(s) of other users' lab runs: theirs to clean")
    return report


def clean(client: Any | None, *, images: bool = True) -> CleanReport:
    """Remove every labelled container (except those of lab commands still running), the lab's images
    (except one a running lab command needs), and leftover QEMU guests with their work directories."""
    from docker.errors import APIError, ImageNotFound

    from learnbackend.containers import sessions, vm

    report = CleanReport()
    if client is not None:
        report = reap(client, other_runs_only=False, unowned=True)
        if images:
            # The list first, the claims after: an image built after the listing is not removed, and one
            # listed before a session claimed it is kept (ensure_image claims before it looks or builds).
            listed = client.images.list(filters={"label": f"{IMAGE_LABEL}=1"})
            in_use = sessions.images_in_use()
            for image in listed:
                name = ", ".join(image.tags) or image.short_id
                if set(image.tags) & in_use:
                    report.kept.append(f"image {name}: a running learnbackend command needs it")
                    continue
                if not image.tags and in_use:
                    # Untagged: a build's image between its last layer and its tag (removing it fails that
                    # build), or a leftover of an interrupted one, removed once no lab command runs.
                    report.kept.append(f"image {name}: possibly being built by a running learnbackend command")
                    continue
                try:
                    # Not forced: an image a foreign container still uses is left alone.
                    client.images.remove(image.id, force=False)
                    report.images.append(name)
                except ImageNotFound:
                    pass  # removed meanwhile (another clean)
                except APIError as exc:
                    if exc.status_code == 409:
                        report.kept.append(f"image {name}: {_conflict(exc)}")
                    else:
                        report.errors.append(f"image {name}: {_reason(exc)}")
    reaped = vm.reap_leftovers()
    report.vms, report.vm_dirs, report.vm_bytes = reaped.killed, reaped.dirs, reaped.freed_bytes
    return report


def _conflict(exc: Any) -> str:
    """Why the engine refused to remove an image, in words (never the API's URL)."""
    text = str(getattr(exc, "explanation", "") or "")
    found = re.search(r"container ([0-9a-f]{6,64})", text)
    if found:
        return f"still in use by container {found.group(1)[:12]} (not removed: it is not the lab's to stop)"
    return "still in use (the engine refused to remove it)"
