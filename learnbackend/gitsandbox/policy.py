"""What a replayed solution may do: the security boundary of `learnbackend check` for git levels.

A recorded solution comes from a learner's machine and is replayed on CI, so it
is untrusted input. Only ``git`` (never a shell) and three file operations are
run, and every git command line is checked here *before* anything runs:

* no global options that change what git executes or where (``-c``,
  ``--config-env``, ``--exec-path``, ``--git-dir``, ``--work-tree``...);
* only known subcommands: an alias (and so any ``!shell`` alias) is refused;
* no option that runs a program (``--exec``, ``--upload-pack``, ``-S`` signing,
  custom merge strategies, interactive modes that start an editor or a pager);
* ``git config`` may only set a few harmless keys (never ``alias.*``, ``core.*``);
* remotes are paths inside the sandbox: URLs (``ssh://``, ``ext::``, ``host:path``) are refused;
* no path (as an argument or an option value) may leave the sandbox or reach into ``.git``.

The checks are lexical and pure; :mod:`replay` adds the filesystem checks
(symlinks) and runs git with a clean environment and a timeout. Standard
library only: the recorder loads this on every command.
"""

from __future__ import annotations

import posixpath
import re

from learnbackend.errors import RefusedError

#: Subcommands a solution may run. Anything else (including every alias) is refused.
SUBCOMMANDS = frozenset({
    "add", "blame", "branch", "cat-file", "checkout", "cherry-pick", "clean", "commit", "config", "describe",
    "diff", "fetch", "log", "ls-files", "merge", "mv", "pull", "push", "rebase", "reflog", "remote", "reset",
    "restore", "rev-parse", "revert", "rm", "shortlog", "show", "show-branch", "stash", "status", "switch", "tag",
})
_WHY_NOT = {
    "difftool": "it runs an external diff program",
    "mergetool": "it runs an external merge program",
    "submodule": "submodules fetch from other places",
    "clone": "the level already has its repositories",
    "bisect": "`bisect run` executes programs",
    "help": "it starts a pager or a browser",
    "worktree": "it creates directories outside the level",
    "grep": "`grep -O` opens a pager",
}
#: Global options (before the subcommand) that are allowed; `-C` takes a directory.
_GLOBAL_FLAGS = frozenset({"--no-pager", "-P", "--no-replace-objects", "--literal-pathspecs"})
#: Options that execute a program, in any subcommand.
_PROGRAM_OPTIONS = ("--exec", "--upload-pack", "--receive-pack", "--output", "--open-files-in-pager", "--signed")
#: Options that sign with GPG (a program) in the commands that accept them.
_SIGNING = {"commit", "merge", "rebase", "cherry-pick", "revert", "pull"}
#: Interactive modes: they start an editor or read answers from a terminal.
_INTERACTIVE = {
    "add": {"-i", "--interactive", "-p", "--patch", "-e", "--edit"},
    "commit": {"-p", "--patch", "--interactive"},
    "rebase": {"-i", "--interactive", "-x"},
    "checkout": {"-p", "--patch"},
    "restore": {"-p", "--patch"},
    "reset": {"-p", "--patch"},
    "stash": {"-p", "--patch"},
    "clean": {"-i", "--interactive"},
}
#: Short options whose value follows in the same word (``-mMessage``): stop scanning a cluster there.
_VALUE_SHORTS = {"commit": "mFCct", "merge": "msX", "tag": "mF", "stash": "m", "pull": "sX", "rebase": "sXx",
                 "cherry-pick": "mXs", "revert": "mXs", "log": "nSG", "branch": "tu", "checkout": "bB",
                 "switch": "cC", "push": "o"}
#: Options whose value is free text, not a path (messages, patterns, formats).
_TEXT_OPTIONS = frozenset({"-m", "--message", "--grep", "--author", "--committer", "--format", "--pretty",
                           "--date", "--since", "--until", "-S", "-G", "--trailer"})
_STRATEGY_COMMANDS = frozenset({"merge", "pull", "rebase", "cherry-pick", "revert"})
_STRATEGIES = frozenset({"ort", "recursive", "resolve", "octopus", "ours", "subtree"})
_SAFE_CONFIG = re.compile(
    r"^(user\.(name|email)|pull\.(rebase|ff)|merge\.(ff|conflictstyle)|push\.(default|autosetupremote)"
    r"|color\.ui|advice\.[a-z]+|init\.defaultbranch|log\.(oneline|decorate)|status\.(short|branch))$",
    re.IGNORECASE,
)
_REMOTE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def refuse(line_no: int, what: str, why: str) -> RefusedError:
    """The error for one refused command."""
    return RefusedError(
        f"Refused line {line_no} of the solution ({what}): {why}.",
        fix="A solution may only run plain git commands and write/append/delete files inside the level.",
    )


def check_git(args: tuple[str, ...] | list[str], line_no: int = 1, cwd: str = "") -> None:
    """Raise :class:`RefusedError` unless ``git ARGS`` is safe to run in a sandbox.

    ``cwd`` is the directory the command runs in, relative to the working repository.
    """
    args = list(args)
    i = 0
    while i < len(args) and args[i].startswith("-"):
        option = args[i]
        if option == "-C":
            if i + 1 >= len(args):
                raise refuse(line_no, "git -C", "-C needs a directory")
            check_path(args[i + 1], line_no, cwd=cwd, inside="work")
            cwd = posixpath.normpath(posixpath.join(cwd or ".", args[i + 1]))
            i += 2
            continue
        if option in _GLOBAL_FLAGS:
            i += 1
            continue
        name = option.split("=", 1)[0]
        if name in ("-c", "--config-env"):
            raise refuse(line_no, f"git {name}", "configuration overrides can make git run programs "
                         "(core.pager, core.sshCommand, core.editor, core.fsmonitor...)")
        raise refuse(line_no, f"git {name}", "this global option can point git at other programs or directories")
    if i >= len(args):
        raise refuse(line_no, "git", "no subcommand")
    sub, rest = args[i], args[i + 1:]
    if sub.startswith("!"):
        raise refuse(line_no, f"git {sub}", "shell aliases (!) run arbitrary programs")
    if sub not in SUBCOMMANDS:
        why = _WHY_NOT.get(sub, "only plain git commands are replayed; aliases and other subcommands are not")
        raise refuse(line_no, f"git {sub}", why)
    _check_options(sub, rest, line_no, cwd)
    if sub == "config":
        _check_config(rest, line_no)
    elif sub in ("fetch", "pull", "push"):
        repository = _first_positional(rest)
        if repository is not None:
            check_remote(repository, line_no, cwd)
    elif sub == "remote":
        _check_remote_command(rest, line_no, cwd)


def _check_options(sub: str, rest: list[str], line_no: int, cwd: str) -> None:
    free_text_next = False
    after_dashdash = False
    for word in rest:
        if free_text_next:
            free_text_next = False
            continue
        if word == "--":
            after_dashdash = True
            continue
        if after_dashdash or not word.startswith("-") or word == "-":
            if "://" in word or "::" in word:
                raise refuse(line_no, f"git {sub} {word}", "only paths inside the sandbox may be used as remotes")
            check_path(word, line_no, cwd=cwd, inside="root")
            continue
        name, has_value, value = word.partition("=")
        if name.startswith("--"):
            if any(name == p or name.startswith(p + "-") for p in _PROGRAM_OPTIONS):
                raise refuse(line_no, f"git {sub} {name}", "this option runs a program or writes outside git's control")
            if (sub in _SIGNING and name.startswith("--gpg-sign")) or (sub == "tag" and name in ("--sign", "--local-user")):
                raise refuse(line_no, f"git {sub} {name}", "signing runs an external program (gpg)")
            if name in _INTERACTIVE.get(sub, ()) or (sub == "pull" and name == "--rebase" and value in ("i", "interactive")):
                raise refuse(line_no, f"git {sub} {name}", "interactive modes need an editor or a terminal")
            if name == "--strategy":
                _check_strategy(sub, value, line_no)
            if name in _TEXT_OPTIONS:
                free_text_next = not has_value
            elif has_value:
                check_path(value, line_no, cwd=cwd, inside="root")
            continue
        value_letter = _check_short_cluster(sub, word, line_no)
        if value_letter in ("m", "S", "G"):
            free_text_next = True
        elif value_letter == "s" and sub in _STRATEGY_COMMANDS:
            index = rest.index(word)
            _check_strategy(sub, rest[index + 1] if index + 1 < len(rest) else "", line_no)
            free_text_next = True


def _check_short_cluster(sub: str, word: str, line_no: int) -> str | None:
    """Check ``-abc``; return the letter whose value is the next word, if any."""
    letters = word[1:]
    stop_at = _VALUE_SHORTS.get(sub, "")
    for position, letter in enumerate(letters):
        flag = "-" + letter
        if flag in _INTERACTIVE.get(sub, ()):
            raise refuse(line_no, f"git {sub} {flag}", "interactive modes need an editor or a terminal")
        if (letter == "S" and sub in _SIGNING) or (sub == "tag" and letter in "su"):
            raise refuse(line_no, f"git {sub} -S", "signing runs an external program (gpg)")
        if letter in stop_at:
            attached = letters[position + 1:]
            if letter == "s" and sub in _STRATEGY_COMMANDS and attached:
                _check_strategy(sub, attached, line_no)
            return None if attached else letter
    return None


def _check_strategy(sub: str, value: str, line_no: int) -> None:
    if value and value not in _STRATEGIES:
        raise refuse(line_no, f"git {sub} --strategy={value}",
                     f"custom merge strategies run a program; use one of {', '.join(sorted(_STRATEGIES))}")


def _check_config(rest: list[str], line_no: int) -> None:
    words = [w for w in rest if w != "--local"]
    if not words or words[0] in ("-l", "--list"):
        return
    if words[0] in ("--get", "--get-all"):
        return
    if words[0].startswith("-"):
        raise refuse(line_no, f"git config {words[0]}", "only `git config KEY VALUE` and `git config --get KEY` are replayed")
    key = words[0]
    if len(words) == 1:
        return  # reading one key
    if key.lower().startswith("alias."):
        raise refuse(line_no, f"git config {key}", "aliases are refused (a `!` alias runs a shell command)")
    if not _SAFE_CONFIG.match(key):
        raise refuse(line_no, f"git config {key}", "this setting can make git run programs or reach other places "
                     "(core.pager, core.editor, core.sshCommand, core.hooksPath...); only user.*, pull.*, merge.ff, "
                     "push.default and display settings may be set")


def _first_positional(rest: list[str]) -> str | None:
    takes_value = {"-o", "--push-option", "--depth", "--deepen", "-j", "--jobs", "--negotiation-tip", "--refmap",
                   "--filter", "--shallow-since", "--shallow-exclude", "-X", "--strategy-option", "-s", "--strategy"}
    skip = False
    for word in rest:
        if skip:
            skip = False
            continue
        if word == "--":
            continue
        if word.startswith("-"):
            skip = word in takes_value
            if word.startswith("--repo="):
                return word.split("=", 1)[1]
            continue
        return word
    return None


def _check_remote_command(rest: list[str], line_no: int, cwd: str) -> None:
    positionals = [w for w in rest if not w.startswith("-")]
    if positionals and positionals[0] in ("add", "set-url") and len(positionals) >= 3:
        for url in positionals[2:]:
            check_remote(url, line_no, cwd, must_be_path=True)


def check_remote(value: str, line_no: int, cwd: str = "", *, must_be_path: bool = False) -> None:
    """A remote must be a configured name or a path inside the sandbox; URLs are refused."""
    if "://" in value or "::" in value or re.match(r"^[^/]*:", value):
        raise refuse(line_no, f"remote {value}", "only paths inside the sandbox may be used as remotes "
                     "(no ssh, http, git, ext:: or host:path transports)")
    if not must_be_path and _REMOTE_NAME.match(value) and not value.startswith("."):
        return
    check_path(value, line_no, cwd=cwd, inside="root")


def check_path(value: str, line_no: int, *, cwd: str = "", inside: str = "work") -> str:
    """Refuse a path that leaves the sandbox or reaches into ``.git``; return it relative to the work tree.

    ``inside`` is ``"work"`` (the working repository: file operations, ``-C``)
    or ``"root"`` (anywhere in the level's sandbox, e.g. ``../remote.git``).
    """
    text = value.replace("\\", "/")
    if text.startswith(("/", "~")) or re.match(r"^[A-Za-z]:/", text):
        raise refuse(line_no, f"path {value}", "absolute paths and ~ are outside the sandbox")
    if ".git" in (segment.lower() for segment in text.split("/")):
        raise refuse(line_no, f"path {value}", "files inside .git (config, hooks) are off limits")
    joined = posixpath.normpath(posixpath.join("work", cwd or ".", text))
    if joined == ".." or joined.startswith("../") or (inside == "work" and joined != "work" and not joined.startswith("work/")):
        where = "the working repository" if inside == "work" else "the sandbox"
        raise refuse(line_no, f"path {value}", f"it leads outside {where}")
    # Not posixpath.relpath: it reads the current directory, which may have been deleted (a reset from `git shell`).
    if joined == "work":
        return "."
    return joined[len("work/"):] if joined.startswith("work/") else "../" + joined
