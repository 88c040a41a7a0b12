"""Validation of lesson and pack files: every problem at once, each with file, line and fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from learnbackend.course.models import FORMAT_VERSION, MODULES, Exercise, Lesson, Pack
from learnbackend.course.yamlsource import Loc, SourceProblem, YamlSource

_EXERCISE_ADAPTER: TypeAdapter[Any] = TypeAdapter(Exercise)


def describe_loc(loc: Loc, data: Any, name_keys: tuple[str, ...] = ("id",)) -> str:
    """A readable location: ``exercises[3] (dns-ttl).answer`` rather than a tuple.

    A list item is labelled with the first of ``name_keys`` it has; union tags that
    pydantic puts in locations (not keys of the file) are left out.
    """
    parts: list[str] = []
    node = data
    for part in loc:
        if isinstance(part, int):
            label = f"[{part}]"
            if isinstance(node, list) and part < len(node):
                node = node[part]
                name = next((node[k] for k in name_keys if isinstance(node, dict) and isinstance(node.get(k), str)), None)
                if name is not None:
                    label += f" ({name})"
            else:
                node = None
            parts.append(label)
        else:
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, dict):
                # A union tag pydantic put in the location: not a key of the file.
                if any(value == part for value in node.values() if isinstance(value, str)):
                    continue
                node = None
            parts.append(("." if parts else "") + str(part))
    return "".join(parts) or "(top level)"


def _pydantic_problems(source: YamlSource, exc: ValidationError, prefix: Loc = ()) -> list[SourceProblem]:
    problems = []
    for error in exc.errors(include_url=False):
        loc = prefix + tuple(error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "is not a known field (a typo?)"
        elif error["type"] == "missing":
            message = "is required but missing"
        elif error["type"] == "union_tag_invalid":
            ctx = error.get("ctx", {})
            field = str(ctx.get("discriminator", "'kind'")).strip("'")
            message = f"{field} {ctx.get('tag')!r} is not one of: {ctx.get('expected_tags')}"
        elif error["type"] == "union_tag_not_found":
            field = str(error.get("ctx", {}).get("discriminator", "'kind'")).strip("'")
            message = f"{field} is missing"
        problems.append(SourceProblem(source.path, source.line_of(loc), f"{describe_loc(loc, source.data)}: {message}"))
    return problems


def _check_version(source: YamlSource, what: str) -> SourceProblem | None:
    data = source.data
    version = data.get("format_version")
    if version is None:
        return SourceProblem(source.path, 1, "format_version is missing", fix=f"add `format_version: {FORMAT_VERSION}` at the top")
    if isinstance(version, int) and version > FORMAT_VERSION:
        return SourceProblem(
            source.path,
            source.line_of(("format_version",)),
            f"this {what} uses format_version {version}, but this learnbackend reads only up to {FORMAT_VERSION}",
            fix="upgrade learnbackend (pip install -U learnbackend)",
        )
    return None


def validate_pack_source(source: YamlSource) -> tuple[Pack | None, list[SourceProblem]]:
    """Validate a ``pack.yaml`` manifest."""
    if source.problems or source.data is None:
        return None, list(source.problems)
    if not isinstance(source.data, dict):
        return None, [SourceProblem(source.path, 1, "must be a mapping of keys to values")]
    version_problem = _check_version(source, "lesson pack")
    if version_problem:
        return None, [version_problem]
    try:
        return Pack.model_validate(source.data), []
    except ValidationError as exc:
        return None, _pydantic_problems(source, exc)


def validate_lesson_source(source: YamlSource) -> tuple[Lesson | None, list[SourceProblem]]:
    """Validate one lesson file; returns the lesson (or None) and every problem found."""
    problems = list(source.problems)
    if source.data is None:
        return None, problems
    if not isinstance(source.data, dict):
        return None, problems + [SourceProblem(source.path, 1, "must be a mapping with format_version, id, module...")]
    version_problem = _check_version(source, "lesson")
    if version_problem:
        return None, problems + [version_problem]
    # The header and each exercise are validated separately so that one bad
    # exercise does not hide the problems of the others.
    raw_exercises = source.data.get("exercises", [])
    header = {k: v for k, v in source.data.items() if k != "exercises"}
    lesson: Lesson | None = None
    try:
        lesson = Lesson.model_validate(header)
    except ValidationError as exc:
        problems.extend(_pydantic_problems(source, exc))
    if not isinstance(raw_exercises, list):
        problems.append(SourceProblem(source.path, source.line_of(("exercises",)), "exercises must be a list"))
        return None, problems
    valid: list[tuple[int, Any]] = []
    for index, raw in enumerate(raw_exercises):
        try:
            valid.append((index, _EXERCISE_ADAPTER.validate_python(raw)))
        except ValidationError as exc:
            problems.extend(_pydantic_problems(source, exc, prefix=("exercises", index)))
    raw_topics = header.get("topics")
    topics: list[Any] = raw_topics if isinstance(raw_topics, list) else []
    module = lesson.module if lesson else header.get("module")
    problems.extend(_cross_checks(source, module, [str(t) for t in topics], valid))
    if lesson is not None and not problems:
        lesson = lesson.model_copy(update={"exercises": [e for _, e in valid]})
    problems.sort(key=lambda p: p.line or 0)
    return (None if problems else lesson), problems


def _cross_checks(source: YamlSource, module: Any, topics: list[str], exercises: list[tuple[int, Any]]) -> list[SourceProblem]:
    """Checks that span fields: unique ids, known topics, hints, referenced files, module dir."""
    problems: list[SourceProblem] = []
    path = source.path
    parent = path.parent.name
    if parent in MODULES and isinstance(module, str) and parent != module:
        problems.append(
            SourceProblem(path, source.line_of(("module",)), f"module is {module!r} but the file is in {parent}/",
                          fix=f"move the file to {module}/ or set `module: {parent}`")
        )
    seen: set[str] = set()
    for index, exercise in exercises:
        loc: Loc = ("exercises", index)
        label = f"exercises[{index}] ({exercise.id})"
        if exercise.id in seen:
            problems.append(SourceProblem(path, source.line_of(loc + ("id",)), f"{label}: the id is used twice in this lesson",
                                          fix="give each exercise a unique id"))
        seen.add(exercise.id)
        topic = getattr(exercise, "topic", None)
        if topic is not None and topics and topic not in topics:
            problems.append(SourceProblem(path, source.line_of(loc + ("topic",)), f"{label}: topic {topic!r} is not in the lesson's topics",
                                          fix=f"use one of: {', '.join(topics)}"))
        elif topic is not None and not topics:
            problems.append(SourceProblem(path, source.line_of(("id",)), f"{label}: names topic {topic!r} but the lesson lists no topics",
                                          fix="add a `topics:` list to the lesson"))
        hints = exercise.hints() if hasattr(exercise, "hints") else []
        if not any(h.strip() for h in hints):
            problems.append(SourceProblem(path, source.line_of(loc), f"{label}: has no hint", fix="add a hint"))
        for key, relative in getattr(exercise, "referenced_files", lambda: [])():
            target = (path.parent / relative).resolve()
            if not target.exists():
                problems.append(SourceProblem(path, source.line_of(loc + (key,)), f"{label}: {key} refers to {relative!r}, which does not exist",
                                              fix=f"create {path.parent / relative} or fix the path"))
            elif path.parent.resolve() not in target.parents:
                problems.append(SourceProblem(path, source.line_of(loc + (key,)), f"{label}: {key} points outside the lesson directory",
                                              fix="keep exercise files beside the lesson"))
    return problems


def validate_paths(paths: list[Path]) -> tuple[int, list[SourceProblem]]:
    """Validate files and directories; returns (lesson files checked, problems)."""
    from learnbackend.course.catalog import lesson_files, load_lessons

    count = sum(len(lesson_files(p)) for p in paths)
    catalog = load_lessons(paths)
    from learnbackend.coding.authoring import code_exercise_problems  # runs code exercises in the sandbox

    return count, catalog.problems + code_exercise_problems(catalog.lessons)
