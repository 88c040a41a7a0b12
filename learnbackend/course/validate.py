"""Validation of lesson and pack files: every problem at once, each with file, line and fix."""

from __future__ import annotations

import datetime as _dt
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


def document_loc(loc: Loc, data: Any) -> Loc:
    """``loc`` without the parts pydantic adds that are not keys of the file (union tags)."""
    kept: list[str | int] = []
    node = data
    for part in loc:
        present = (isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)) or (
            isinstance(node, dict) and part in node)
        if present:
            node = node[part]
        elif isinstance(node, dict) and any(value == part for value in node.values() if isinstance(value, str)):
            continue  # a union tag
        else:
            node = None
        kept.append(part)
    return tuple(kept)


#: What YAML made of an unquoted value, most specific first (a bool is an int, a datetime is a date).
_YAML_TYPES: list[tuple[type, str]] = [(bool, "true/false"), (_dt.datetime, "a date-time"), (_dt.date, "a date"),
                                       (int, "a number"), (float, "a number")]


def yaml_surprise(source: YamlSource, doc_loc: Loc, error: Any) -> tuple[str, str] | None:
    """A clearer message and fix when YAML read a value as a number, date or boolean where text is expected.

    ``answer: 2`` for a choice question is an index given instead of the choice's text.
    """
    if error["type"] not in ("string_type", "list_type") or doc_loc not in source.raw:
        return None
    raw = source.raw[doc_loc]
    value = error.get("input")
    what = next((name for kind, name in _YAML_TYPES if isinstance(value, kind)), "not text")
    key = next((str(p) for p in reversed(doc_loc) if isinstance(p, str)), "the value")
    if key in ("answer", "answers") and isinstance(value, int) and not isinstance(value, bool):
        return (f"{raw} is a number, but `{key}` is the text of a right choice, not its position",
                "copy the right choice's text verbatim from `choices` (in quotes if it looks like a number)")
    if error["type"] == "list_type":
        return None
    quoted = f'{key}: "{raw}"' if isinstance(doc_loc[-1], str) else f'"{raw}"'
    return f"YAML reads {raw} as {what}, but text is expected here", f"put it in quotes: {quoted}"


def _pydantic_problems(source: YamlSource, exc: ValidationError, prefix: Loc = ()) -> list[SourceProblem]:
    problems = []
    for error in exc.errors(include_url=False):
        loc = prefix + tuple(error["loc"])
        doc_loc = document_loc(loc, source.data)
        if source.was_reported(doc_loc):
            continue  # already reported while reading the YAML (an impossible date, a refused tag)
        message = error["msg"].removeprefix("Value error, ")
        fix = None
        surprise = yaml_surprise(source, doc_loc, error)
        if surprise is not None:
            message, fix = surprise
        elif error["type"] == "extra_forbidden":
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
        problems.append(SourceProblem(source.path, source.line_of(loc), f"{describe_loc(loc, source.data)}: {message}", fix=fix))
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
    # Cross-references are checked on every exercise, valid or not: one pass reports everything.
    problems.extend(_reference_checks(source, [str(t) for t in topics], raw_exercises))
    problems.extend(_cross_checks(source, module, valid))
    if lesson is not None and not problems:
        lesson = lesson.model_copy(update={"exercises": [e for _, e in valid]})
    problems.sort(key=lambda p: p.line or 0)
    return (None if problems else lesson), problems


def _reference_checks(source: YamlSource, topics: list[str], raw_exercises: list[Any]) -> list[SourceProblem]:
    """Unique exercise ids and known topics, read from the raw file (a schema error elsewhere hides nothing)."""
    problems: list[SourceProblem] = []
    path = source.path
    seen: set[str] = set()
    for index, raw in enumerate(raw_exercises):
        if not isinstance(raw, dict):
            continue
        loc: Loc = ("exercises", index)
        exercise_id, topic = raw.get("id"), raw.get("topic")
        label = f"exercises[{index}]" + (f" ({exercise_id})" if isinstance(exercise_id, str) else "")
        if isinstance(exercise_id, str):
            if exercise_id in seen:
                problems.append(SourceProblem(path, source.line_of(loc + ("id",)), f"{label}: the id is used twice in this lesson",
                                              fix="give each exercise a unique id"))
            seen.add(exercise_id)
        if not isinstance(topic, str):
            continue
        if topics and topic.strip() not in topics:
            problems.append(SourceProblem(path, source.line_of(loc + ("topic",)), f"{label}: topic {topic!r} is not in the lesson's topics",
                                          fix=f"use one of: {', '.join(topics)}"))
        elif not topics:
            problems.append(SourceProblem(path, source.line_of(("id",)), f"{label}: names topic {topic!r} but the lesson lists no topics",
                                          fix="add a `topics:` list to the lesson"))
    return problems


def _cross_checks(source: YamlSource, module: Any, exercises: list[tuple[int, Any]]) -> list[SourceProblem]:
    """Checks that need valid exercises: hints, referenced files; and the module's directory."""
    problems: list[SourceProblem] = []
    path = source.path
    parent = path.parent.name
    if parent in MODULES and isinstance(module, str) and parent != module:
        problems.append(
            SourceProblem(path, source.line_of(("module",)), f"module is {module!r} but the file is in {parent}/",
                          fix=f"move the file to {module}/ or set `module: {parent}`")
        )
    for index, exercise in exercises:
        loc: Loc = ("exercises", index)
        label = f"exercises[{index}] ({exercise.id})"
        hints = exercise.hints() if hasattr(exercise, "hints") else []
        if not any(h.strip() for h in hints):
            problems.append(SourceProblem(path, source.line_of(loc), f"{label}: has no hint", fix="add a hint"))
        for key, relative in getattr(exercise, "referenced_files", list)():
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

    return count, catalog.problems + _bundled_collisions(catalog, paths) + code_exercise_problems(catalog.lessons)


def _bundled_collisions(catalog: Any, paths: list[Path]) -> list[SourceProblem]:
    """Lessons whose id is already a bundled lesson's: they would break every `--lessons` command."""
    from learnbackend.course.catalog import bundled_lessons_dir, load_lessons

    bundled_dir = bundled_lessons_dir().resolve()
    if any(p.resolve() == bundled_dir for p in paths):
        return []  # validating the bundled pack itself: duplicates are already reported
    bundled = {entry.lesson.id: entry.path for entry in load_lessons([bundled_dir]).lessons}
    return [SourceProblem(entry.path, 1, f"lesson id {entry.lesson.id!r} is already the id of the bundled lesson "
                          f"{bundled[entry.lesson.id].relative_to(bundled_dir)}; every --lessons command would refuse this pack",
                          fix=f"give it an id of your own, e.g. `id: my-{entry.lesson.id}`")
            for entry in catalog.lessons if entry.lesson.id in bundled and entry.path.resolve().parent.parent != bundled_dir]
