"""``assignment publish``: a starter repository that passes its own CI on a fresh venv, for a right solution only.

The CI commands are read from the generated workflow files (not repeated here) and run in a
virtual environment created from nothing: learnbackend comes from the wheel inside the
repository, its dependencies from the package index.
"""

from __future__ import annotations

import os
import subprocess
import venv
from pathlib import Path

import pytest
import yaml
from conftest import FIXTURES, REPO, run_cli  # type: ignore[import-not-found]

from learnbackend import __version__

WSOLVING = REPO / "tests" / "workspace"


def write_assignment(tmp_path: Path, pack: Path = FIXTURES / "lessons" / "good") -> Path:
    path = tmp_path / "instructor" / "week-1.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(f"""format_version: 1
name: week-1
title: Week one
pass_mark: 60
lessons: [{os.path.relpath(pack, path.parent)}]
exercises:
  - lesson: fixture-tiny
  - id: roadmap-fundamentals/server-side-validation
    points: 2
""", encoding="utf-8")
    return path


def github_steps(repo: Path) -> list[tuple[str, dict[str, str]]]:
    workflow = yaml.safe_load((repo / ".github" / "workflows" / "learnbackend.yml").read_text())
    steps = [s for s in workflow["jobs"]["check"]["steps"] if "run" in s]
    return [(s["run"], {k: str(v).replace("${{ github.actor }}", "ada") for k, v in (s.get("env") or {}).items()}) for s in steps]


def gitlab_steps(repo: Path) -> list[tuple[str, dict[str, str]]]:
    job = yaml.safe_load((repo / ".gitlab-ci.yml").read_text())["learnbackend"]
    return [("\n".join(job["script"]), {"GITLAB_USER_LOGIN": "ada"})]


def clone_and_answer(repo: Path, dest: Path, *, right: bool) -> Path:
    subprocess.run(["git", "clone", "-q", str(repo), str(dest)], check=True)
    import sys

    sys.path.insert(0, str(WSOLVING))
    try:
        from wsolving import Solver  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(WSOLVING))
    solver = Solver(dest)
    if right:
        solver.solve()
    else:
        solver.solve()
        solver.botch("1", "2", "5")
    subprocess.run(["git", "commit", "-qam", "my answers"], cwd=dest, check=True)
    return dest


def test_publish_makes_a_portable_repository_with_the_pack_and_the_wheel(tmp_path: Path) -> None:
    assignment = write_assignment(tmp_path)
    result = run_cli("assignment", "publish", str(assignment), "--output", str(tmp_path / "starter"))
    assert result.exit_code == 0, result.stderr
    repo = tmp_path / "starter"
    tracked = subprocess.run(["git", "ls-files"], cwd=repo, capture_output=True, text=True, check=True).stdout.split()
    assert f".learnbackend/learnbackend-{__version__}-py3-none-any.whl" in tracked
    assert ".learnbackend/lessons/01-good/roadmap/tiny.yaml" in tracked
    assert {".github/workflows/learnbackend.yml", ".gitlab-ci.yml", "learnbackend.yaml"} <= set(tracked)
    assert subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True).stdout == ""
    for name in tracked:
        if not name.endswith(".whl"):
            assert str(tmp_path) not in (repo / name).read_text(), f"{name} holds a machine path"
    # A clone elsewhere (the instructor's directory gone) checks with its own pack.
    moved = tmp_path / "elsewhere" / "clone"
    subprocess.run(["git", "clone", "-q", str(repo), str(moved)], check=True)
    (assignment.parent / "week-1.yaml").unlink()
    checked = run_cli("check", str(moved), "--format", "json")
    assert checked.exit_code == 1 and checked.json["summary"]["total"] == 5, checked.stderr
    # The docs' templates are the ones shipped.
    for name in ("github-actions.yml", "gitlab-ci.yml"):
        shipped = (REPO / "learnbackend" / "assignment" / "ci" / name).read_text()
        assert (REPO / "docs" / "ci" / name).read_text() == shipped
        assert "pip install --upgrade learnbackend" not in shipped


def test_a_custom_pack_in_a_moved_workspace_is_found_with_lessons(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    subprocess.run(["cp", "-r", str(FIXTURES / "lessons" / "good"), str(pack)], check=True)
    assert run_cli("--lessons", str(pack), "init", str(tmp_path / "ws"), "--lesson", "fixture-tiny").exit_code == 0
    manifest = yaml.safe_load((tmp_path / "ws" / "learnbackend.yaml").read_text())
    assert manifest["lesson_dirs"] == ["../pack"]
    moved = tmp_path / "other" / "place"
    moved.parent.mkdir()
    (tmp_path / "ws").rename(moved)
    gone = run_cli("check", str(moved))
    assert gone.exit_code == 2 and "--lessons" in gone.stderr
    assert run_cli("--lessons", str(pack), "check", str(moved), "--format", "json").json["summary"]["total"] == 4
    assert run_cli("check", str(moved), "--format", "json", env={"LEARNBACKEND_LESSONS": str(pack)}).json["summary"]["total"] == 4


def test_a_code_exercise_pack_withholds_the_reference_solution(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    (pack / "counter" / "code").mkdir(parents=True)
    source = yaml.safe_load((REPO / "lessons" / "counter" / "10-build.yaml").read_text())
    code = next(e for e in source["exercises"] if e["kind"] == "code")
    for role in ("starter", "tests", "solution"):
        target = pack / "counter" / code[role]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((REPO / "lessons" / "counter" / code[role]).read_bytes())
    lesson = {k: v for k, v in source.items() if k != "exercises"}
    lesson.update(id="my-counter", title="My counter", exercises=[code])
    (pack / "counter" / "mine.yaml").write_text(yaml.safe_dump(lesson, sort_keys=False))
    (pack / "pack.yaml").write_text((FIXTURES / "lessons" / "good" / "pack.yaml").read_text())
    assignment = tmp_path / "a.yaml"
    assignment.write_text(f"format_version: 1\nname: code-week\ntitle: Code\npass_mark: 50\nlessons: [pack]\n"
                          f"exercises:\n  - id: my-counter/{code['id']}\n")
    result = run_cli("assignment", "publish", str(assignment), "--output", str(tmp_path / "repo"))
    assert result.exit_code == 0, result.stderr
    copied = tmp_path / "repo" / ".learnbackend" / "lessons" / "01-pack" / "counter"
    assert "Not handed out" in (copied / code["solution"]).read_text()
    assert (copied / code["tests"]).read_bytes() == (pack / "counter" / code["tests"]).read_bytes()


@pytest.mark.slow
def test_the_published_ci_commands_pass_a_right_and_fail_a_wrong_solution_in_a_fresh_venv(tmp_path: Path) -> None:
    assignment = write_assignment(tmp_path)
    assert run_cli("assignment", "publish", str(assignment), "--output", str(tmp_path / "starter")).exit_code == 0
    repo = tmp_path / "starter"
    right = clone_and_answer(repo, tmp_path / "right", right=True)
    wrong = clone_and_answer(repo, tmp_path / "wrong", right=False)
    fresh = tmp_path / "runner-venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(fresh)
    base = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "SOURCE_DATE_EPOCH", "PYTHONHOME")}
    base["PATH"] = f"{fresh / 'bin'}{os.pathsep}/usr/bin:/bin"
    for steps in (github_steps, gitlab_steps):
        for clone, expected in ((right, 0), (wrong, 1)):
            code = 0
            for command, step_env in steps(clone):
                done = subprocess.run(["bash", "-eo", "pipefail", "-c", command], cwd=clone, env={**base, **step_env},
                                      capture_output=True, text=True, timeout=900, check=False)
                code = done.returncode
                if code:
                    break
            assert code == expected, f"{steps.__name__} {clone.name}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
            report = yaml.safe_load((clone / "reports" / "learnbackend.json").read_text())
            assert report["student"] == "ada" and report["summary"]["total"] == 5
            assert report["tool"]["version"] == __version__
    where = subprocess.run([str(fresh / "bin" / "python"), "-c", "import learnbackend; print(learnbackend.__file__)"],
                           capture_output=True, text=True, check=True, cwd=tmp_path).stdout
    assert where.startswith(str(fresh)), where


def test_publish_refuses_bad_wheels_and_can_pin_a_spec(tmp_path: Path) -> None:
    assignment = write_assignment(tmp_path)
    fake = tmp_path / "learnbackend-0.0.1-py3-none-any.whl"
    fake.write_bytes(b"not a wheel")
    result = run_cli("assignment", "publish", str(assignment), "--output", str(tmp_path / "a"), "--wheel", str(fake))
    assert result.exit_code == 2 and "is not a wheel of learnbackend" in result.stderr
    assert not (tmp_path / "a").exists() and not list(tmp_path.glob(".a.publishing"))
    spec = f"learnbackend @ git+https://example.invalid/school/learnbackend@v{__version__}"
    result = run_cli("assignment", "publish", str(assignment), "--output", str(tmp_path / "b"), "--pip-spec", spec)
    assert result.exit_code == 0, result.stderr
    install = github_steps(tmp_path / "b")[0][0]
    assert install == f"python -m pip install '{spec}'"
    assert not list((tmp_path / "b" / ".learnbackend").glob("*.whl"))
    again = run_cli("assignment", "publish", str(assignment), "--output", str(tmp_path / "b"))
    assert again.exit_code == 2 and "not empty" in again.stderr
