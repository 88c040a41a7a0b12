"""The workspace manifest (``learnbackend.yaml``): what a workspace holds and how it is scored.

The manifest is written by ``learnbackend init`` and read by every workspace command.
It is versioned (``format_version``); a newer format is refused with a clear message.
It carries a copy of the assignment's scoring so that ``check`` needs only the workspace.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from learnbackend.errors import ContentError, NotFoundError

MANIFEST_NAME = "learnbackend.yaml"
#: A manifest lists exercises; even thousands of them fit in far less.
MAX_MANIFEST_BYTES = 1024 * 1024
FORMAT_VERSION = 1


class ManifestModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WorkspaceExercise(ManifestModel):
    """One exercise of the workspace, in the order the learner does them."""

    id: str = Field(description="The global exercise id, '<lesson id>/<exercise id>'.")
    path: str = Field(description="Its directory, relative to the workspace root.")
    kind: str = Field(description="The exercise kind (single, git-level, code...).")
    module: str = Field(description="The module the lesson belongs to.")
    points: float = Field(default=1.0, ge=0, description="Points for solving it fully.")
    partial: bool = Field(default=True, description="Whether failed exercises earn the share of their conditions passed.")
    conditions: dict[str, float] = Field(default_factory=dict, description="Weights of named conditions (default 1 each).")


class Scoring(ManifestModel):
    """How the whole workspace is graded (copied from the assignment, or the defaults)."""

    assignment: str | None = Field(default=None, description="The assignment name, when made from one.")
    title: str = Field(default="", description="The assignment's title.")
    pass_mark: float = Field(default=100.0, ge=0, le=100, description="Percent of the maximum points needed to pass.")
    due: datetime | None = Field(default=None, description="The due date (timezone-aware), if any.")


class Manifest(ManifestModel):
    """The ``learnbackend.yaml`` at the root of a workspace."""

    format_version: Literal[1] = 1
    workspace_id: str = Field(description="A unique id: progress is stored under it.")
    created: datetime = Field(description="When `learnbackend init` made the workspace (UTC).")
    pack_version: str = Field(description="The lesson pack(s) the exercises come from.")
    student: str = Field(default="", description="The learner's name, recorded in check reports.")
    lesson_dirs: list[str] = Field(default_factory=list, description="Extra (instructor) lesson directories, relative to the workspace root.")
    scoring: Scoring = Field(default_factory=Scoring)
    exercises: list[WorkspaceExercise] = Field(min_length=1)

    @field_validator("exercises")
    @classmethod
    def _paths_inside_the_workspace(cls, exercises: list[WorkspaceExercise]) -> list[WorkspaceExercise]:
        from learnbackend.workspace.safefiles import UnsafeFile, relative_parts

        for item in exercises:
            try:
                relative_parts(item.path)
            except UnsafeFile:
                raise ValueError(f"the path {item.path!r} of {item.id} must be relative and inside the workspace "
                                 "(no '..', not absolute)") from None
        return exercises

    def exercise(self, exercise_id: str) -> WorkspaceExercise:
        """The exercise with this global id, a unique local id, or a 1-based number."""
        if exercise_id.isdigit() and 1 <= int(exercise_id) <= len(self.exercises):
            return self.exercises[int(exercise_id) - 1]
        for item in self.exercises:
            if item.id == exercise_id:
                return item
        local = [item for item in self.exercises if item.id.partition("/")[2] == exercise_id]
        if len(local) == 1:
            return local[0]
        raise NotFoundError(
            f"This workspace has no exercise {exercise_id!r}.",
            fix="Run `learnbackend list` to see the exercise ids of this workspace.",
        )


def find_root(start: Path) -> Path:
    """The workspace containing ``start`` (it or a parent holds ``learnbackend.yaml``)."""
    start = start.resolve()
    for candidate in (start, *start.parents):
        if (candidate / MANIFEST_NAME).is_file():
            return candidate
    if not start.exists():
        raise NotFoundError(f"{start} does not exist.",
                            fix="Pass the directory of a workspace created with `learnbackend init DIR`.")
    raise NotFoundError(
        f"{start} is not inside a learnbackend workspace (no {MANIFEST_NAME} found).",
        fix="cd into your workspace, or pass it (`learnbackend check DIR`, `-w DIR` for the other commands); "
            "create one with `learnbackend init DIR`.",
    )


def load_manifest(root: Path) -> Manifest:
    """Read and validate the manifest of the workspace at ``root``; ContentError (exit 2) if it is bad."""
    from learnbackend.course.yamlsource import yaml_data
    from learnbackend.workspace.safefiles import read_text

    path = root / MANIFEST_NAME
    fix = "Restore the file, or re-create the workspace."
    try:
        text = read_text(root, MANIFEST_NAME, max_bytes=MAX_MANIFEST_BYTES)
    except OSError as exc:
        raise NotFoundError(f"Cannot read {path}: {exc.strerror}.", fix="Create a workspace with `learnbackend init DIR`.") from None
    data = yaml_data(path, text, max_bytes=MAX_MANIFEST_BYTES, fix=fix)
    if not isinstance(data, dict):
        raise ContentError(f"{path}: is not a workspace manifest.", fix="Re-create the workspace with `learnbackend init`.")
    version = data.get("format_version")
    if isinstance(version, int) and version > FORMAT_VERSION:
        raise ContentError(
            f"{path}: uses format_version {version}, but this learnbackend reads only up to {FORMAT_VERSION}.",
            fix="Upgrade learnbackend (pip install -U learnbackend).",
        )
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ContentError(
            f"{path}: {where}: {message} ({len(exc.errors())} problem(s) in all).",
            fix="Restore the manifest, or re-create the workspace with `learnbackend init`.",
        ) from None


def save_manifest(root: Path, manifest: Manifest) -> Path:
    """Write the manifest atomically (a temporary file renamed over the old one)."""
    path = root / MANIFEST_NAME
    data = manifest.model_dump(mode="json")
    header = "# learnbackend workspace manifest: written by `learnbackend init`; do not edit by hand.\n"
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    tmp.replace(path)
    return path
