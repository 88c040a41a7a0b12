"""The spec file, the exercise content and the initramfs writer: no engine needed."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from conftest import LESSONS, run_cli

from learnbackend.containers import initramfs, spec
from learnbackend.containers.spec import SpecError

GOOD = {"image": "learnbackend/busybox", "command": "echo hi", "mem_limit": "64m", "pids_limit": 10, "cpus": 0.5,
        "read_only": True}


def test_a_good_spec_becomes_safe_run_arguments() -> None:
    run = spec.validate(GOOD)
    kwargs = run.create_kwargs("img:tag", "exercise")
    assert run.command == ["sh", "-c", "echo hi"]
    assert kwargs["mem_limit"] == kwargs["memswap_limit"] == 64 * 1024 * 1024
    assert kwargs["pids_limit"] == 10 and kwargs["nano_cpus"] == 500_000_000 and kwargs["read_only"] is True
    assert kwargs["network_mode"] == "none" and kwargs["privileged"] is False
    assert "volumes" not in kwargs and "mounts" not in kwargs
    assert kwargs["labels"]["learnbackend"] == "1" and kwargs["labels"]["learnbackend.run"]


@pytest.mark.parametrize(("change", "words"), [
    ({"privileged": True}, "never runs privileged"),
    ({"volumes": ["/:/host"]}, "never mounts host directories"),
    ({"network_mode": "host"}, "no network"),
    ({"mem_limit": "TODO"}, "still says TODO"),
    ({"mem_limit": "lots"}, "is not a size"),
    ({"mem_limit": "2m"}, "outside 6m..1g"),
    ({"pids_limit": 0}, "whole number from 1"),
    ({"cpus": "fast"}, "number of CPUs"),
    ({"image": "ubuntu:latest"}, "not the lab's image"),
    ({"command": ""}, "expected a shell command"),
    ({"colour": "blue"}, "unknown field"),
])
def test_a_bad_spec_is_refused_with_the_reason(change: dict[str, object], words: str) -> None:
    with pytest.raises(SpecError) as caught:
        spec.validate({**GOOD, **change})
    assert words in caught.value.message


def test_required_fields_and_yaml_errors(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="needs it set"):
        spec.validate({k: v for k, v in GOOD.items() if k != "pids_limit"}, required=["pids_limit"])
    bad = tmp_path / "spec.yaml"
    bad.write_text("image: [unclosed\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        spec.load(bad)
    with pytest.raises(SpecError, match="does not exist"):
        spec.load(tmp_path / "missing.yaml")


def test_the_containers_lessons_validate() -> None:
    result = run_cli("lessons", "validate", str(LESSONS / "containers"))
    assert result.exit_code == 0, result.stdout + result.stderr
    listing = run_cli("lessons", "list", "--module", "containers", "--json")
    assert listing.exit_code == 0
    assert {e["id"] for e in listing.json} >= {"containers-four-models", "containers-limits"}


def _parse_newc(data: bytes) -> dict[str, tuple[int, bytes]]:
    entries, offset = {}, 0
    while True:
        header = data[offset:offset + 110]
        assert header[:6] == b"070701"
        fields = [int(header[6 + 8 * i:14 + 8 * i], 16) for i in range(13)]
        mode, size, namesize = fields[1], fields[6], fields[11]
        name = data[offset + 110:offset + 110 + namesize - 1].decode()
        offset += 110 + namesize
        offset += -offset % 4
        body = data[offset:offset + size]
        offset += size
        offset += -offset % 4
        if name == "TRAILER!!!":
            return entries
        entries[name] = (mode, body)


def test_the_initramfs_is_a_valid_newc_archive_with_device_nodes(tmp_path: Path) -> None:
    fake_busybox = tmp_path / "busybox"
    fake_busybox.write_bytes(b"\x7fELF-not-really")
    archive = initramfs.build(initramfs.container_guest(None), fake_busybox)
    entries = _parse_newc(archive)
    assert stat.S_ISCHR(entries["dev/console"][0])
    assert entries["init"][1].startswith(b"#!/bin/busybox sh") and entries["init"][0] & 0o111
    assert stat.S_ISLNK(entries["bin/sh"][0]) and entries["bin/sh"][1] == b"busybox"
    assert entries["bin/busybox"][1] == fake_busybox.read_bytes()
    assert "bundle/rootfs/bin/busybox" in entries and "bundle/config.json" in entries
    assert len(archive) % 512 == 0


def test_runc_guest_carries_runc_and_its_libraries() -> None:
    runc = initramfs.find_runc()
    if runc is None:
        pytest.skip("no runc on this machine (the guest then uses unshare + chroot)")
    plan = initramfs.container_guest(runc)
    assert plan.kind == "runc" and "bin/runc" in plan.files
    assert all(os.path.exists(p) for p in plan.files.values())


def test_the_four_models_exercises_are_graded_in_a_workspace(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import sys

    from conftest import run_cli

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "workspace"))
    from wsolving import Solver  # type: ignore[import-not-found]

    root = tmp_path / "ws"
    assert run_cli("init", str(root), "--lesson", "containers-hypervisor").exit_code == 0
    Solver(root).botch("containers-hypervisor/kernel-bug-boundary")
    wrong = run_cli("check", "-w", str(root), "--format", "json")
    assert wrong.exit_code == 1
    Solver(root).solve()
    right = run_cli("check", "-w", str(root), "--format", "json")
    assert right.exit_code == 0, right.stdout
    assert [r["status"] for r in right.json["results"]] == ["passed"] * 3


def test_every_demo_opens_with_its_concept() -> None:
    from learnbackend.containers.demos import load_texts

    texts = load_texts()
    for demo in texts.demos:
        assert demo.concept and len(demo.concept.split()) >= 25, demo.id
