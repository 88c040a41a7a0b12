"""``assignment publish``: an assignment turned into a self-contained starter repository.

The repository is a learner workspace (relative paths only) with the instructor's own
lesson pack inside it (reference solutions and hidden tests withheld), the wheel of this
learnbackend version in ``.learnbackend/``, CI files for GitHub Actions and GitLab that
install that wheel, and one initial commit.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

from learnbackend.errors import EnvironmentMissing, UsageError

TOOL_DIR = ".learnbackend"
GITHUB_WORKFLOW = ".github/workflows/learnbackend.yml"
GITLAB_CI = ".gitlab-ci.yml"
WHEEL_INSTALL = "python -m pip install .learnbackend/learnbackend-*.whl"
WITHHELD = "# Not handed out: your instructor keeps this file ({role}).\n"
#: Referenced files a learner never gets (they prove or judge the exercise).
SECRET_ROLES = ("solution", "hidden")


@dataclass(frozen=True)
class Published:
    """What ``publish`` made."""

    root: Path
    commit: str
    wheel: Path | None
    install: str
    withheld: list[str]


def ci_template(name: str) -> str:
    """A CI template as shipped in the package (docs/ci/ holds the same files)."""
    return resources.files("learnbackend.assignment").joinpath("ci").joinpath(name).read_text(encoding="utf-8")


def ci_files(install: str) -> dict[str, str]:
    """The CI files of a starter repository, installing learnbackend with ``install``."""
    return {GITHUB_WORKFLOW: ci_template("github-actions.yml").replace(WHEEL_INSTALL, install),
            GITLAB_CI: ci_template("gitlab-ci.yml").replace(WHEEL_INSTALL, install)}


def _copy_pack(loaded: Any, source: Path, target: Path) -> list[str]:
    """Copy one lesson directory; files referenced as solutions or hidden tests become a placeholder."""
    shutil.copytree(source, target, symlinks=False, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".git"))
    withheld: list[str] = []
    for entry in loaded.catalog.lessons:
        if source.resolve() not in entry.path.resolve().parents:
            continue
        for exercise in entry.lesson.exercises:
            for role, relative in getattr(exercise, "referenced_files", list)():
                if not any(secret in role for secret in SECRET_ROLES):
                    continue
                original = (entry.path.parent / relative).resolve()
                copied = target / original.relative_to(source.resolve())
                if copied.is_file():
                    copied.write_text(WITHHELD.format(role=role), encoding="utf-8")
                    withheld.append(copied.relative_to(target).as_posix())
    return sorted(set(withheld))


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise EnvironmentMissing(f"git {args[0]} failed in {root}: {done.stderr.strip()[-300:]}", fix="Check that git works here.")
    return done.stdout.strip()


def _identity(root: Path) -> list[str]:
    """The instructor's git identity, or a neutral one when none is configured."""
    probe = subprocess.run(["git", "config", "user.email"], cwd=root, capture_output=True, text=True, check=False)
    return [] if probe.stdout.strip() else ["-c", "user.name=learnbackend", "-c", "user.email=publish@learnbackend.invalid"]


def publish(loaded: Any, output: Path, *, wheel: Path | None = None, pip_spec: str | None = None) -> Published:
    """Write the starter repository for the assignment ``loaded`` at ``output`` (new or empty)."""
    from learnbackend.assignment.wheel import ship_wheel
    from learnbackend.workspace.create import create_workspace, select_from_assignment

    if shutil.which("git") is None:
        raise EnvironmentMissing("git is not installed.", fix="Install git, then publish again.")
    output = output.resolve()
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise UsageError(f"{output} already exists and is not empty.", fix="Choose a new directory for the repository.")
    if wheel is not None and pip_spec:
        raise UsageError("--wheel and --pip-spec cannot be combined.", fix="Ship a wheel, or name a pip spec, not both.")
    staging = output.parent / f".{output.name}.publishing"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        withheld: list[str] = []
        packs: list[Path] = []
        for index, directory in enumerate(loaded.lesson_dirs, start=1):
            target = staging / TOOL_DIR / "lessons" / f"{index:02d}-{directory.name}"
            withheld += [f"{target.relative_to(staging).as_posix()}/{w}" for w in _copy_pack(loaded, directory, target)]
            packs.append(target)
        selection = replace(select_from_assignment(loaded), lesson_dirs=packs)
        workspace = staging / "workspace"
        create_workspace(workspace, selection, pack_version=loaded.catalog.pack_version)
        for child in workspace.iterdir():
            child.rename(staging / child.name)
        workspace.rmdir()
        # The manifest's lesson dirs were relative to staging/workspace: make them relative to the root.
        from learnbackend.workspace.manifest import load_manifest, save_manifest

        manifest = load_manifest(staging)
        save_manifest(staging, manifest.model_copy(update={"lesson_dirs": [p.relative_to(staging).as_posix() for p in packs]}))
        shipped = None
        if pip_spec:
            install = f"python -m pip install {shlex.quote(pip_spec)}"
        else:
            shipped = ship_wheel(staging / TOOL_DIR, given=wheel)
            install = WHEEL_INSTALL
        for relative, text in ci_files(install).items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        (staging / ".gitignore").write_text("reports/\n__pycache__/\n", encoding="utf-8")
        _git(staging, "init", "-q", "-b", "main")
        _git(staging, "add", "-A")
        _git(staging, *_identity(staging), "commit", "-q", "-m", f"Starter for {loaded.assignment.name}: {loaded.assignment.title}")
        commit = _git(staging, "rev-parse", "HEAD")
        output.parent.mkdir(parents=True, exist_ok=True)
        if output.exists():
            output.rmdir()
        staging.rename(output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Published(output, commit, None if shipped is None else output / TOOL_DIR / shipped.name, install, withheld)
