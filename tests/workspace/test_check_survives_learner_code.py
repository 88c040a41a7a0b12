"""`check` with learner code that misbehaves: each exercise fails with a clear message, the checker survives.

The handler here is a minimal code-exercise handler: it runs the learner's ``answer.txt``
as a Python program in the sandbox (learnbackend.sandbox) and passes when it prints ``ok``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli  # type: ignore[import-not-found]

from learnbackend.course import handlers
from learnbackend.course.results import ConditionResult, ExerciseResult, from_conditions
from learnbackend.sandbox import run_sandboxed
from learnbackend.sandbox.verdict import limit_result, limits_condition
from learnbackend.workspace.manifest import load_manifest


class PythonAnswerHandler:
    def materialize(self, entry: Any, exercise: Any, dest: Path) -> list[Path]:
        path = dest / "answer.txt"
        path.write_text("print('TODO')\n")
        return [path]

    def check(self, entry: Any, exercise: Any, workdir: Path, *, timeout: float) -> ExerciseResult:
        qid = f"{entry.lesson.id}/{exercise.id}"
        result = run_sandboxed([sys.executable, "answer.txt"], cwd=workdir, timeout=timeout, memory_mb=256, max_procs=32,
                               max_file_mb=20)
        stopped = limit_result(qid, result)
        if stopped is not None:
            return stopped
        printed = ConditionResult("prints-ok", result.stdout.strip() == "ok", "the program prints ok", "ok", result.stdout.strip())
        return from_conditions(qid, [limits_condition(result), printed], duration_s=result.duration_s)


HANDLER = PythonAnswerHandler()

PROGRAMS = {
    "loop": "while True:\n    pass\n",
    "fork": "import os, time\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        time.sleep(0.01)\n",
    "disk": "f = open('big.bin', 'wb')\nwhile True:\n    f.write(b'x' * 1024 * 1024)\n",
    "network": "import urllib.request\nurllib.request.urlopen('http://192.0.2.1/', timeout=3)\nprint('ok')\n",
    "memory": "data = bytearray(1024 * 1024 * 1024)\nprint('ok')\n",
    "good": "print('ok')\n",
}
EXPECTED = {"loop": "timeout", "fork": "process limit", "disk": "disk limit", "network": "network blocked",
            "memory": "memory limit"}


def test_misbehaving_solutions_fail_their_exercise_and_the_rest_is_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(handlers.HANDLERS, "single", "test_check_survives_learner_code:HANDLER")
    root = tmp_path / "ws"
    assert run_cli("init", str(root), "--lesson", "roadmap-fundamentals").exit_code == 0
    text_items = [e for e in load_manifest(root).exercises if e.kind == "single"]
    assert len(text_items) >= len(PROGRAMS)
    assigned = dict(zip(PROGRAMS, text_items))
    for name, spec in assigned.items():
        (root / spec.path / "answer.txt").write_text(PROGRAMS[name])
    # --timeout 5: the endless loop is stopped (its "timeout" reason proves it) while "good" has room to run
    result = run_cli("check", str(root), "--format", "json", "--timeout", "5")
    assert result.exit_code == 1
    by_id = {r["id"]: r for r in result.json["results"]}
    assert len(by_id) == len(load_manifest(root).exercises)  # every exercise was checked
    for name, reason in EXPECTED.items():
        entry = by_id[assigned[name].id]
        assert entry["status"] == "failed", (name, entry)
        assert entry["message"].startswith("Stopped by the sandbox: ") and reason in entry["message"], (name, entry["message"])
        assert entry["failed_conditions"][0]["id"] == "within-limits"
    assert by_id[assigned["good"].id]["status"] == "passed"
    assert not (root / assigned["disk"].path / "big.bin").stat().st_size > 20 * 1024 * 1024
