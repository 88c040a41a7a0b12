"""The private filesystem view of a sandboxed run: which host paths it sees, read-only or writable.

Planned here in the checker (pure data), built by the run's init inside its own mount
namespace (:mod:`learnbackend.sandbox.isolation`). Every path keeps its host name, so
paths in messages and arguments mean the same inside and out. The view holds:

* read-only: the system (``/usr``, ``/bin``, ``/sbin``, ``/lib*``, ``/etc``), the checker's
  Python (its prefixes: standard library, venv), the program itself and the interpreter of its
  ``#!`` line, and the caller's ``readable`` paths;
* read-write: the run directory and the run's private temporary directory (``$TMPDIR``);
* fresh: ``/tmp`` (a small tmpfs), ``/proc`` (of the run's own PID namespace) and a ``/dev``
  with only ``null``, ``zero``, ``full``, ``random``, ``urandom``.

Nothing else exists: not ``$HOME``, ``/root``, other workspaces, ``/run`` and its sockets,
``/sys`` (and so no cgroup files), nor the host's ``/proc``.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
DEVICE_LINKS = (("/dev/fd", "/proc/self/fd"), ("/dev/stdin", "/proc/self/fd/0"), ("/dev/stdout", "/proc/self/fd/1"),
                ("/dev/stderr", "/proc/self/fd/2"), ("/dev/shm", "/tmp"))
#: Never bound, whatever a caller asks: the host's kernel interfaces and its root as a whole.
_REFUSED = ("/proc", "/sys", "/dev", "/run")


@dataclass(frozen=True)
class Bind:
    """One host path shown at the same path in the run's root."""

    path: str
    writable: bool = False
    is_dir: bool = True
    device: bool = False


@dataclass(frozen=True)
class View:
    """Everything init needs to build the run's root; ``root`` is the (empty) directory it is built on."""

    root: str
    cwd: str
    tmp_mb: int
    binds: tuple[Bind, ...]
    symlinks: tuple[tuple[str, str], ...]

    def shows(self, path: str) -> bool:
        """Whether ``path`` (a real path) lies in a bound path."""
        return any(path == b.path or path.startswith(b.path.rstrip("/") + "/") for b in self.binds)


@lru_cache(maxsize=1)
def python_prefixes() -> tuple[str, ...]:
    """The checker's interpreter: its prefixes hold the standard library and the venv's packages."""
    return tuple(sorted({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix,
                                                       sys.base_exec_prefix)}))


@lru_cache(maxsize=1)
def _system() -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """(symlinks, directories) of the system paths on this machine (``/bin`` is a link on merged-/usr systems)."""
    links = tuple((path, os.readlink(path)) for path in SYSTEM_PATHS if os.path.islink(path))
    dirs = tuple(path for path in SYSTEM_PATHS if not os.path.islink(path) and os.path.isdir(path))
    return links, dirs


def _under(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def plan(*, root: Path, cwd: Path, private_tmp: Path, tmp_mb: int, readable: list[Path] | None) -> View:
    """The view of a run in ``cwd``; ``readable``: the program, its interpreter, what the caller adds."""
    links, dirs = _system()
    symlinks = [*DEVICE_LINKS, *links]
    read_only = [(path, True) for path in dirs]
    extra = [*python_prefixes(), *(str(p) for p in readable or [])]
    for raw in extra:
        real = os.path.realpath(raw)
        if real == "/" or any(_under(real, refused) for refused in _REFUSED) or not os.path.exists(real):
            continue
        read_only.append((real, os.path.isdir(real)))
    writable = [os.path.realpath(cwd), os.path.realpath(private_tmp)]
    binds: list[Bind] = []
    for path, is_dir in sorted(set(read_only), key=lambda item: (item[0].count("/"), item[0])):
        if path in writable or any(_under(path, b.path) for b in binds):
            continue  # already visible through a parent (or writable)
        binds.append(Bind(path, writable=False, is_dir=is_dir))
    binds += [Bind(path, writable=True) for path in writable]
    binds += [Bind(dev, writable=True, is_dir=False, device=True) for dev in DEVICES if os.path.exists(dev)]
    # Parents before children: a writable run directory inside a read-only path is mounted over it.
    ordered = sorted(binds, key=lambda b: b.path.count("/"))
    return View(root=str(root), cwd=os.path.realpath(cwd), tmp_mb=tmp_mb, binds=tuple(ordered),
                symlinks=tuple(symlinks))
