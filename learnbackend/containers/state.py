"""The lab's private run-state directory: one per user, 0700, checked before every use.

It holds what a later command needs to clean up after a crashed one: the work
directory of every VM boot (its initramfs and the QEMU record) and a record of
every live lab session (which image it needs). Nothing in it is shared between
users, and a directory at that path that belongs to someone else is refused,
never used: a record another user could write would tell our cleanup what to
kill and delete.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from learnbackend.errors import EnvironmentMissing

STATE_ENV = "LEARNBACKEND_RUN_DIR"


def _default_base() -> Path:
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        try:
            info = os.lstat(runtime)
            if stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and not info.st_mode & 0o077:
                return Path(runtime)
        except OSError:
            pass
    return Path(tempfile.gettempdir())


def state_dir() -> Path:
    """This user's private state directory (created 0700); raises :class:`EnvironmentMissing` if it is not ours."""
    explicit = os.environ.get(STATE_ENV)
    path = Path(explicit) if explicit else _default_base() / f"learnbackend-{os.geteuid()}"
    return ensure_private(path)


def ensure_private(path: Path) -> Path:
    """Create ``path`` 0700, or accept it only if it is a real directory owned by us (then made 0700)."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise EnvironmentMissing(f"Cannot create the lab's state directory {path}: {exc.strerror}.",
                                 fix=f"Set {STATE_ENV} to a directory of yours.") from None
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode):
        raise EnvironmentMissing(f"{path} is not a directory (a symlink or a file is there); the lab refuses to use it.",
                                 fix=f"Remove it, or set {STATE_ENV} to a private directory of yours.")
    if info.st_uid != os.geteuid():
        raise EnvironmentMissing(
            f"{path} belongs to uid {info.st_uid}, not to you (uid {os.geteuid()}): the lab refuses to keep its "
            "records where someone else can change them.",
            fix=f"Have its owner (or root) remove it, or set {STATE_ENV} to a private directory of yours.")
    if info.st_mode & 0o077:
        os.chmod(path, 0o700)
    return path
