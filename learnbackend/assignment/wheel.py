"""The wheel of the running learnbackend, to ship inside a starter repository.

A fresh CI runner cannot ``pip install learnbackend`` (the name is not on the package
index, and anyone could register it). The starter repository carries the wheel of this
exact version instead: given by the instructor, built from the source tree this
learnbackend runs from, or re-packed from the installed distribution's own files.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from learnbackend import __version__
from learnbackend.errors import EnvironmentMissing, UsageError

#: Wheels built in this process, by source fingerprint: (file name, bytes). Nothing is left in /tmp.
_BUILT: dict[str, tuple[str, bytes]] = {}


def wheel_name() -> str:
    return f"learnbackend-{__version__}-py3-none-any.whl"


def _source_tree() -> Path | None:
    """The project directory when learnbackend runs from a source checkout (editable or not installed)."""
    root = Path(__file__).resolve().parent.parent.parent
    pyproject = root / "pyproject.toml"
    try:
        text = pyproject.read_text(encoding="utf-8")
    except OSError:
        return None
    return root if 'name = "learnbackend"' in text and (root / "lessons").is_dir() else None


def _build_from_source(root: Path, dest: Path) -> Path:
    fingerprint = max((p.stat().st_mtime_ns for p in [*root.glob("learnbackend/**/*"), *root.glob("lessons/**/*")] if p.is_file() and "__pycache__" not in p.parts), default=0)
    key = f"{root}:{fingerprint}"
    if key not in _BUILT:
        out = Path(tempfile.mkdtemp(prefix="learnbackend-wheel-"))
        try:
            try:
                import hatchling  # noqa: F401  - the build backend is here: build offline

                isolation = ["--no-build-isolation"]
            except ImportError:
                isolation = []
            done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-q", "-w", str(out), str(root)],
                                  capture_output=True, text=True, timeout=600, check=False)
            built = sorted(out.glob("learnbackend-*.whl"))
            if done.returncode != 0 or not built:
                raise EnvironmentMissing(f"Could not build the learnbackend wheel from {root}: {(done.stderr or done.stdout).strip()[-400:]}",
                                         fix="Pass the wheel with --wheel FILE, or a pip spec with --pip-spec.")
            _BUILT[key] = (built[0].name, built[0].read_bytes())
        finally:
            shutil.rmtree(out, ignore_errors=True)
    name, data = _BUILT[key]
    target = dest / name
    target.write_bytes(data)
    return target


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _repack_installed(dest: Path) -> Path:
    """A wheel made of the installed distribution's files (its RECORD lists them all)."""
    dist = importlib.metadata.distribution("learnbackend")
    files = [f for f in dist.files or [] if not str(f).startswith("..")]
    if not any(str(f) == "learnbackend/__init__.py" for f in files):
        raise EnvironmentMissing("This learnbackend is neither a source checkout nor installed from a wheel.",
                                 fix="Pass the wheel with --wheel FILE, or a pip spec with --pip-spec.")
    info = next(f.parts[0] for f in files if f.parts[0].endswith(".dist-info"))
    target = dest / wheel_name()
    record: list[str] = []
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in files:
            parts = item.parts
            if "__pycache__" in parts or item.suffix == ".pyc":
                continue
            if parts[0] == info and parts[-1] in ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json"):
                continue
            data = Path(str(item.locate())).read_bytes()
            archive.writestr(str(item), data)
            record.append(f"{item},{_record_hash(data)},{len(data)}")
        record.append(f"{info}/RECORD,,")
        archive.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return target


def ship_wheel(dest: Path, *, given: Path | None = None) -> Path:
    """Put the wheel of this learnbackend version into ``dest``; returns its path there."""
    dest.mkdir(parents=True, exist_ok=True)
    if given is not None:
        if not given.is_file() or not given.name.startswith(f"learnbackend-{__version__}-") or given.suffix != ".whl":
            raise UsageError(f"{given} is not a wheel of learnbackend {__version__}.",
                             fix=f"Pass a file named learnbackend-{__version__}-*.whl (the version running now).")
        target = dest / given.name
        shutil.copyfile(given, target)
        return target
    root = _source_tree()
    return _build_from_source(root, dest) if root is not None else _repack_installed(dest)
