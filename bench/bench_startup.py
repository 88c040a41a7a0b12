"""Cold start-up: `learnbackend --help` against `python -c "import typer"`, in the same run.

Target (issue 2): the help is at most 1.5x the bare Typer import. Each command is
run N times as a fresh process; we report min / median / max wall time.

    python bench/bench_startup.py [--runs 30]
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import subprocess
import sys
import time


def timed(argv: list[str], runs: int) -> list[float]:
    subprocess.run(argv, capture_output=True, check=True)  # warm the page cache once
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    exe = shutil.which("learnbackend")
    help_cmd = [exe, "--help"] if exe else [sys.executable, "-m", "learnbackend", "--help"]
    cases = {
        'python -c "import typer"': [sys.executable, "-c", "import typer"],
        "learnbackend --help": help_cmd,
        "learnbackend --version": help_cmd[:-1] + ["--version"],
    }
    print(f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}, runs={args.runs}")
    medians = {}
    for name, argv in cases.items():
        samples = timed(argv, args.runs)
        medians[name] = statistics.median(samples)
        print(f"{name:<28} min {min(samples):7.1f} ms  median {medians[name]:7.1f} ms  max {max(samples):7.1f} ms")
    ratio = medians["learnbackend --help"] / medians['python -c "import typer"']
    print(f"ratio help / import typer (medians): {ratio:.2f}x  (target <= 1.5x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
