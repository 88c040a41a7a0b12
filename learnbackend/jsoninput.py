"""JSON from files we do not control (learners' check reports): bounded size and nesting depth.

``json.loads`` of 100 000 nested brackets raises RecursionError and a deep enough
structure can exhaust the stack of whoever walks it later; a huge file exhausts memory.
:func:`read_json` refuses both with a :class:`JsonInputError` (a ValueError) that says why.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: Largest JSON file read (a check report of a big assignment is well under 1 MiB).
MAX_BYTES = 16 * 1024 * 1024
#: Deepest nesting of arrays and objects accepted.
MAX_DEPTH = 64


class JsonInputError(ValueError):
    """The JSON is too big, too deep, or not JSON; the message says which."""


def loads(text: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON, refusing nesting deeper than ``max_depth``."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise JsonInputError(f"is nested too deeply (more than {max_depth} levels)") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise JsonInputError(f"is not JSON ({exc})") from None
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > max_depth:
                raise JsonInputError(f"is nested too deeply (more than {max_depth} levels)")
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return data


def read_json(path: Path, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON in ``path``: OSError when unreadable, JsonInputError when too big, too deep or not JSON."""
    with open(path, "rb") as handle:
        raw = handle.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise JsonInputError(f"is larger than {max_bytes // (1024 * 1024)} MiB")
    return loads(raw, max_depth=max_depth)
