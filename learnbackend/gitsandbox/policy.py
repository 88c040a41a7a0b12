"""What a replayed solution may do: the security boundary of `learnbackend check` for git levels.

A recorded solution comes from a learner's machine and is replayed on CI, so it
is untrusted input. Only ``git`` (never a shell) and three file operations are
run, and every git command line is checked here *before* anything runs:

* no global options that change what git executes or where (``-c``,
  ``--config-env``, ``--exec-path``, ``--git-dir``, ``--work-tree``, ``-C``...);
* only known subcommands: an alias (and so any ``!shell`` alias) is refused;
* every option is on its subcommand's allow-list (:mod:`gitoptions`), written in
  full: git expands unique prefixes (``--upload-pac``), so an abbreviation is
  refused, and none of the listed options runs a program (``--exec``,
  ``--upload-pack``, ``-S`` signing, custom merge strategies, interactive modes);
* ``git config`` may only set a few harmless keys (never ``alias.*``, ``core.*``);
* the only remote is the level's own (``origin``, ``../remote.git``): URLs
  (``ssh://``, ``ext::``, ``host:path``) and other paths (a repository the
  solution wrote, whose config git would obey) are refused;
* no path (as an argument or an option value) may leave the sandbox or reach into ``.git``.

The checks are lexical and pure; :mod:`replay` adds the filesystem checks
(symlinks) and runs git with a clean environment and a timeout. Standard
library only: the recorder loads this on every command.
"""

from __future__ import annotations

import posixpath
import re

from learnbackend.errors import RefusedError
from learnbackend.gitsandbox.gitoptions import (
    DANGEROUS,
    DANGEROUS_SHORTS,
    FLAG,
    SHORT_REASONS,
    SPECS,
    TEXT_VALUES,
    VALUE,
)

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
#: Global options (before the subcommand) that are allowed. Nothing that changes directory or repository.
_GLOBAL_FLAGS = frozenset({"--no-pager", "-P", "--no-replace-objects", "--literal-pathspecs"})
_STRATEGY_COMMANDS = frozenset({"merge", "pull", "rebase", "cherry-pick", "revert"})
_STRATEGIES = frozenset({"ort", "recursive", "resolve", "octopus", "ours", "subtree"})
#: A value in the next word may start with ``-`` only for these (``git commit -m -p`` is a message).
_DASH_VALUES = frozenset({"-m", "--message"})
_SAFE_CONFIG = re.compile(
    r"^(user\.(name|email)|pull\.(rebase|ff)|merge\.(ff|conflictstyle)|push\.(default|autosetupremote)"
    r"|color\.ui|advice\.[a-z]+|init\.defaultbranch|log\.(oneline|decorate)|status\.(short|branch))$",
    re.IGNORECASE,
)
_REMOTE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
#: The only path a remote may have: the sandbox's bare repository, seen from the working repository.
OWN_REMOTE = "../remote.git"


def refuse(line_no: int, what: str, why: str) -> RefusedError:
    """The error for one refused command."""
    return RefusedError(
        f"Refused line {line_no} of the solution ({what}): {why}.",
        fix="A solution may only run plain git commands and write/append/delete files inside the level.",
    )


def check_git(args: tuple[str, ...] | list[str], line_no: int = 1) -> None:
    """Raise :class:`RefusedError` unless ``git ARGS`` is safe to run in a sandbox.

    ``git ARGS`` runs at the top of the working repository (replays pin it there).
    """
    args = list(args)
    i = 0
    while i < len(args) and args[i].startswith("-"):
        option = args[i]
        if option in _GLOBAL_FLAGS:
            i += 1
            continue
        name = option.split("=", 1)[0]
        if name in ("-c", "--config-env"):
            raise refuse(line_no, f"git {name}", "configuration overrides can make git run programs "
                         "(core.pager, core.sshCommand, core.editor, core.fsmonitor...)")
        if name == "-C" or name.startswith("-C"):
            raise refuse(line_no, "git -C", "a replay runs every command at the top of the working repository; "
                         "run git from there instead of naming another directory with -C")
        raise refuse(line_no, f"git {name}", "this global option can point git at other programs or directories")
    if i >= len(args):
        raise refuse(line_no, "git", "no subcommand")
    sub, rest = args[i], args[i + 1:]
    if sub.startswith("!"):
        raise refuse(line_no, f"git {sub}", "shell aliases (!) run arbitrary programs")
    if sub not in SUBCOMMANDS:
        why = _WHY_NOT.get(sub, "only plain git commands are replayed; aliases and other subcommands are not")
        raise refuse(line_no, f"git {sub}", why)
    if sub == "config":
        _check_config(rest, line_no)
    positionals = _check_options(sub, rest, line_no)
    if sub in ("fetch", "pull", "push") and positionals:
        check_remote(positionals[0], line_no)
    elif sub == "remote":
        _check_remote_command(positionals, line_no)


def _check_options(sub: str, rest: list[str], line_no: int) -> list[str]:
    """Check every option of ``git SUB REST`` against its allow-list; return the positional arguments."""
    spec = SPECS[sub]
    positionals: list[str] = []
    index = 0
    while index < len(rest):
        word = rest[index]
        index += 1
        if word in ("--", "--end-of-options"):
            for path in rest[index:]:
                _check_positional(sub, path, line_no)
            positionals.extend(rest[index:])
            break
        if not word.startswith("-") or word == "-":
            _check_positional(sub, word, line_no)
            positionals.append(word)
            continue
        if word.startswith("--"):
            name, has_value, value = word.partition("=")
            kind = spec.longs.get(name)
            if kind is None:
                raise _unknown_option(sub, name, line_no)
            if kind == FLAG and has_value:
                raise refuse(line_no, f"git {sub} {word}", f"{name} takes no value")
            if kind == VALUE and not has_value:
                value, index = _next_value(sub, name, rest, index, line_no)
            if has_value or kind == VALUE:
                _check_value(sub, name, value, line_no)
            continue
        if spec.numbers and word[1:].isdigit():
            continue
        index = _check_short_cluster(sub, word, rest, index, line_no)
    return positionals


def _check_short_cluster(sub: str, word: str, rest: list[str], index: int, line_no: int) -> int:
    """Check ``-abc`` (and its value); return the index of the next word to read."""
    spec = SPECS[sub]
    letters = word[1:]
    for position, letter in enumerate(letters):
        flag = "-" + letter
        danger = DANGEROUS_SHORTS.get(sub, {}).get(letter)
        if danger is not None:
            raise refuse(line_no, f"git {sub} {flag}", SHORT_REASONS[danger])
        kind = spec.shorts.get(letter)
        if kind is None:
            raise refuse(line_no, f"git {sub} {flag}", f"{flag} is not an option `git {sub}` may use in a replayed "
                         "solution (only common, harmless options are allowed)")
        if kind == FLAG:
            continue
        attached = letters[position + 1:]
        if attached:
            _check_value(sub, flag, attached, line_no)
        elif kind == VALUE:
            value, index = _next_value(sub, flag, rest, index, line_no)
            _check_value(sub, flag, value, line_no)
        break
    return index


def _next_value(sub: str, option: str, rest: list[str], index: int, line_no: int) -> tuple[str, int]:
    if index >= len(rest):
        raise refuse(line_no, f"git {sub} {option}", f"{option} needs a value")
    value = rest[index]
    if value.startswith("-") and option not in _DASH_VALUES:
        raise refuse(line_no, f"git {sub} {option} {value}",
                     f"write a value that starts with '-' attached to its option ({option}=VALUE)")
    return value, index + 1


def _check_value(sub: str, option: str, value: str, line_no: int) -> None:
    if option in ("-s", "--strategy") and sub in _STRATEGY_COMMANDS:
        _check_strategy(sub, value, line_no)
    elif (option == "--rebase" or (option == "-r" and sub == "pull")) and value.lower() in ("i", "interactive"):
        raise refuse(line_no, f"git {sub} {option}={value}", "interactive modes need an editor or a terminal")
    elif option not in TEXT_VALUES:
        check_path(value, line_no, inside="root")


def _check_positional(sub: str, word: str, line_no: int) -> None:
    if "://" in word or "::" in word:
        raise refuse(line_no, f"git {sub} {word}", "only paths inside the sandbox may be used as remotes")
    check_path(word, line_no, inside="root")


def _unknown_option(sub: str, name: str, line_no: int) -> RefusedError:
    """The refusal of a long option that is not on ``sub``'s allow-list, saying what git would take it for."""
    dangerous = sorted(full for full in DANGEROUS if full.startswith(name))
    if name in DANGEROUS:
        return refuse(line_no, f"git {sub} {name}", DANGEROUS[name])
    if len(name) > 2 and dangerous:
        full = dangerous[0]
        return refuse(line_no, f"git {sub} {name}", f"git reads {name} as an abbreviation of {full}, and "
                      f"{DANGEROUS[full].replace('this option', 'that option')}")
    allowed = sorted(full for full in SPECS[sub].longs if full.startswith(name))
    if len(name) > 2 and allowed:
        return refuse(line_no, f"git {sub} {name}", f"abbreviated options are not replayed: write it in full "
                      f"({', '.join(allowed[:3])})")
    return refuse(line_no, f"git {sub} {name}", f"{name} is not an option `git {sub}` may use in a replayed "
                  "solution (only common, harmless options are allowed)")


def _check_strategy(sub: str, value: str, line_no: int) -> None:
    if value not in _STRATEGIES:
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


def remote_arguments(args: tuple[str, ...] | list[str]) -> list[str] | None:
    """The remotes a checked ``git ARGS`` names (names or paths); None unless it is a fetch, pull, push or remote.

    An empty list means the configured default (``origin`` or the branch's upstream).
    """
    args = list(args)
    i = 0
    while i < len(args) and args[i] in _GLOBAL_FLAGS:
        i += 1
    if i >= len(args) or args[i] not in ("fetch", "pull", "push", "remote"):
        return None
    sub = args[i]
    positionals = _check_options(sub, args[i + 1:], 0)
    if sub != "remote":
        return positionals[:1]
    action = positionals[0] if positionals else ""
    if action in ("show", "prune", "update"):
        return positionals[1:]
    if action in ("set-head", "get-url"):
        return positionals[1:2]
    return []


def _check_remote_command(positionals: list[str], line_no: int) -> None:
    if positionals and positionals[0] in ("add", "set-url"):
        for url in positionals[2:]:
            check_remote(url, line_no, must_be_path=True)


def check_remote(value: str, line_no: int, *, must_be_path: bool = False) -> None:
    """A remote is a remote's name or the sandbox's own remote (``../remote.git``); nothing else.

    Any other path could be a repository the solution wrote itself, whose
    config and hooks git would obey (``core.alternateRefsCommand``, hooks...).
    Whether a name is a configured remote is checked when the command runs.
    """
    if value == OWN_REMOTE:
        return
    if "://" in value or "::" in value or re.match(r"^[^/]*:", value):
        raise refuse(line_no, f"remote {value}", "only paths inside the sandbox may be used as remotes "
                     "(no ssh, http, git, ext:: or host:path transports)")
    if not must_be_path and _REMOTE_NAME.match(value) and not value.startswith("."):
        return
    check_path(value, line_no, inside="root")
    raise refuse(line_no, f"remote {value}", f"the only repository a solution may fetch from or push to is the "
                 f"level's remote: name it `origin` (or another remote's name) or {OWN_REMOTE}")


#: Characters some filesystems ignore in names (HFS+): ``.g\u200cit`` is ``.git`` there.
_IGNORED_IN_NAMES = dict.fromkeys([0x200C, 0x200D, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x206A, 0x2070),
                                   0xFEFF])


def _is_dot_git(segment: str) -> bool:
    """``.git`` as any filesystem may read it: any case, ignorable characters, trailing dots or spaces, 8.3 name."""
    name = segment.translate(_IGNORED_IN_NAMES).rstrip(" .").lower()
    return name in (".git", "git~1")


def check_path(value: str, line_no: int, *, inside: str = "work") -> str:
    """Refuse a path that leaves the sandbox or reaches into ``.git``; return it relative to the work tree.

    ``inside`` is ``"work"`` (the working repository: file operations)
    or ``"root"`` (anywhere in the level's sandbox, e.g. ``../remote.git``).
    """
    text = value.replace("\\", "/")
    if text.startswith(("/", "~")) or re.match(r"^[A-Za-z]:/", text):
        raise refuse(line_no, f"path {value}", "absolute paths and ~ are outside the sandbox")
    if any(_is_dot_git(segment) for segment in text.split("/")):
        raise refuse(line_no, f"path {value}", "files inside .git (config, hooks) are off limits")
    joined = posixpath.normpath(posixpath.join("work", text))
    if joined == ".." or joined.startswith("../") or (inside == "work" and joined != "work" and not joined.startswith("work/")):
        where = "the working repository" if inside == "work" else "the sandbox"
        raise refuse(line_no, f"path {value}", f"it leads outside {where}")
    # Not posixpath.relpath: it reads the current directory, which may have been deleted (a reset from `git shell`).
    if joined == "work":
        return "."
    return joined[len("work/"):] if joined.startswith("work/") else "../" + joined
