"""YAML loading that remembers where every value came from.

Validation errors must name the file and the line, so we compose the YAML node
tree ourselves and record the line of every mapping key and sequence item.
Duplicate keys, which YAML silently overrides, are reported as errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Loc = tuple[str | int, ...]

# libyaml's parser when available: several times faster, with the same marks (lines).
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class SourceProblem:
    """One problem found in a source file, before or during validation."""

    path: Path
    line: int | None
    message: str
    fix: str | None = None

    def where(self) -> str:
        return f"{self.path}:{self.line}" if self.line else str(self.path)


@dataclass
class YamlSource:
    """A parsed YAML document plus the line of each location in it."""

    path: Path
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)
    problems: list[SourceProblem] = field(default_factory=list)

    def line_of(self, loc: Loc) -> int | None:
        """The line of ``loc``, or of its deepest ancestor we know.

        Pydantic locations may contain extra parts (a union tag) that are not in
        the document; those are skipped rather than ending the search.
        """
        best: int | None = self.lines.get(())
        path: Loc = ()
        for part in loc:
            candidate = path + (part,)
            if candidate in self.lines:
                path = candidate
                best = self.lines[candidate]
        return best


def load_yaml(path: Path, text: str | None = None) -> YamlSource:
    """Parse ``path`` (or ``text``) as one YAML document, recording lines.

    Syntax errors are returned as problems, never raised.
    """
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            return YamlSource(path, None, problems=[SourceProblem(path, None, "is not UTF-8 text")])
        except OSError as exc:
            return YamlSource(path, None, problems=[SourceProblem(path, None, f"cannot be read: {exc.strerror}")])
    source = YamlSource(path, None)
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = exc.problem or str(exc)
        source.problems.append(
            SourceProblem(path, line, f"is not valid YAML: {what}", fix="check indentation and quoting on that line")
        )
        return source
    except yaml.YAMLError as exc:
        source.problems.append(SourceProblem(path, None, f"is not valid YAML: {exc}"))
        return source
    finally:
        loader.dispose()
    if node is None:
        source.problems.append(SourceProblem(path, 1, "is empty"))
        return source
    constructor = _LOADER("")
    source.data = _build(node, (), source, constructor)
    return source


def _build(node: yaml.Node, loc: Loc, source: YamlSource, constructor: Any) -> Any:
    source.lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = constructor.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int)):
                key = str(key)
            line = key_node.start_mark.line + 1
            if key in result:
                source.problems.append(
                    SourceProblem(source.path, line, f"key {key!r} appears twice", fix="remove or rename one of them")
                )
            source.lines[loc + (key,)] = line
            result[key] = _build(value_node, loc + (key,), source, constructor)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, loc + (i,), source, constructor) for i, item in enumerate(node.value)]
    return constructor.construct_object(node, deep=True)
