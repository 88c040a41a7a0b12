"""The one YAML loader: bounded, plain-data only, and remembering where every value came from.

Every YAML file learnbackend reads (lessons, packs, assignments, workspace manifests, a
learner's container spec, quiz answers files) goes through :func:`load_yaml`. It

- refuses input over a size cap, NUL bytes and text that is not UTF-8;
- builds plain data only: text, numbers, true/false, null, dates, lists and mappings.
  Any other tag (``!!python/name:...``, ``!!binary``, ``!custom``) is refused with the line;
- bounds nesting depth and the number of values built, counting every alias expansion,
  so a few hundred bytes of nested aliases (a "billion laughs") cost nothing;
- records the line of every mapping key and sequence item, so that validation errors
  name the file and the line. Duplicate keys, which YAML silently overrides, are errors;
- turns YAML surprises into problems with a fix instead of exceptions: an unquoted
  impossible date (``due: 2026-13-01``) is a problem on its line, and its text is kept
  so that the rest of the file is still validated.

Nothing here raises for bad input: problems are returned (:class:`YamlSource.problems`).
:func:`yaml_data` is the raising variant for callers that want data or a ContentError.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from learnbackend.errors import ContentError

Loc = tuple[str | int, ...]

# libyaml's parser when available: several times faster, with the same marks (lines).
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: Largest YAML input read, in bytes (the biggest bundled lesson is ~26 KB).
MAX_BYTES = 2 * 1024 * 1024
#: Deepest nesting of lists and mappings (lessons need about 6).
MAX_DEPTH = 64
#: Most values built from one document, counting each alias expansion again.
MAX_VALUES = 200_000
#: Most alias expansions (``*name``, counted at every place it ends up) in one document.
MAX_ALIASES = 200

_T = "tag:yaml.org,2002:"
#: The plain-data tags; everything else is refused.
PLAIN_TAGS = {_T + name for name in ("str", "int", "float", "bool", "null", "timestamp", "map", "seq")}


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
    #: The text of scalars YAML did not read as text (numbers, dates, booleans), by location:
    #: validators use it to say "put it in quotes" with the exact text.
    raw: dict[Loc, str] = field(default_factory=dict)
    #: Locations already reported here (e.g. an impossible date): validators skip them.
    reported: set[Loc] = field(default_factory=set)

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

    def was_reported(self, loc: Loc) -> bool:
        """Whether ``loc`` or one of its ancestors already has a problem from parsing."""
        return any(loc[:n] in self.reported for n in range(len(loc) + 1))


class _TooBig(Exception):
    """Raised inside :func:`_build` when a bound is reached: one problem, and the build stops."""

    def __init__(self, line: int, message: str, fix: str) -> None:
        super().__init__(message)
        self.line, self.message, self.fix = line, message, fix


def decode(raw: bytes, path: Path, *, max_bytes: int = MAX_BYTES) -> tuple[str | None, SourceProblem | None]:
    """Bytes → text, or the problem: too big, NUL bytes, not UTF-8."""
    if len(raw) > max_bytes:
        return None, SourceProblem(path, None, f"is larger than {max_bytes // 1024} KiB; learnbackend does not read it",
                                   fix="keep the file small (split it, or remove what is not needed)")
    if b"\0" in raw:
        line = raw[: raw.index(b"\0")].count(b"\n") + 1
        return None, SourceProblem(path, line, "contains a NUL byte (it is not a text file)", fix="save it as plain UTF-8 text")
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, SourceProblem(path, line, f"is not UTF-8 text (byte {exc.start})", fix="save it as UTF-8")


def read_source(path: Path, *, max_bytes: int = MAX_BYTES) -> tuple[str | None, SourceProblem | None]:
    """Read an (instructor's) file as text, never more than ``max_bytes`` + 1 bytes.

    Only a regular file is read: the open does not block (a FIFO named ``x.yaml``), and a
    device (``/dev/zero``) is refused rather than read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        return None, SourceProblem(path, None, f"cannot be read: {exc.strerror or exc}")
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            what = "is a directory, not a file" if stat.S_ISDIR(os.fstat(fd).st_mode) else \
                "is not a regular file (a device, FIFO or socket); it is not read"
            return None, SourceProblem(path, None, what)
        with os.fdopen(os.dup(fd), "rb") as handle:
            raw = handle.read(max_bytes + 1)
    except OSError as exc:
        return None, SourceProblem(path, None, f"cannot be read: {exc.strerror or exc}")
    finally:
        os.close(fd)
    return decode(raw, path, max_bytes=max_bytes)


def load_yaml(path: Path, text: str | None = None, *, max_bytes: int = MAX_BYTES) -> YamlSource:
    """Parse ``path`` (or ``text``, which was read from it) as one YAML document, recording lines.

    Bad input of any kind is returned as problems, never raised.
    """
    if text is None:
        text, problem = read_source(path, max_bytes=max_bytes)
        if text is None:
            return YamlSource(path, None, problems=[problem] if problem else [])
    else:
        _, problem = decode(text.encode("utf-8", "surrogatepass"), path, max_bytes=max_bytes)
        if problem is not None:
            return YamlSource(path, None, problems=[problem])
    source = YamlSource(path, None)
    loader: yaml.SafeLoader | None = None
    try:
        loader = _LOADER(text)  # the pure-Python reader already checks characters here
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = exc.problem or str(exc)
        fix = "nest less deeply" if "depth" in str(what) else "check indentation and quoting on that line"
        source.problems.append(SourceProblem(path, line, f"is not valid YAML: {what}", fix=fix))
        return source
    except yaml.YAMLError as exc:
        source.problems.append(SourceProblem(path, None, f"is not valid YAML: {exc}"))
        return source
    except RecursionError:  # the pure-Python parser, without libyaml's own depth limit
        source.problems.append(SourceProblem(path, None, f"is nested too deeply (more than {MAX_DEPTH} levels)",
                                             fix="nest less deeply"))
        return source
    finally:
        if loader is not None:
            loader.dispose()
    if node is None:
        source.problems.append(SourceProblem(path, 1, "is empty"))
        return source
    builder = _Builder(source)
    try:
        source.data = builder.build(node, (), 0)
    except _TooBig as exc:
        source.data = None
        source.problems.append(SourceProblem(path, exc.line, exc.message, fix=exc.fix))
    return source


def yaml_data(path: Path, text: str | None = None, *, max_bytes: int = MAX_BYTES, fix: str | None = None) -> Any:
    """The data of a YAML file, or :class:`ContentError` (exit 2) naming the first problem's file and line."""
    source = load_yaml(path, text, max_bytes=max_bytes)
    if source.problems:
        first = source.problems[0]
        more = f" ({len(source.problems)} problems in all)" if len(source.problems) > 1 else ""
        raise ContentError(f"{first.where()}: {first.message}{more}.", fix=fix or first.fix)
    return source.data


class _Builder:
    """Turns a composed node graph into plain data, within the bounds."""

    def __init__(self, source: YamlSource) -> None:
        self.source = source
        self.values = 0
        self.aliases = 0
        self.seen: set[int] = set()
        self.constructor = _LOADER("")

    def build(self, node: yaml.Node, loc: Loc, depth: int) -> Any:
        line = node.start_mark.line + 1
        self.values += 1
        if self.values > MAX_VALUES:
            raise _TooBig(line, f"holds more than {MAX_VALUES} values (YAML aliases may not multiply the document)",
                          "write the values out, or use fewer aliases (*name)")
        if id(node) in self.seen:  # an alias: the same node again
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise _TooBig(line, f"expands aliases (*name) more than {MAX_ALIASES} times", "write the values out")
        self.seen.add(id(node))
        if depth > MAX_DEPTH:
            raise _TooBig(line, f"is nested more than {MAX_DEPTH} levels deep", "nest less deeply")
        self.source.lines.setdefault(loc, line)
        if node.tag not in PLAIN_TAGS and not (isinstance(node, yaml.MappingNode) and node.tag == _T + "merge"):
            self._refuse_tag(node, loc, line)
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, loc, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, loc + (i,), depth + 1) for i, item in enumerate(node.value)]
        return self._scalar(node, loc, line)

    def _refuse_tag(self, node: yaml.Node, loc: Loc, line: int) -> None:
        tag = str(node.tag).replace(_T, "!!")
        self.source.reported.add(loc)
        self.source.problems.append(SourceProblem(
            self.source.path, line, f"the tag {tag} is not allowed: only plain values (text, numbers, true/false, "
            "dates, lists, mappings) are read", fix=f"remove {tag.split(':')[0]} (and quote the value if it is text)"))

    def _mapping(self, node: yaml.MappingNode, loc: Loc, depth: int) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if key_node.tag == _T + "merge":
                self.source.problems.append(SourceProblem(self.source.path, line, "merge keys (<<) are not supported",
                                                          fix="write the keys out"))
                continue
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in PLAIN_TAGS:
                self.source.problems.append(SourceProblem(self.source.path, line, "a key must be plain text",
                                                          fix="write the key as text (quote it)"))
                continue
            key = self._scalar(key_node, loc, line, is_key=True)
            if not isinstance(key, (str, int)):
                key = str(key_node.value)
            if key in result:
                self.source.problems.append(
                    SourceProblem(self.source.path, line, f"key {key!r} appears twice", fix="remove or rename one of them"))
            self.source.lines[loc + (key,)] = line
            result[key] = self.build(value_node, loc + (key,), depth + 1)
        return result

    def _scalar(self, node: yaml.Node, loc: Loc, line: int, *, is_key: bool = False) -> Any:
        try:
            value = self.constructor.construct_object(node, deep=True)
        except (ValueError, OverflowError, yaml.YAMLError) as exc:
            text = str(node.value)
            if is_key:
                return text
            self.source.reported.add(loc)
            if node.tag == _T + "timestamp":
                message = f"{text} looks like a date but is not a real one ({exc})"
                fix = f'write a real date as YYYY-MM-DD, or put it in quotes if it is text: "{text}"'
            else:
                message = f"{text[:60]!r} cannot be read as a value ({exc})"
                fix = f'put it in quotes if it is text: "{text[:60]}"'
            self.source.problems.append(SourceProblem(self.source.path, line, message, fix=fix))
            return text
        if not is_key and not isinstance(value, str) and value is not None:
            self.source.raw[loc] = str(node.value)
        return value
