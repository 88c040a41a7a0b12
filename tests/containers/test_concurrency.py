"""Two lab commands, a command and `clean`, two users, an engine that disappears: never a crash (exit 70)."""

# ruff: noqa: F811  (pytest fixtures imported by name from lab_fixtures)
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, run_cli
from lab_fixtures import docker_client, lab_image, labelled, vm_setup  # noqa: F401  (fixtures)

from learnbackend.containers import engine, runner, state
from learnbackend.containers.runner import RunSpec

DOCKER_SOCKET = "/var/run/docker.sock"


def _lab(*args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "learnbackend", "containers", *args], cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO), **env}, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_two_demos_and_a_clean_loop_at_once_never_crash(docker_client: Any, lab_image: str, tmp_path: Path) -> None:
    env = {state.STATE_ENV: str(tmp_path / "state")}
    demos = [_lab("demo", "pids", "--yes", "--json", env=env), _lab("demo", "memory", "--yes", "--json", env=env)]
    cleans = []
    while any(d.poll() is None for d in demos):
        clean = _lab("clean", "--json", env=env)
        clean.communicate(timeout=120)
        cleans.append(clean.returncode)
    for demo in demos:
        out, err = demo.communicate(timeout=120)
        assert demo.returncode == 0, err.decode()
        assert json.loads(out)["figures"]
    assert cleans and set(cleans) == {0}


def test_a_vanished_image_is_rebuilt_and_the_create_retried(docker_client: Any, lab_image: str) -> None:
    gone = f"learnbackend/busybox:removed-{uuid.uuid4().hex[:8]}"  # what a concurrent clean leaves: no such image
    container = runner.create(docker_client, RunSpec(["true"]).create_kwargs(gone, "test"))
    try:
        assert container.image.tags and lab_image in container.image.tags
    finally:
        engine.remove_container(container)


class _Images:
    """The real engine's ``client.images``, with some methods replaced."""

    def __init__(self, real: Any, **replaced: Any) -> None:
        self._real, self._replaced = real, replaced

    def __getattr__(self, name: str) -> Any:
        return self._replaced.get(name) or getattr(self._real, name)


class _Client:
    """The real engine's client, whose ``images`` are an :class:`_Images`."""

    def __init__(self, real: Any, images: _Images) -> None:
        self._real, self.images = real, images

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def test_an_image_a_session_claims_while_clean_runs_is_kept(docker_client: Any, lab_image: str,
                                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The race a fresh-clone CI met: a demo claims (and builds) the image just after `clean` listed it."""
    from learnbackend.containers import sessions

    monkeypatch.setenv(state.STATE_ENV, str(tmp_path / "state"))
    real_list = docker_client.images.list

    def listed_then_claimed(*args: Any, **kwargs: Any) -> Any:
        found = real_list(*args, **kwargs)
        sessions.record(lab_image)  # a lab command starting now, between clean's listing and its removals
        return found

    client = _Client(docker_client, _Images(docker_client.images, list=listed_then_claimed))
    try:
        report = engine.clean(client, images=True)
        assert docker_client.images.get(lab_image).tags, report
        assert any(lab_image in kept for kept in report.kept), report.kept
    finally:
        sessions.forget()


def _untagged_lab_image(client: Any) -> Any:
    """What a build leaves between its last layer and its tag: an image with the lab's label and no tag."""
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in (("Dockerfile", b"FROM scratch\nCOPY marker /\n"), ("marker", uuid.uuid4().bytes)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    image, _ = client.images.build(fileobj=io.BytesIO(buf.getvalue()), custom_context=True, network_mode="none",
                                   labels={engine.IMAGE_LABEL: "1"}, rm=True, pull=False)
    assert not image.tags
    return image


def test_an_untagged_lab_image_is_kept_while_a_lab_command_runs_and_removed_after(
        docker_client: Any, lab_image: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from docker.errors import ImageNotFound

    from learnbackend.containers import sessions

    monkeypatch.setenv(state.STATE_ENV, str(tmp_path / "state"))
    building = _untagged_lab_image(docker_client)
    try:
        sessions.record(lab_image)  # a lab command is running (and may be building)
        report = engine.clean(docker_client, images=True)
        assert docker_client.images.get(building.id), report
        assert any(building.short_id in kept and "being built" in kept for kept in report.kept), report.kept
        sessions.forget()  # no lab command any more: the untagged image is a leftover
        report = engine.clean(docker_client, images=True)
        assert building.short_id in report.images, report
        with pytest.raises(ImageNotFound):
            docker_client.images.get(building.id)
    finally:
        sessions.forget()
        try:
            docker_client.images.remove(building.id, force=True)
        except ImageNotFound:
            pass


def test_ensure_image_claims_the_tag_before_it_looks_or_builds(docker_client: Any, lab_image: str, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from learnbackend.containers import sessions
    from learnbackend.containers.image import ensure_image

    monkeypatch.setenv(state.STATE_ENV, str(tmp_path / "state"))
    claimed_at_lookup: list[set[str]] = []

    def get(name: str) -> Any:
        claimed_at_lookup.append(sessions.images_in_use())
        return docker_client.images.get(name)

    client = _Client(docker_client, _Images(docker_client.images, get=get))
    try:
        assert ensure_image(client) == lab_image
        assert claimed_at_lookup and lab_image in claimed_at_lookup[0]
    finally:
        sessions.forget()


class SocketProxy:
    """A unix socket forwarding to the real engine's; :meth:`cut` makes the engine vanish mid-run."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen(64)
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(DOCKER_SOCKET)
            with self.lock:
                self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        self.server.close()
        self.path.unlink(missing_ok=True)
        with self.lock:
            for conn in self.conns:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                conn.close()


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[SocketProxy]:
    if not os.path.exists(DOCKER_SOCKET):
        pytest.skip(f"the engine is not at {DOCKER_SOCKET}")
    proxy = SocketProxy(tmp_path / "engine.sock")
    yield proxy
    proxy.cut()


def test_engine_lost_mid_run_is_exit_3_and_the_leftovers_are_reaped_next_time(
        docker_client: Any, lab_image: str, proxy: SocketProxy, tmp_path: Path) -> None:
    env = {"DOCKER_HOST": f"unix://{proxy.path}", state.STATE_ENV: str(tmp_path / "state")}
    proc = _lab("demo", "density", "--yes", "--count", "40", env=env)
    prefix = f"{proc.pid}-"
    try:
        deadline = time.monotonic() + 60
        while len(labelled(docker_client, prefix)) < 3:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        proxy.cut()
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 3, err.decode()
    assert b"stopped answering" in err and b"Traceback" not in err
    assert labelled(docker_client, prefix), "nothing was left to reap: the test did not cut the engine mid-run"
    again = run_cli("containers", "demo", "pids", "--yes", "--json", env={state.STATE_ENV: str(tmp_path / "state")})
    assert again.exit_code == 0, again.stderr
    assert labelled(docker_client, prefix) == []


def _python_for(uid: int) -> list[str] | None:
    """An interpreter another user can run, with this checkout's dependencies on its path."""
    for candidate in (sys.executable, os.path.realpath(sys.executable),
                      f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"):
        probe = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", candidate, "-c",
                                "import docker, typer, pydantic"],
                               env={"PYTHONPATH": _pythonpath()}, capture_output=True, check=False)
        if probe.returncode == 0:
            return [candidate]
    return None


def _pythonpath() -> str:
    paths = sysconfig.get_paths()
    return os.pathsep.join(dict.fromkeys([str(REPO), paths["purelib"], paths["platlib"]]))


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A sticky, world-writable temp dir standing in for /tmp, shared by both users."""
    path = Path(tempfile.mkdtemp(prefix="lb-two-users-"))
    path.chmod(0o1777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_two_local_users_each_run_the_vm_and_neither_can_squat_the_others_records(
        vm_setup: Any, shared_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to act as a second user (uid 65534)")
    python = _python_for(65534)
    if python is None:
        pytest.skip("no Python interpreter uid 65534 may run with this checkout's dependencies")
    # The first user (root) leaves a stale record in its own state dir under the shared temp dir.
    monkeypatch.setenv("TMPDIR", str(shared_tmp))
    monkeypatch.delenv(state.STATE_ENV, raising=False)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    tempfile.tempdir = None
    try:
        mine = state.state_dir()
    finally:
        tempfile.tempdir = None
    assert mine == shared_tmp / "learnbackend-0"
    (mine / "vm-99999999.1-stalexxx").mkdir()
    home = shared_tmp / "home-65534"
    home.mkdir()
    os.chown(home, 65534, 65534)
    env = {"PATH": os.environ["PATH"], "TMPDIR": str(shared_tmp), "LEARNBACKEND_HOME": str(home),
           "HOME": str(home), "PYTHONPATH": _pythonpath(), "NO_COLOR": "1"}
    argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *python, "-m", "learnbackend",
            "containers", "compare", "--runs", "1", "--vm-runs", "1", "--json"]
    done = subprocess.run(argv, env=env, capture_output=True, timeout=300, check=False, cwd=str(home))
    assert done.returncode == 0, done.stderr.decode()
    models = {m["key"]: m for m in json.loads(done.stdout)["models"]}
    assert models["vm"]["available"], models["vm"]["reason"]
    theirs = shared_tmp / "learnbackend-65534"
    assert theirs.stat().st_uid == 65534 and theirs.stat().st_mode & 0o777 == 0o700
    assert list(theirs.glob("vm-*")) == []
    assert (mine / "vm-99999999.1-stalexxx").is_dir()  # another user's records are out of reach, not an error

    # A directory squatted at the second user's path (owned by root): refused with exit 3, no QEMU started.
    shutil.rmtree(theirs)
    theirs.mkdir(mode=0o755)
    done = subprocess.run(argv, env=env, capture_output=True, timeout=300, check=False, cwd=str(home))
    assert done.returncode == 3, (done.returncode, done.stderr.decode())
    assert b"belongs to uid 0" in done.stderr and b"Traceback" not in done.stderr
    orphans = subprocess.run(["pgrep", "-u", "65534", "-f", "qemu-system"], capture_output=True, check=False)
    assert orphans.stdout == b""
