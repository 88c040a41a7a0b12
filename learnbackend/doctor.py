"""What is installed and reachable: git, a Docker engine, QEMU, Redis.

Returns data (a list of :class:`Probe`); the CLI renders it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Probe:
    """The result of looking for one piece of the environment."""

    name: str
    ok: bool
    detail: str
    needed_for: str
    fix: str = ""

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _run(argv: list[str], timeout: float = 5.0) -> str | None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (done.stdout or done.stderr).strip() if done.returncode == 0 else None


def probe_python() -> Probe:
    v = sys.version_info
    return Probe("python", v >= (3, 10), f"Python {v.major}.{v.minor}.{v.micro}", "everything")


def probe_git() -> Probe:
    out = _run(["git", "--version"]) if shutil.which("git") else None
    if out:
        return Probe("git", True, out, "git sandbox")
    return Probe("git", False, "git is not installed", "git sandbox",
                 "Install git: `sudo apt-get install git` (Debian/Ubuntu), `brew install git` (macOS).")


def probe_docker(timeout: float = 3.0) -> Probe:
    needed = "containers lab"
    fix = ("Install a Docker engine (`sudo apt-get install docker.io` then `sudo systemctl start docker`, "
           "or Docker Desktop) and make sure your user can reach it (the `docker` group), or set DOCKER_HOST.")
    try:
        import docker
        from docker.errors import DockerException
    except ImportError:  # pragma: no cover - a dependency
        return Probe("docker engine", False, "the Docker SDK is not installed", needed, "pip install docker")
    try:
        client = docker.from_env(timeout=int(timeout))
        try:
            version = client.version()
        finally:
            client.close()
    except DockerException as exc:
        reason = str(exc).split("(")[0].strip() or "not reachable"
        return Probe("docker engine", False, f"no engine reachable: {reason}", needed, fix)
    except Exception as exc:  # noqa: BLE001 - requests/urllib3 errors vary by version
        return Probe("docker engine", False, f"no engine reachable: {type(exc).__name__}", needed, fix)
    return Probe("docker engine", True, f"Docker {version.get('Version', '?')} ({version.get('Os', '?')}/{version.get('Arch', '?')})", needed)


def probe_qemu() -> Probe:
    needed = "containers lab (virtual machine)"
    binary = shutil.which("qemu-system-x86_64")
    if not binary:
        return Probe("qemu", False, "qemu-system-x86_64 is not installed", needed,
                     "sudo apt-get install --no-install-recommends qemu-system-x86")
    out = _run([binary, "--version"]) or "installed"
    from learnbackend.containers.vm import INSTALL_HINT, find_kernel, kvm_modules

    if not os.path.exists("/dev/kvm"):
        kvm = "no /dev/kvm: software emulation (TCG)"
    elif not kvm_modules():
        kvm = "/dev/kvm without kvm_intel/kvm_amd (nested): software emulation (TCG)"
    else:
        kvm = "KVM modules loaded (`containers doctor` confirms with a probe boot)"
    kernel = find_kernel()
    if kernel is None:
        return Probe("qemu", False, f"{out.splitlines()[0]}, but no guest kernel; {kvm}", needed, INSTALL_HINT)
    return Probe("qemu", True, f"{out.splitlines()[0]}; guest kernel {kernel}; {kvm}", needed)


def probe_redis(host: str = "127.0.0.1", port: int = 6379) -> Probe:
    needed = "counter lab (best-effort counter, cache)"
    binary = shutil.which("redis-server")
    listening = False
    try:
        with socket.create_connection((host, port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            listening = sock.recv(16).startswith(b"+PONG")
    except OSError:
        pass
    if listening:
        return Probe("redis", True, f"a server answers on {host}:{port}", needed)
    if binary:
        return Probe("redis", True, f"redis-server installed ({binary}); the lab starts its own on 127.0.0.1", needed)
    return Probe("redis", False, "redis-server is not installed and nothing answers on 127.0.0.1:6379", needed,
                 "sudo apt-get install redis-server (the lab works without it, on SQLite only)")


def probe_postgres() -> Probe:
    needed = "counter lab: `counter cluster` (the nodes' shared event log and rollup store)"
    from learnbackend.counter.postgres_server import find_bindir

    bindir = find_bindir()
    if bindir is not None:
        return Probe("postgresql", True, f"PostgreSQL server installed ({bindir}); the lab runs its own on 127.0.0.1",
                     needed)
    return Probe("postgresql", False, "PostgreSQL's server (initdb, postgres) is not installed", needed,
                 "sudo apt-get install postgresql (or point `counter cluster --store` at one; "
                 "the single-node lab works without it, on SQLite)")


def run_doctor() -> list[Probe]:
    """Every probe, in a fixed order."""
    return [probe_python(), probe_git(), probe_docker(), probe_qemu(), probe_redis(), probe_postgres()]
