"""The class report opens in a real headless browser: the numbers, who is missing, learner names as text.

The page is self-contained (no scripts, no external resources, a CSP that forbids loading
anything), so the browser runs with networking disabled and a throwaway profile.
"""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

from classroom import learner, write_assignment  # type: ignore[import-not-found]
from conftest import need, run_cli  # type: ignore[import-not-found]

HOSTILE = "<img src=x onerror=alert(1)>"


class Dom(HTMLParser):
    """Elements and text of the DOM the browser dumped."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []
        self._where: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend(attrs)
        self._where.append(dict(attrs).get("id"))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def browse(page: Path, tmp_path: Path) -> tuple[str, Path]:
    """(the DOM after the browser parsed ``page``, a screenshot of it)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    need(chromium is not None, "chromium is not installed (.ci/setup-browser.sh installs it)")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([str(chromium), *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120, check=False)
    assert dom.returncode == 0, dom.stderr[-2000:]
    shot = tmp_path / "report.png"
    done = subprocess.run([str(chromium), *flags, f"--screenshot={shot}", "--window-size=1200,1600", page.as_uri()],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    return dom.stdout, shot


def test_the_html_class_report_in_a_headless_browser(tmp_path: Path) -> None:
    assignment = write_assignment(tmp_path / "instructor")
    subs = [learner(assignment, tmp_path / "class" / "ada", right=True),
            learner(assignment, tmp_path / "class" / "bo", right=["1", "5"]),
            learner(assignment, tmp_path / "class" / "cy", right=False)]
    roster = tmp_path / "class.csv"
    roster.write_text(f'student\nada\nbo\ncy\ndee\n"{HOSTILE}"\n')
    out = tmp_path / "out"
    result = run_cli("assignment", "regrade", str(assignment), *map(str, subs), "--roster", str(roster), "--output", str(out))
    assert result.exit_code == 0, result.stderr
    page = out / "report.html"
    source = page.read_text()
    assert "http://" not in source and "https://" not in source and "<script" not in source
    dom, shot = browse(page, tmp_path)
    parsed = Dom()
    parsed.feed(dom)
    text = " ".join(" ".join(parsed.text).split())
    assert "img" not in parsed.tags and "script" not in parsed.tags
    assert HOSTILE in text  # the hostile name shown as text, not run as markup
    assert "3 submitted, 2 missing; 1 passed (pass mark 60 %)" in text
    assert "dee" in text and "fixture-tiny/pick-one" in text
    counts = [value for name, value in parsed.attrs if name == "data-count"]
    assert counts == ["1", "0", "0", "0", "0", "1", "0", "0", "0", "1"]  # 0 %, 50 %, 100 %
    assert "66.7 %" in text  # pick-one: ada and bo of three
    assert shot.stat().st_size > 5000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
