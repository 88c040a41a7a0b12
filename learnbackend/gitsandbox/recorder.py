"""The recording ``git`` wrapper of `learnbackend git shell`.

``bin/git`` in a sandbox runs ``python -m learnbackend.gitsandbox.recorder ARGS``.
For a command typed inside the sandbox's working repository it:

1. appends the learner's file edits since the last git command (made with any
   editor) as ``write``/``delete`` lines, so a replay sees the same files;
2. runs the real git with the learner's terminal;
3. appends the git command itself (a ``commit`` whose message was typed in an
   editor is recorded with ``-m MESSAGE``, so the replay needs no editor).

Commands the replay would refuse are run but not recorded (with a note).
Outside the sandbox the real git runs untouched. Standard library only: this
starts on every git command.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from learnbackend.errors import RefusedError
from learnbackend.gitsandbox.policy import check_git
from learnbackend.gitsandbox.solution import Command

_MESSAGE_OPTIONS = ("-m", "--message", "-F", "--file", "-C", "--reuse-message", "-c", "--reedit-message", "--no-edit")


def snapshot_tree(work: Path) -> dict[str, str]:
    """``{relative path: content digest}`` of every regular file of the working tree (not ``.git``)."""
    found: dict[str, str] = {}
    for directory, dirnames, filenames in os.walk(work):
        if directory == str(work):
            dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            path = Path(directory, name)
            if path.is_symlink() or not path.is_file():
                continue
            found[path.relative_to(work).as_posix()] = hashlib.sha1(path.read_bytes()).hexdigest()
    return found


def sync_edits(root: Path) -> list[str]:
    """Transcript lines for the files changed since the last snapshot; the snapshot is updated."""
    work, state = root / "work", root / "snapshot.json"
    try:
        before: dict[str, str] = json.loads(state.read_text())
    except (OSError, ValueError):
        before = {}
    now = snapshot_tree(work)
    lines: list[str] = []
    for path in sorted(now):
        if before.get(path) == now[path]:
            continue
        try:
            text = (work / path).read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            lines.append(f"# {path} changed but is not text: not recorded")
            continue
        lines.append(Command(0, "write", (path, text)).to_line())
    for path in sorted(set(before) - set(now)):
        lines.append(Command(0, "delete", (path,)).to_line())
    _write_snapshot(root, now)
    return lines


def _write_snapshot(root: Path, snapshot: dict[str, str]) -> None:
    # Atomic: a git process interrupted mid-write must not leave half a snapshot behind.
    temporary = root / f"snapshot.json.{os.getpid()}"
    temporary.write_text(json.dumps(snapshot))
    os.replace(temporary, root / "snapshot.json")


def append_transcript(root: Path, lines: list[str]) -> None:
    """Add lines to the sandbox's transcript."""
    if lines:
        with open(root / "transcript.txt", "a", encoding="utf-8") as handle:
            handle.write("".join(line + "\n" for line in lines))


def _subcommand(args: list[str]) -> tuple[int, str]:
    i = 0
    while i < len(args) and args[i].startswith("-"):
        i += 1
    return i, (args[i] if i < len(args) else "")


def _head(real_git: str, cwd: Path, env: dict[str, str]) -> tuple[str, int, str]:
    """(commit id, number of parents, message) of HEAD, or empty values."""
    done = subprocess.run([real_git, "log", "-1", "--format=%H %P%n%B"], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return "", 0, ""
    first, _, message = done.stdout.partition("\n")
    ids = first.split()
    return (ids[0] if ids else ""), max(len(ids) - 1, 0), message.strip()


def record(argv: list[str], real_git: str, root: Path, cwd: Path) -> int:
    """Run ``git ARGV`` in ``cwd`` and record it in ``root``'s transcript; return git's exit code."""
    work = (root / "work").resolve()
    if cwd.resolve() != work:
        # A replay runs every command at the top of the working repository (never `git -C DIR`).
        sys.stderr.write(f"learnbackend: not recorded: run git from the top of the repository ({work}) "
                         "so that a replay can repeat the command.\n")
        return subprocess.call([real_git, *argv])
    args = list(argv)
    try:
        check_git(args)
    except RefusedError as exc:
        sys.stderr.write(f"learnbackend: not recorded, a replay would refuse it: {exc.message}\n")
        return subprocess.call([real_git, *argv])
    append_transcript(root, sync_edits(root))
    env = dict(os.environ)
    index, sub = _subcommand(args)
    before = _head(real_git, cwd, env) if sub in ("commit", "merge") else ("", 0, "")
    try:
        code = subprocess.call([real_git, *argv])
    except KeyboardInterrupt:
        code = 130
    recorded = list(args)
    if code == 0 and sub in ("commit", "merge"):
        after = _head(real_git, cwd, env)
        typed_message = any(
            a.split("=", 1)[0] in _MESSAGE_OPTIONS
            or (a.startswith("-") and not a.startswith("--") and any(ch in "mFCc" for ch in a[1:]))
            for a in args[index + 1:]
        )
        made_commit = after[0] != before[0] and (sub == "commit" or after[1] > 1)
        if made_commit and not typed_message and after[2]:
            recorded += ["-m", after[2]]
    lines = [f"# exit {code}"] if code != 0 else []
    append_transcript(root, [Command(0, "git", tuple(recorded)).to_line(), *lines])
    # The files git itself changed are not learner edits: take a fresh snapshot.
    _write_snapshot(root, snapshot_tree(root / "work"))
    return code


def main(argv: list[str]) -> int:
    """Entry point of the wrapper script."""
    real_git = os.environ.get("LEARNBACKEND_REAL_GIT", "git")
    root = Path(os.environ.get("LEARNBACKEND_GIT_SANDBOX", "/nonexistent"))
    try:
        cwd = Path.cwd()
    except OSError:  # the directory was deleted (a reset): let git say so
        os.execv(real_git, [real_git, *argv])
    work = root / "work"
    inside = work.is_dir() and (cwd.resolve() == work.resolve() or work.resolve() in cwd.resolve().parents)
    if not inside or not (root / ".learnbackend-sandbox").is_file():
        os.execv(real_git, [real_git, *argv])
    return record(argv, real_git, root, cwd)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
