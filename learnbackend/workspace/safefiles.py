"""Reading learner files safely: regular files inside a trusted directory, never through a symlink, size-capped.

A workspace (or a replay sandbox) belongs to the learner, and when a grade is at
stake its files are hostile input. Every read of a learner file goes through here:

- the path is relative to a trusted ``base`` directory and has no ``..``, no absolute
  part and no empty segment;
- every component is opened with ``O_NOFOLLOW`` relative to the one before it
  (``openat``), so a symlink anywhere on the way (``answer.txt -> ~/.ssh/id_rsa``,
  ``exercises -> /home/me``) is refused rather than followed, with no race between a
  check and the open;
- the file must be a regular file (a FIFO would block, ``/dev/zero`` would never end;
  the open itself does not block: ``O_NONBLOCK``), and no more than ``max_bytes`` are read.

A refusal is an :class:`UnsafeFile` (exit 2 from a command; an ``error`` result for one
exercise in ``check``) whose message names the path, never the content it points to.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from learnbackend.errors import RefusedError

#: Default cap for a learner's text file (answers, solutions, code, specs).
MAX_BYTES = 1024 * 1024

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


class UnsafeFile(RefusedError):
    """A learner file that learnbackend will not read: a symlink, not a regular file, too big, outside."""


def relative_parts(relative: str | Path, *, what: str = "path") -> list[str]:
    """The segments of a relative path inside a directory; refuses absolute paths, ``..`` and empty segments."""
    text = str(relative)
    if not text or "\0" in text or "\\" in text:
        raise UnsafeFile(f"{what} {text!r} is not a plain relative path.", fix="Use a path like exercises/01-name.")
    pure = PurePosixPath(text)
    if pure.is_absolute():
        raise UnsafeFile(f"{what} {text!r} is absolute; learnbackend only reads inside the workspace.",
                         fix="Use a path relative to the workspace.")
    parts = list(pure.parts)
    if not parts or any(p in ("..", ".") for p in text.split("/")) or "" in text.rstrip("/").split("/"):
        raise UnsafeFile(f"{what} {text!r} leaves its directory or is not a plain path (no '..', no '.', no '//').",
                         fix="Use a path relative to the workspace, without '..'.")
    return parts


def _refusal(path: str, err: OSError, *, directory: bool) -> UnsafeFile | OSError:
    import errno

    if err.errno == errno.ELOOP or (directory and err.errno == errno.ENOTDIR):
        return UnsafeFile(f"{path} is a symbolic link or not a {'directory' if directory else 'regular file'}; "
                          "learnbackend does not follow links in a workspace.",
                          fix=f"Replace {path} with a real {'directory' if directory else 'file'}.")
    return err


@contextmanager
def _walk(base: Path, parts: list[str]) -> Iterator[int]:
    """An fd of the directory ``base/parts...``, every component opened without following links."""
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    try:
        done: list[str] = []
        for part in parts:
            done.append(part)
            try:
                nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                raise _refusal("/".join(done), exc, directory=True) from None
            os.close(fd)
            fd = nxt
        yield fd
    finally:
        os.close(fd)


def check_dir(base: Path, relative: str | Path) -> Path:
    """``base/relative`` if it is a real directory reached without any symlink; else UnsafeFile or OSError.

    A missing directory raises FileNotFoundError (callers say "missing" in their words).
    """
    parts = relative_parts(relative)
    with _walk(base, parts):
        pass
    return base.joinpath(*parts)


def read_bytes(base: Path, relative: str | Path, *, max_bytes: int = MAX_BYTES) -> bytes:
    """The bytes of the regular file ``base/relative``, refusing links, special files and big files.

    A missing file raises FileNotFoundError (an OSError), so callers' "missing" messages still apply.
    """
    parts = relative_parts(relative)
    name = "/".join(parts)
    with _walk(base, parts[:-1]) as dir_fd:
        try:
            fd = os.open(parts[-1], _FILE_FLAGS, dir_fd=dir_fd)
        except OSError as exc:
            raise _refusal(name, exc, directory=False) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeFile(f"{name} is not a regular file; learnbackend reads only regular files.",
                             fix=f"Replace {name} with a plain file.")
        if info.st_size > max_bytes:
            raise UnsafeFile(f"{name} is larger than {_size(max_bytes)}; learnbackend does not read it.",
                             fix=f"Keep {name} under {_size(max_bytes)}.")
        chunks: list[bytes] = []
        left = max_bytes + 1
        while left > 0:
            chunk = os.read(fd, min(left, 65536))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) > max_bytes:  # it grew while we read
            raise UnsafeFile(f"{name} is larger than {_size(max_bytes)}; learnbackend does not read it.",
                             fix=f"Keep {name} under {_size(max_bytes)}.")
        return data
    finally:
        os.close(fd)


def read_text(base: Path, relative: str | Path, *, max_bytes: int = MAX_BYTES) -> str:
    """:func:`read_bytes` decoded as UTF-8; a NUL byte or invalid UTF-8 is an UnsafeFile with the line."""
    data = read_bytes(base, relative, max_bytes=max_bytes)
    name = "/".join(relative_parts(relative))
    if b"\0" in data:
        line = data[: data.index(b"\0")].count(b"\n") + 1
        raise UnsafeFile(f"{name}: line {line} contains a NUL byte; it is not a text file.",
                         fix=f"Save {name} as plain UTF-8 text.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UnsafeFile(f"{name}: line {line} is not UTF-8 text.", fix=f"Save {name} as UTF-8.") from None


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB" if n >= 1024 * 1024 else f"{n // 1024} KiB"
