"""A learner's workspace cannot make `check` or `reset` read or delete outside it.

Symlinks to a secret (answer.txt, solution.txt, the learner's .py, spec.yaml, the exercise
directory, the manifest) are refused without their target's content reaching the report;
a link to /dev/zero is not read forever; manifest paths stay inside the workspace; `reset`
never deletes through a link. Real files, real CLI.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from conftest import run_cli  # type: ignore[import-not-found]

SECRET = "TOP-SECRET-3f9c1e"


def _secret(tmp_path: Path) -> Path:
    secret = tmp_path / "outside" / "id_rsa"
    secret.parent.mkdir()
    secret.write_text(f"{SECRET}\n")
    secret.chmod(0o600)
    return secret


def _init(tmp_path: Path, lesson: str) -> Path:
    root = tmp_path / "ws"
    result = run_cli("init", str(root), "--lesson", lesson)
    assert result.exit_code == 0, result.stderr
    return root


def _first_dir(root: Path) -> Path:
    return min((root / "exercises").iterdir())


def _check_first(root: Path) -> dict:  # type: ignore[type-arg]
    result = run_cli("check", str(root), "--only", "1", "--format", "json")
    assert result.exit_code == 1, result.stdout + result.stderr
    assert SECRET not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "Internal error" not in result.stderr
    return result.json["results"][0]  # type: ignore[no-any-return]


def _link(path: Path, target: Path | str) -> None:
    if path.is_dir() and not path.is_symlink():
        import shutil

        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
    os.symlink(target, path)


def test_an_answer_linked_to_a_secret_is_refused_without_leaking_it(tmp_path: Path) -> None:
    secret = _secret(tmp_path)
    root = _init(tmp_path, "roadmap-fundamentals")
    _link(_first_dir(root) / "answer.txt", secret)
    first = _check_first(root)
    assert first["status"] == "error" and "symbolic link" in first["message"]


def test_an_exercise_directory_linked_elsewhere_is_refused(tmp_path: Path) -> None:
    secret = _secret(tmp_path)
    (secret.parent / "answer.txt").write_text(f"{SECRET}\n")
    root = _init(tmp_path, "roadmap-fundamentals")
    _link(_first_dir(root), secret.parent)
    first = _check_first(root)
    assert first["status"] == "error" and "symbolic link" in first["message"]


def test_a_link_to_dev_zero_is_not_read_forever(tmp_path: Path) -> None:
    root = _init(tmp_path, "roadmap-fundamentals")
    _link(_first_dir(root) / "answer.txt", "/dev/zero")
    first = _check_first(root)
    assert first["status"] == "error"


def test_a_fifo_answer_does_not_block_check(tmp_path: Path) -> None:
    root = _init(tmp_path, "roadmap-fundamentals")
    answer = _first_dir(root) / "answer.txt"
    answer.unlink()
    os.mkfifo(answer)
    first = _check_first(root)
    assert first["status"] == "error" and "regular file" in first["message"]


def test_an_oversized_answer_is_not_read(tmp_path: Path) -> None:
    root = _init(tmp_path, "roadmap-fundamentals")
    (_first_dir(root) / "answer.txt").write_text("a" * (2 * 1024 * 1024))
    first = _check_first(root)
    assert first["status"] == "error" and "larger than" in first["message"]


def test_a_git_solution_linked_to_a_secret_or_with_a_nul_byte_is_refused(tmp_path: Path) -> None:
    secret = _secret(tmp_path)
    root = _init(tmp_path, "git-local")
    solution = _first_dir(root) / "solution.txt"
    _link(solution, secret)
    first = _check_first(root)
    assert first["status"] == "error" and "symbolic link" in first["message"]
    solution.unlink()
    solution.write_bytes(b"git add notes\0.md\n")
    first = _check_first(root)
    assert first["status"] == "error" and "NUL" in first["message"]


def test_an_oversized_solution_is_not_replayed(tmp_path: Path) -> None:
    """One 2 MB line used to take the replay's tokenizer minutes; the file is refused before parsing."""
    root = _init(tmp_path, "git-local")
    (_first_dir(root) / "solution.txt").write_text("git add '" + "x" * (2 * 1024 * 1024) + "'\n")
    first = _check_first(root)
    assert first["status"] == "error" and "larger than 256 KiB" in first["message"]


def test_a_code_file_linked_to_a_secret_is_refused(tmp_path: Path) -> None:
    secret = _secret(tmp_path)
    root = _init(tmp_path, "counter-build")
    learner = next(p for p in _first_dir(root).iterdir() if p.suffix == ".py")
    _link(learner, secret)
    first = _check_first(root)
    assert first["status"] == "error" and "symbolic link" in first["message"]


def test_a_container_spec_linked_to_a_secret_is_refused(tmp_path: Path) -> None:
    secret = _secret(tmp_path)
    root = _init(tmp_path, "containers-limits")
    _link(_first_dir(root) / "spec.yaml", secret)
    first = _check_first(root)
    assert first["status"] == "error" and "symbolic link" in first["message"]


def test_manifest_paths_cannot_point_outside_the_workspace(tmp_path: Path) -> None:
    secret = _secret(tmp_path)
    (secret.parent / "answer.txt").write_text(f"{SECRET}\n")
    root = _init(tmp_path, "roadmap-fundamentals")
    manifest_path = root / "learnbackend.yaml"
    original = manifest_path.read_text()
    for bad in ("../outside", str(secret.parent), "exercises/../../outside"):
        data = yaml.safe_load(original)
        data["exercises"][0]["path"] = bad
        manifest_path.write_text(yaml.safe_dump(data))
        for command in (["check", str(root)], ["reset", "1", "--yes", "-w", str(root)]):
            result = run_cli(*command)
            assert result.exit_code == 2, (bad, command, result.stdout, result.stderr)
            assert "inside the workspace" in result.stderr and SECRET not in result.stdout + result.stderr
    assert (secret.parent / "answer.txt").read_text() == f"{SECRET}\n"


def test_a_manifest_that_is_a_link_is_refused(tmp_path: Path) -> None:
    root = _init(tmp_path, "roadmap-fundamentals")
    real = tmp_path / "elsewhere.yaml"
    (root / "learnbackend.yaml").rename(real)
    os.symlink(real, root / "learnbackend.yaml")
    result = run_cli("check", str(root))
    assert result.exit_code == 2 and "symbolic link" in result.stderr


def test_reset_never_deletes_through_an_exercises_link(tmp_path: Path) -> None:
    root = _init(tmp_path, "roadmap-fundamentals")
    precious = tmp_path / "precious"
    (root / "exercises").rename(precious)
    os.symlink(precious, root / "exercises")
    before = sorted(p.name for p in precious.iterdir())
    (min(precious.iterdir()) / "answer.txt").write_text("my work\n")
    result = run_cli("reset", "1", "--yes", "-w", str(root))
    assert result.exit_code == 2 and "symbolic link" in result.stderr
    assert sorted(p.name for p in precious.iterdir()) == before
    assert (min(precious.iterdir()) / "answer.txt").read_text() == "my work\n"


def test_reset_replaces_a_linked_exercise_directory_without_touching_its_target(tmp_path: Path) -> None:
    root = _init(tmp_path, "roadmap-fundamentals")
    target = tmp_path / "mine"
    target.mkdir()
    (target / "keep.txt").write_text("keep")
    first = _first_dir(root)
    _link(first, target)
    result = run_cli("reset", "1", "--yes", "-w", str(root))
    assert result.exit_code == 0, result.stderr
    assert (target / "keep.txt").read_text() == "keep"
    assert first.is_dir() and not first.is_symlink() and (first / "answer.txt").read_text() == "TODO\n"


MODES = {
    "root": [],
    "uid-65534": ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"],
    "root-without-cap-sys-admin": ["setpriv", "--inh-caps=-sys_admin", "--bounding-set=-sys_admin"],
}


@pytest.mark.parametrize("mode", list(MODES))
def test_links_are_refused_in_every_mode(mode: str) -> None:
    """The same refusals as a separate `learnbackend check` process, as root, as nobody, and as root without
    CAP_SYS_ADMIN (a default Docker container). The secret is world-readable: only the refusal protects it."""
    import shutil
    import subprocess
    import sys
    import tempfile

    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("switching modes needs root and setpriv")
    base = Path(tempfile.mkdtemp(prefix="lb-modes-"))
    try:
        secret = base / "secret.txt"
        secret.write_text(f"{SECRET}\n")
        root = base / "ws"
        assert run_cli("init", str(root), "--lesson", "roadmap-fundamentals").exit_code == 0
        dirs = sorted((root / "exercises").iterdir())
        _link(dirs[0] / "answer.txt", secret)
        _link(dirs[1] / "answer.txt", "/dev/zero")
        (base / "elsewhere").mkdir()
        (base / "elsewhere" / "answer.txt").write_text(f"{SECRET}\n")
        _link(dirs[2], base / "elsewhere")
        (base / "home").mkdir()
        subprocess.run(["chmod", "-R", "a+rwX", str(base)], check=True)
        base.chmod(0o777)
        env = {**os.environ, "LEARNBACKEND_HOME": str(base / "home"), "HOME": str(base / "home")}
        argv = [*MODES[mode], sys.executable, "-m", "learnbackend", "check", str(root), "--only", "1", "--only", "2",
                "--only", "3", "--format", "json"]
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, cwd=base)
        assert proc.returncode == 1, (mode, proc.stderr)
        assert SECRET not in proc.stdout + proc.stderr and "Traceback" not in proc.stderr
        results = json.loads(proc.stdout)["results"]
        assert [r["status"] for r in results] == ["error", "error", "error"], results
        assert all("symbolic link" in r["message"] for r in results), results
    finally:
        shutil.rmtree(base, ignore_errors=True)
