"""Hostile solutions from the red-team pass, and a driver that replays them (run by the tests in each mode).

``python replay_attacks.py LESSONS_DIR PROOF_DIR`` prints one JSON object: what
happened to each attack (``refused`` before anything ran, or ``ran``), which
proof files exist afterwards, the status of a reference solution, and how much
the driver's own peak memory grew while git printed hundreds of megabytes.
Every attack would create ``PROOF_DIR/<name>`` if git ran its command.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

LEVEL = "first-push"

#: A commit message of 42 000 lines, printed with a 4000-column indent: ~170 MB of output per `git log`.
FLOOD = (
    "write msg.txt '" + "x\\n" * 21_000 + "'\n"
    "append msg.txt '" + "x\\n" * 21_000 + "'\n"
    "git commit --allow-empty --cleanup=verbatim -F msg.txt\n"
    + "git log -1 --format=%w(0,4000,4000)%B\n" * 3
)


def attacks(proof: Path) -> dict[str, str]:
    """Each red-team example, as a solution that would create ``proof/<name>``."""
    repo = "write sub/HEAD 'ref: refs/heads/main\\n'\nwrite sub/refs/heads/x ''\n"
    return {
        # A repository written inside the sandbox, whose config git would obey.
        "fsmonitor": repo + "write sub/config '[core]\\n\\trepositoryformatversion = 0\\n\\tbare = false\\n"
        f"\\tworktree = ..\\n\\tfsmonitor = \"touch {proof}/fsmonitor; false\"\\n'\n"
        "write sub/objects/info/x ''\ngit -C sub status\n",
        "alternates": repo + "write sub/config '[core]\\n\\trepositoryformatversion = 0\\n\\tbare = true\\n"
        f"\\talternateRefsCommand = \"touch {proof}/alternates; true\"\\n'\n"
        "write sub/objects/info/alternates '../../.git/objects\\n'\ngit push sub HEAD:refs/heads/x\n",
        "alternates-by-path": repo + "write sub/config '[core]\\n\\tbare = true\\n"
        f"\\talternateRefsCommand = \"touch {proof}/alternates-by-path; true\"\\n'\n"
        "write sub/objects/info/alternates '../../.git/objects\\n'\ngit push ./sub HEAD:refs/heads/x\n",
        "alternates-as-remote": repo + "write sub/config '[core]\\n\\tbare = true\\n"
        f"\\talternateRefsCommand = \"touch {proof}/alternates-as-remote; true\"\\n'\n"
        "write sub/objects/info/alternates '../../.git/objects\\n'\ngit remote add evil sub\ngit push evil HEAD\n",
        # Abbreviated long options: git expands any unique prefix.
        "upload-pac": f"git fetch '--upload-pac=touch {proof}/upload-pac; git-upload-pack' ../remote.git\n",
        "receive-pac": f"git push '--receive-pac=touch {proof}/receive-pac; git-receive-pack' ../remote.git HEAD\n",
        "exe": f"git push '--exe=touch {proof}/exe; git-receive-pack' ../remote.git HEAD\n",
        "rebase-exe": f"git rebase '--exe=touch {proof}/rebase-exe' --root\n",
        # The exact forms stay refused.
        "config-override": f"git -c 'core.pager=touch {proof}/config-override' log\n",
        "alias": f"git config alias.st '!touch {proof}/alias'\ngit st\n",
    }


def _peak_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def main(lessons: Path, proof: Path) -> dict[str, object]:
    from learnbackend.course.catalog import load_lessons
    from learnbackend.errors import EnvironmentMissing, RefusedError
    from learnbackend.gitsandbox.handler import replay_and_check
    from learnbackend.gitsandbox.levels import all_levels

    ref = next(r for r in all_levels(load_lessons([lessons])) if r.key.endswith(LEVEL))
    report: dict[str, object] = {"attacks": {}}
    for name, text in attacks(proof).items():
        try:
            replay_and_check(ref.key, ref.level, text)
            report["attacks"][name] = "ran"  # type: ignore[index]
        except RefusedError as exc:
            report["attacks"][name] = f"refused: {exc.message}"  # type: ignore[index]
    try:
        report["reference"] = replay_and_check(ref.key, ref.level, "\n".join(ref.level.solution)).status
        before = _peak_kb()
        flood = replay_and_check(ref.key, ref.level, FLOOD)
        report["flood_steps"] = [s["exit_code"] for s in flood.details["replay"]["steps"]]
        report["peak_growth_mb"] = (_peak_kb() - before) / 1024
    except EnvironmentMissing as exc:
        report["environment_missing"] = exc.message
    report["proofs"] = sorted(p.name for p in proof.iterdir())
    return report


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    print(json.dumps(main(Path(sys.argv[1]), Path(sys.argv[2]))))
