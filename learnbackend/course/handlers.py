"""Exercise kinds and the module code that handles each.

A handler turns an exercise into files in a learner's workspace
(``materialize``) and checks the workspace (``check``). Handlers are imported
lazily by dotted path so that loading the catalog stays cheap.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from learnbackend.errors import ContentError

if TYPE_CHECKING:
    from learnbackend.course.catalog import LoadedLesson
    from learnbackend.course.results import ExerciseResult


class Handler(Protocol):
    """What a module provides for its exercise kinds."""

    def materialize(self, entry: LoadedLesson, exercise: Any, dest: Path) -> list[Path]:
        """Write the exercise's starting files into ``dest`` (a fresh directory); return them."""

    def check(self, entry: LoadedLesson, exercise: Any, workdir: Path, *, timeout: float) -> ExerciseResult:
        """Check the learner's files in ``workdir``; never raises for a failed exercise."""


#: kind -> "module:attribute" of a Handler instance. Modules add their kinds here.
HANDLERS: dict[str, str] = {
    "single": "learnbackend.roadmap.handler:HANDLER",
    "multiple": "learnbackend.roadmap.handler:HANDLER",
    "order": "learnbackend.roadmap.handler:HANDLER",
    "text": "learnbackend.roadmap.handler:HANDLER",
    "container-spec": "learnbackend.containers.handler:HANDLER",
    "git-level": "learnbackend.gitsandbox.handler:HANDLER",
    "code": "learnbackend.coding.handler:HANDLER",
}


def copy_starter(entry: LoadedLesson, starter: str, file: str, dest: Path) -> list[Path]:
    """The usual ``materialize``: copy the lesson's starter file (with its TODOs) to ``dest/file``."""
    import shutil

    target = dest / file
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(entry.directory / starter, target)
    return [target]


def handler_for(kind: str) -> Handler:
    try:
        target = HANDLERS[kind]
    except KeyError:
        raise ContentError(f"No checker is known for exercises of kind {kind!r}.") from None
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)
