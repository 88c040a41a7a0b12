"""Lending the run directory to the sandbox's dedicated uid for one run, and taking it back.

When the checker is root, learner code runs as a dedicated unprivileged uid, which must be
able to write its run directory. The directory tree is handed to that uid before the run
and every entry is given back to its owner afterwards (entries the program created go to
the directory's owner), so nothing is left owned by a uid nobody has. Symbolic links are
never followed; a file with several hard links is not lent (it may be linked from outside
the directory), nor is an entry its owner may not write: a read-only file or directory
stays read-only to the program.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

Owners = dict[str, tuple[int, int]]


def _walk(root: str) -> list[tuple[str, os.stat_result]]:
    found: list[tuple[str, os.stat_result]] = []
    stack = [root]
    while stack:
        current = stack.pop()
        try:
            with os.scandir(current) as entries:
                for entry in entries:
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    found.append((entry.path, st))
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
        except OSError:
            continue
    return found


def lend(root: Path, uid: int) -> Owners:
    """Give ``root`` and everything in it to ``uid``; return who owned what."""
    top = str(root)
    owners: Owners = {}
    for path, st in [(top, os.lstat(top)), *_walk(top)]:
        owners[path] = (st.st_uid, st.st_gid)
        if stat.S_ISLNK(st.st_mode):
            continue
        if not st.st_mode & stat.S_IWUSR or (stat.S_ISREG(st.st_mode) and st.st_nlink > 1):
            continue
        try:
            os.chown(path, uid, uid, follow_symlinks=False)
        except OSError:
            continue
    return owners


def give_back(root: Path, owners: Owners) -> None:
    """Every entry back to its owner; what the run created to the directory's owner."""
    top = str(root)
    default = owners.get(top, (0, 0))
    try:
        entries = [(top, os.lstat(top)), *_walk(top)]
    except OSError:
        return
    for path, st in entries:
        uid, gid = owners.get(path, default)
        if (st.st_uid, st.st_gid) != (uid, gid):
            try:
                os.chown(path, uid, gid, follow_symlinks=False)
            except OSError:
                continue
