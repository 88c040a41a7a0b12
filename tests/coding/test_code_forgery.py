"""A wrong solution earns nothing however it tries to forge its verdict; real workers, real sandbox, no mocks.

Each learner file below is a wrong IdempotentCounter (every test fails on its
merits) plus one forging technique that worked against the old in-sandbox pytest
run. The checker must give 0 points to each, and full marks to a correct solution
that prints, writes files and registers exit handlers as noise.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from learnbackend.course.catalog import load_catalog
from learnbackend.course.handlers import handler_for

WRONG = '''
class IdempotentCounter:
    def __init__(self):
        self.counts = {}

    def add(self, counter, delta, token):
        return None

    def get(self, counter):
        return -1
'''

MARKER = '@@LEARNBACKEND-RESULTS@@[' + ','.join(
    f'{{"id": "test_{i}", "outcome": "passed", "message": ""}}' for i in range(6)) + ']'

FORGERIES = {
    # The old results marker, printed at exit and written straight to the original stdout fd.
    "atexit-marker": f"import atexit\natexit.register(lambda: print({MARKER!r}, flush=True))\n" + WRONG,
    "saved-stdout-fd": ("import os\nfor fd in range(0, 64):\n    try:\n        os.write(fd, b'\\n' + "
                        f"{MARKER!r}.encode() + b'\\n')\n    except OSError:\n        pass\n") + WRONG,
    # A forged protocol frame (length-prefixed JSON claiming a value) on every descriptor, at import and per call.
    "forged-frames": '''
import json, os, struct
def _forge():
    for fd in range(0, 64):
        for reply in ({"id": n, "ok": 5} for n in range(1, 8)):
            data = json.dumps(reply).encode()
            try:
                os.write(fd, struct.pack(">I", len(data)) + data)
            except OSError:
                pass
_forge()
class IdempotentCounter:
    def add(self, counter, delta, token):
        _forge()
        return True
    def get(self, counter):
        _forge()
        return 0
''',
    # Patching the test framework (pytest is not even importable in the worker).
    "patched-pytest": '''
try:
    import _pytest.python
    _pytest.python.Function.runtest = lambda self: None
except ImportError:
    pass
''' + WRONG,
    # Patching json so that whatever report is written says "passed".
    "patched-json": '''
import json
_dumps = json.dumps
json.dumps = lambda *a, **k: _dumps({"id": 1, "ok": 5})
json.loads = lambda *a, **k: {"ok": 5}
''' + WRONG,
    # Values that claim to equal anything.
    "eq-always-true": '''
class Anything:
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    __hash__ = object.__hash__
class IdempotentCounter:
    def add(self, counter, delta, token):
        return Anything()
    def get(self, counter):
        return Anything()
''',
    "int-subclass-eq": '''
class Five(int):
    def __eq__(self, other):
        return True
    __hash__ = int.__hash__
class IdempotentCounter:
    def add(self, counter, delta, token):
        return Five(0)
    def get(self, counter):
        return Five(0)
''',
    # Early exits: at import, inside a call, and with exit handlers that print a marker.
    "exit-at-import": "import os\nos._exit(0)\n" + WRONG,
    "sys-exit-at-import": "import sys\nsys.exit(0)\n" + WRONG,
    "exit-in-call": '''
import os, sys
class IdempotentCounter:
    def add(self, counter, delta, token):
        sys.exit(0)
    def get(self, counter):
        os._exit(0)
''',
    # Written result files, in every place a checker might look.
    "result-files": '''
import os, json
for name in ("results.json", "report.json", ".learnbackend-report.json", "junit.xml"):
    try:
        with open(name, "w") as f:
            json.dump({"results": [{"status": "passed"}], "summary": {"points": 100}}, f)
    except OSError:
        pass
''' + WRONG,
    # Exceptions that pretend to be assertions passing (or the checker's own control flow).
    "raise-base-exceptions": '''
class IdempotentCounter:
    def add(self, counter, delta, token):
        raise KeyboardInterrupt
    def get(self, counter):
        raise SystemExit(0)
''',
}


def _exercise():
    entry = next(e for e in load_catalog([]).lessons if e.lesson.id == "counter-build")
    return entry, next(ex for ex in entry.lesson.exercises if ex.id == "idempotent-add")


def _check(tmp_path: Path, source: str):
    entry, exercise = _exercise()
    (tmp_path / exercise.file).write_text(source)
    return handler_for("code").check(entry, exercise, tmp_path, timeout=30)


def test_the_wrong_base_solution_fails_every_test_on_its_merits(tmp_path: Path) -> None:
    result = _check(tmp_path, WRONG)
    assert result.status == "failed" and result.score == 0.0
    assert len(result.conditions) == 6 and not any(c.passed for c in result.conditions)


@pytest.mark.parametrize("technique", sorted(FORGERIES))
def test_a_forging_wrong_solution_earns_nothing(technique: str, tmp_path: Path) -> None:
    result = _check(tmp_path, FORGERIES[technique])
    assert result.status in ("failed", "error"), (technique, result.message)
    assert result.score == 0.0, (technique, [(c.id, c.actual) for c in result.conditions])
    assert not any(c.passed for c in result.conditions)


def test_an_exit_is_reported_as_an_exit(tmp_path: Path) -> None:
    result = _check(tmp_path, FORGERIES["exit-in-call"])
    assert all("exited" in c.actual for c in result.conditions), [c.actual for c in result.conditions]
    imported = _check(tmp_path, FORGERIES["sys-exit-at-import"])
    assert "your code exited while it was imported (sys.exit(0))" in imported.message
    hard = _check(tmp_path, FORGERIES["exit-at-import"])
    assert "your code exited while it was imported (exit code 0)" in hard.message


def test_a_correct_solution_with_noise_gets_full_marks(tmp_path: Path) -> None:
    entry, exercise = _exercise()
    solution = (entry.directory / exercise.solution).read_text().replace("from __future__ import annotations", "")
    noisy = ("import atexit, os, sys\nprint('@@LEARNBACKEND-RESULTS@@[]')\nsys.stderr.write('noise\\n')\n"
             "atexit.register(lambda: print('bye'))\nopen('scratch.txt', 'w').write('x')\n") + solution.replace(
        "        key = (counter, token)", "        print('\\x00\\x00\\x00\\x05hello', flush=True)\n        key = (counter, token)")
    result = _check(tmp_path, noisy)
    assert result.status == "passed", result.message
    assert result.score == 1.0 and len(result.conditions) == 6


def test_the_worker_holds_only_the_learners_file(tmp_path: Path) -> None:
    """The reference solution and the tests are not in the worker's directory (the learner sees only its own file)."""
    listing = '''
import os
SEEN = sorted(os.listdir("."))
class IdempotentCounter:
    def add(self, counter, delta, token):
        return SEEN
    def get(self, counter):
        return 0
'''
    entry, exercise = _exercise()
    (tmp_path / exercise.file).write_text(listing)
    from learnbackend.coding.handler import run_source

    _, run = run_source(entry, exercise, listing.encode(), timeout=30)
    first = run.outcomes[0]
    assert not first.passed and f"[{exercise.file!r}] is not True" in first.message, first.message


def test_a_symlinked_learner_file_is_refused(tmp_path: Path) -> None:
    entry, exercise = _exercise()
    secret = tmp_path / "secret.py"
    secret.write_text((entry.directory / exercise.solution).read_text())
    work = tmp_path / "ws"
    work.mkdir()
    (work / exercise.file).symlink_to(secret)
    result = handler_for("code").check(entry, exercise, work, timeout=30)
    assert result.status == "error" and "symbolic link" in result.message


def test_a_learner_object_crosses_as_a_handle_not_a_value(tmp_path: Path) -> None:
    """Tuples, sets, dicts with tuple keys and nested objects arrive as built-in values or handles."""
    _, exercise = _exercise()
    source = '''
class IdempotentCounter:
    def add(self, counter, delta, token):
        return {(counter, token): {delta, -delta}, "nested": [1.5, None, (True,)]}
    def get(self, counter):
        return self
'''
    import time

    from learnbackend.coding.protocol import RemoteObject
    from learnbackend.coding.remote import learner, using
    from learnbackend.coding.session import WorkerSession

    (tmp_path / exercise.file).write_text(source)
    session = WorkerSession(tmp_path, exercise.file, deadline=time.monotonic() + 20)
    try:
        with using(session):
            c = learner.IdempotentCounter()
            value = c.add("views", 5, "t1")
            assert value == {("views", "t1"): {5, -5}, "nested": [1.5, None, (True,)]}
            assert type(value) is dict and type(value["nested"][2]) is tuple
            same = c.get("views")
            assert isinstance(same, RemoteObject) and same != 0 and same == c.get("likes")
            with pytest.raises(TypeError, match="no truth value"):
                assert same
    finally:
        session.close()


def test_the_bundled_reference_solution_is_out_of_reach(tmp_path: Path) -> None:
    """`exec` of the lesson's solution.py: the worker's filesystem view does not hold the lessons."""
    entry, exercise = _exercise()
    solution = (entry.directory / exercise.solution).resolve()
    source = f'''
try:
    exec(open({str(solution)!r}).read())
except OSError:
''' + "\n".join("    " + line for line in WRONG.strip().splitlines()) + "\n"
    result = _check(tmp_path, source)
    assert result.score == 0.0, [(c.id, c.actual) for c in result.conditions]


def test_the_installed_checker_cannot_be_patched(tmp_path: Path) -> None:
    """Appending to learnbackend/workspace/reports.py (imported by the checker later) fails; the file is unchanged."""
    import learnbackend.workspace.reports as reports

    target = Path(reports.__file__).resolve()
    before = target.read_bytes()
    source = f'''
try:
    with open({str(target)!r}, "a") as f:
        f.write("\\n# forged by a learner\\n")
except OSError:
    pass
''' + WRONG
    try:
        result = _check(tmp_path, source)
        assert target.read_bytes() == before
        assert result.score == 0.0
    finally:
        if target.read_bytes() != before:
            target.write_bytes(before)


def test_crafted_values_cannot_stall_or_garble_the_checker(tmp_path: Path) -> None:
    """Colliding dict keys are bounded before hashing; control characters never reach a message."""
    # The worker's own encoder is replaced (learner code may do anything in its process): it sends
    # 50 000 int keys that all hash alike, which would cost the checker minutes to put in a dict.
    source = '''
import gc
def crafted(self, value, depth=0):
    return {"$dict": [[k * (2 ** 61 - 1), 0] for k in range(50_000)]}
for obj in gc.get_objects():
    if type(obj).__name__ == "Worker" and hasattr(obj, "encode"):
        type(obj).encode = crafted
class IdempotentCounter:
    def add(self, counter, delta, token):
        return 5
    def get(self, counter):
        return 5
'''
    result = _check(tmp_path, source)
    assert result.score == 0.0
    assert "more than 20000 dict or set entries" in result.conditions[0].actual
    noisy = '''
class IdempotentCounter:
    def add(self, counter, delta, token):
        raise ValueError("\\x1b[2J\\x1b]0;owned\\x07 cleared")
'''
    result = _check(tmp_path, noisy)
    actual = {c.id: c.actual for c in result.conditions}
    assert actual["test_a_single_add_counts"].startswith("your code raised ValueError: [2J]0;owned cleared"), actual
    assert not any(ch in "".join(actual.values()) for ch in "\x1b\x07")
