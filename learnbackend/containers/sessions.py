"""Records of the lab sessions running now (this user's), so that ``clean`` keeps what they need.

A session writes ``session-PID.START`` into the private state directory with the
image tag it uses, and removes it when it ends; a record whose process is gone
is stale and deleted by the next reader.
"""

from __future__ import annotations

import os
from pathlib import Path

from learnbackend.containers.state import state_dir
from learnbackend.liveness import identity, identity_alive

PREFIX = "session-"


def _path() -> Path:
    return state_dir() / f"{PREFIX}{identity()}"


def record(image: str) -> None:
    """This process needs ``image`` (one line per image)."""
    path = _path()
    known = set(path.read_text().split()) if path.exists() else set()
    if image not in known:
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text("\n".join(sorted(known | {image})) + "\n")
        os.replace(tmp, path)


def forget() -> None:
    """This process's session ended."""
    try:
        _path().unlink(missing_ok=True)
    except OSError:
        pass


def images_in_use() -> set[str]:
    """The image tags that live lab sessions of this user need; stale records are removed."""
    try:
        base = state_dir()
    except Exception:  # noqa: BLE001 - a refused state dir: no records of ours
        return set()
    tags: set[str] = set()
    for path in base.glob(f"{PREFIX}*"):
        owner = path.name[len(PREFIX):]
        if identity_alive(owner):
            try:
                tags.update(path.read_text().split())
            except OSError:
                continue
        else:
            path.unlink(missing_ok=True)
    return tags
