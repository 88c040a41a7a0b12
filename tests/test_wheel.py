"""The built wheel carries the lessons: a fresh virtual environment gets a working course."""

from __future__ import annotations

import json
import site
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest
from conftest import REPO


@pytest.mark.slow
def test_wheel_installed_in_a_fresh_venv_lists_the_lessons(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist),
                            str(REPO)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    [wheel] = list(dist.glob("learnbackend-*.whl"))
    # A fresh venv that sees nothing installed outside it: no system site-packages (from inside .venv those
    # would be the *base* interpreter's, not .venv's). The dependencies come from this interpreter's own
    # site-packages through a plain .pth line (no network), which does not run the .pth files there, so the
    # editable install of the source tree stays invisible: learnbackend comes only from the wheel.
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(env_dir)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"], *site.getsitepackages()}
    (Path(purelib) / "zz-test-dependencies.pth").write_text("".join(f"{p}\n" for p in sorted(ours)))
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)],
                   check=True, capture_output=True, text=True, timeout=300)
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    where = subprocess.run([str(python), "-c", "import learnbackend; print(learnbackend.__file__)"], cwd=workdir,
                           check=True, capture_output=True, text=True).stdout.strip()
    assert where.startswith(str(env_dir)), where
    listed = subprocess.run([str(env_dir / "bin" / "learnbackend"), "lessons", "list", "--json"], cwd=workdir,
                            capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    lessons = json.loads(listed.stdout)
    assert {"roadmap-fundamentals", "roadmap-devops"} <= {lesson["id"] for lesson in lessons}
    assert all("/_lessons/" in lesson["path"] for lesson in lessons)
    valid = subprocess.run([str(env_dir / "bin" / "learnbackend"), "lessons", "validate", str(Path(where).parent / "_lessons")],
                           cwd=workdir, capture_output=True, text=True, timeout=120)
    assert valid.returncode == 0, valid.stderr
    # The counter lab's reference text ships with the lessons (docs/ is not in the wheel).
    design = subprocess.run([str(env_dir / "bin" / "learnbackend"), "counter", "learn", "--design"], cwd=workdir,
                            capture_output=True, text=True, timeout=120)
    assert design.returncode == 0 and "lab's addition" in design.stdout and "/_lessons/" in design.stdout, design.stderr
