"""A solution file is hostile input: bounded, split in linear time, and never a crash (exit 70)."""

from __future__ import annotations

import random
import shlex
import time
from pathlib import Path

import pytest
from conftest import run_cli
from git_fixtures import level, need_git

from learnbackend.errors import ExitCode, RefusedError
from learnbackend.gitsandbox.solution import (
    MAX_COMMANDS,
    MAX_LINE_CHARS,
    MAX_SOLUTION_CHARS,
    SolutionSyntaxError,
    parse_solution,
    split_words,
)


def _shlex(text: str) -> object:
    try:
        return shlex.split(text, comments=False, posix=True)
    except ValueError as exc:
        return ("error", str(exc))


def _ours(text: str) -> object:
    try:
        return split_words(text)
    except ValueError as exc:
        return ("error", str(exc))


def test_the_tokenizer_splits_like_shlex() -> None:
    """Same words (and the same errors) as shlex.split on 50 000 random lines of quotes, escapes and spaces."""
    rng = random.Random(13)
    alphabet = "ab '\"\\\t\n$#é-="
    for _ in range(50_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        assert _ours(text) == _shlex(text), repr(text)
    for text in ("git commit -m \"a \\\"quoted\\\" \\\\ \\n word\"", "write a.txt 'x\\ny'", "git log a''b \"\"", ""):
        assert _ours(text) == _shlex(text), text


def test_a_long_line_is_split_in_linear_time() -> None:
    """A 4 MB line took minutes with shlex (quadratic); 16x the input costs about 16x, not 256x.

    Compared against itself at two sizes, so a slow machine does not make it flaky.
    """
    def cost(size: int) -> float:
        line = "write a.txt '" + "x" * size + "' " + "w " * (size // 2) + '"' + 'y\\"' * (size // 3) + '"'
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            split_words(line)
            best = min(best, time.perf_counter() - started)
        return best

    small, large = cost(1 << 16), cost(1 << 20)
    assert large < small * 64, (small, large)


@pytest.mark.parametrize("text,reason", [
    ("git add a.txt\ngit commit -m 'x\0y'\n", "NUL character"),
    ("write a.txt '" + "x" * (MAX_LINE_CHARS + 1) + "'\n", f"at most {MAX_LINE_CHARS}"),
    ("git status\n" * (MAX_COMMANDS + 1), f"at most {MAX_COMMANDS} commands"),
    ("# padding\n" * (MAX_SOLUTION_CHARS // 10 + 1), "the limit is"),
])
def test_an_oversized_or_binary_solution_is_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(SolutionSyntaxError) as caught:
        parse_solution(text)
    assert reason in str(caught.value)


def test_a_nul_byte_is_a_clear_refusal_not_a_crash(tmp_path: Path) -> None:
    """Red-team finding: a NUL in a solution line ended `git replay` with exit 70 (embedded null byte)."""
    from learnbackend.gitsandbox.handler import replay_and_check

    need_git()
    ref = level("stage-a-file")
    with pytest.raises(RefusedError) as caught:
        replay_and_check(ref.key, ref.level, "git add notes\0.md\n")
    assert caught.value.exit_code == ExitCode.BAD_INPUT and "NUL" in caught.value.message
    solution = tmp_path / "solution.txt"
    solution.write_bytes(b"git add notes\0.md\n")
    result = run_cli("git", "replay", "stage-a-file", str(solution))
    assert result.exit_code == 2, (result.stdout + result.stderr)
    assert "NUL" in (result.stdout + result.stderr) and "Traceback" not in (result.stdout + result.stderr)


def test_a_huge_solution_file_is_refused_before_anything_is_built(tmp_path: Path) -> None:
    solution = tmp_path / "solution.txt"
    solution.write_text("git status\n" * 200_000)  # 2.2 MB
    result = run_cli("git", "replay", "stage-a-file", str(solution))
    assert result.exit_code == 2, (result.stdout + result.stderr)
    assert "larger than" in (result.stdout + result.stderr)
