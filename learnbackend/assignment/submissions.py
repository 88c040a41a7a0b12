"""Learner submissions as hostile input: who submitted what, answer files read without following links.

A submission is a learner's repository or directory. Only the answer files each exercise
declares are read, each opened component by component with ``O_NOFOLLOW`` (a symlink
anywhere on the way is refused), as a regular file, up to a size limit. Git metadata is
read with hooks, fsmonitor and the repository's pager disabled.
"""

from __future__ import annotations

import csv
import hashlib
import os
import stat
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any

from learnbackend.assignment.gradebook import clean
from learnbackend.errors import ContentError, NotFoundError, UsageError

MAX_ANSWER_BYTES = 256 * 1024
ROSTER_MAX_BYTES = 1024 * 1024
#: Answer files of the kinds whose exercises do not name their file (``file``) themselves.
ANSWER_FILES = {"single": ["answer.txt"], "multiple": ["answer.txt"], "order": ["answer.txt"], "text": ["answer.txt"],
                "git-level": ["solution.txt"]}
_GIT_SAFE = ["-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null", "-c", "core.pager=cat", "-c", "safe.directory=*"]


@dataclass(frozen=True)
class Submission:
    student: str
    path: Path


def answer_files(exercise: Any) -> list[str]:
    """The files of an exercise that hold the learner's answer (nothing else is copied from a submission)."""
    declared = getattr(exercise, "answer_files", None)
    if callable(declared):
        return list(declared())
    if exercise.kind in ANSWER_FILES:
        return ANSWER_FILES[exercise.kind]
    file = getattr(exercise, "file", None)
    return [file] if isinstance(file, str) else []


def read_answer(root: Path, relative: str, *, limit: int = MAX_ANSWER_BYTES) -> tuple[bytes | None, float | None, str]:
    """(content, mtime, problem) of ``root/relative``: no symlink on the way, a regular file, at most ``limit`` bytes."""
    parts = PurePosixPath(relative).parts
    if not parts or any(p in ("..", "/", "") for p in parts) or PurePosixPath(relative).is_absolute():
        return None, None, f"{relative}: not a path inside the submission"
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fds: list[int] = []
    try:
        fds.append(os.open(root, os.O_RDONLY | os.O_DIRECTORY))
        for part in parts[:-1]:
            fds.append(os.open(part, flags | os.O_DIRECTORY, dir_fd=fds[-1]))
        fd = os.open(parts[-1], flags | os.O_NONBLOCK, dir_fd=fds[-1])
        fds.append(fd)
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None, None, f"{relative}: not a regular file"
        if info.st_size > limit:
            return None, None, f"{relative}: {info.st_size} bytes, more than the {limit} allowed"
        data = os.read(fd, limit + 1)
        if len(data) > limit:
            return None, None, f"{relative}: more than the {limit} bytes allowed"
        return data, info.st_mtime, ""
    except FileNotFoundError:
        return None, None, f"{relative}: missing"
    except OSError as exc:  # ELOOP: a symlink; ENOTDIR: a file where a directory should be
        return None, None, f"{relative}: refused ({'a symbolic link' if exc.errno == 40 else exc.strerror})"
    finally:
        for fd in reversed(fds):
            os.close(fd)


def _git(path: Path, *args: str) -> str | None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0",
           "HOME": os.environ.get("HOME", "/"), "LANG": "C"}
    try:
        done = subprocess.run(["git", *_GIT_SAFE, "-C", str(path), *args], capture_output=True, text=True, timeout=60,
                              env=env, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def git_head(path: Path) -> tuple[str | None, datetime | None]:
    """The HEAD commit and its commit time, when ``path`` is the top of a git repository."""
    if not (path / ".git").exists():
        return None, None
    out = _git(path, "log", "-1", "--format=%H %ct")
    if not out or len(out.split()) != 2:
        return None, None
    commit, stamp = out.split()
    return commit[:64], datetime.fromtimestamp(int(stamp), timezone.utc)


def git_attempts(path: Path, directories: list[str]) -> dict[str, int]:
    """Per exercise directory, how many commits after the starter changed it."""
    if not (path / ".git").exists():
        return {}
    out = _git(path, "log", "--format=@%H %P", "--name-only", "--no-renames", "HEAD")
    if out is None:
        return {}
    counts = {d: 0 for d in directories}
    root_commit = False
    for line in out.splitlines():
        if line.startswith("@"):
            root_commit = len(line.split()) == 1  # no parents: the handed-out starter
            continue
        if root_commit or not line:
            continue
        for d in directories:
            if line.startswith(d + "/"):
                counts[d] += 1
    return counts


def shard_of(student: str, shards: int) -> int:
    """The shard (0-based) of a learner: a stable hash of the name, the same on every machine."""
    return int(hashlib.sha256(student.encode("utf-8")).hexdigest(), 16) % shards


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``I/N`` (1-based) → (I-1, N); UsageError otherwise."""
    if not text:
        return None
    index, _, total = text.partition("/")
    if not (index.isdigit() and total.isdigit() and 1 <= int(index) <= int(total) <= 1000):
        raise UsageError(f"--shard {text!r} is not I/N with 1 <= I <= N.", fix="For example --shard 1/4 … --shard 4/4.")
    return int(index) - 1, int(total)


def read_roster(path: Path) -> list[str]:
    """Learner names from a class list CSV: the ``student`` column, else the first column."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(ROSTER_MAX_BYTES + 1)
    except OSError as exc:
        raise NotFoundError(f"Cannot read the class list {path}: {exc.strerror}.", fix="Check the path.") from None
    if len(raw) > ROSTER_MAX_BYTES:
        raise ContentError(f"{path}: the class list is larger than 1 MiB.", fix="Pass a CSV with one learner per row.")
    try:
        rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ContentError(f"{path}: is not a UTF-8 CSV ({exc}).", fix="Save the class list as CSV (UTF-8).") from None
    if not rows:
        return []
    header = [h.strip().casefold() for h in rows[0]]
    column = header.index("student") if "student" in header else 0
    body = rows[1:] if "student" in header or "name" in header else rows
    names = [clean(r[column].strip(), limit=200, single_line=True) for r in body if len(r) > column and r[column].strip()]
    return list(dict.fromkeys(names))


def collect(paths: list[Path], roster: list[str] | None) -> tuple[list[Submission], list[str], list[str]]:
    """(submissions, names on the class list without one, warnings). A submission's name is its directory's name."""
    submissions: list[Submission] = []
    warnings: list[str] = []
    seen: set[str] = set()
    for path in paths:
        if not path.is_dir():
            raise NotFoundError(f"{path} is not a directory.", fix="Pass each learner's repository (or directory).")
        student = clean(path.resolve().name, limit=200, single_line=True)
        if student in seen:
            raise UsageError(f"Two submissions are named {student!r}.", fix="Give each learner's directory a unique name.")
        seen.add(student)
        submissions.append(Submission(student, path.resolve()))
    missing: list[str] = []
    if roster is not None:
        listed = set(roster)
        missing = [name for name in roster if name not in seen]
        warnings += [f"{s.student} is not on the class list (graded anyway)." for s in submissions if s.student not in listed]
    return submissions, missing, warnings
