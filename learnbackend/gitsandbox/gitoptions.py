"""The options a replayed git command may use: one allow-list per subcommand.

git accepts any unique prefix of a long option (``--upload-pac`` is
``--upload-pack``), so a deny-list of exact names lets abbreviations through.
Here every option must be written in full and be on the list of its
subcommand; :mod:`policy` refuses everything else, and names the dangerous
option an abbreviation could stand for.

Short options are a string of letters; a letter followed by ``=`` takes a
required value (attached, ``-mMsg``, or the next word), by ``?`` an optional
value (only attached: ``-uno``). Long options are
words: ``--name`` (a flag), ``--name=`` (a required value, attached or the next
word) and ``--name[=]`` (an optional value, only attached: git never takes the
next word for these). A value is checked as a path unless its option is in
:data:`TEXT_VALUES`. Standard library only (the recorder loads this).
"""

from __future__ import annotations

from dataclasses import dataclass

FLAG, VALUE, OPTIONAL = "flag", "value", "optional"


@dataclass(frozen=True)
class OptionSpec:
    """What one subcommand accepts."""

    shorts: dict[str, str]
    longs: dict[str, str]
    #: ``-3`` means ``-n 3`` (log-like commands), or a conflict stage (diff).
    numbers: bool = False


def _spec(shorts: str, longs: str, *, numbers: bool = False) -> OptionSpec:
    short_kinds: dict[str, str] = {}
    for index, letter in enumerate(shorts):
        if letter in "=?":
            continue
        following = shorts[index + 1:index + 2]
        short_kinds[letter] = VALUE if following == "=" else OPTIONAL if following == "?" else FLAG
    long_kinds: dict[str, str] = {}
    for word in longs.split():
        if word.endswith("[=]"):
            long_kinds[word[:-3]] = OPTIONAL
        elif word.endswith("="):
            long_kinds[word[:-1]] = VALUE
        else:
            long_kinds[word] = FLAG
    return OptionSpec(short_kinds, long_kinds, numbers)


#: Options whose value is free text (a message, a pattern, a format, a revision), not a path.
TEXT_VALUES = frozenset({
    "-m", "--message", "--grep", "--author", "--committer", "--format", "--pretty", "--date", "--since", "--until",
    "--after", "--before", "-S", "-G", "--trailer", "-n", "--max-count", "--skip", "-X", "--strategy-option",
    "-s", "--strategy", "--cleanup", "--chmod", "--untracked-files", "--decorate", "--color", "--abbrev",
    "--stat", "--word-diff", "--word-diff-regex", "--color-words", "--diff-algorithm", "-U", "--unified", "--find-renames", "-M", "--conflict",
    "-C", "-c", "--reuse-message", "--reedit-message", "--fixup", "--squash", "--rebase", "--depth", "--deepen",
    "--set-upstream-to", "-u", "-t", "--track", "--contains", "--no-contains", "--merged", "--no-merged",
    "--points-at", "--sort", "--onto", "--source", "-b", "-B", "--orphan", "--porcelain", "--ignored",
    "--exclude", "-e", "--short", "--abbrev-ref", "--mainline", "--ff", "--log", "--branches", "--remotes",
    "--tags", "--relative", "--candidates", "--match", "--dirty", "--force-with-lease", "--push-option", "-o",
    "--column", "--keep-base", "--group", "--into-name", "--type", "--create", "--force-create", "--batch",
    "--batch-check", "--mirror", "--rebase-merges", "--whitespace",
})

_DISPLAY = (
    " --oneline --graph --all --decorate[=] --no-decorate --abbrev-commit --no-abbrev-commit --abbrev[=] --reverse"
    " --first-parent --merges --no-merges --branches[=] --remotes[=] --tags[=] --left-right --pretty[=] --format[=]"
    " --date[=] --stat[=] --shortstat --numstat --summary --name-only --name-status --patch --no-patch --raw"
    " --color[=] --no-color --word-diff[=] --word-diff-regex= --color-words[=] --ignore-cr-at-eol --follow --max-count= --skip= --since= --until= --after= --before="
    " --author= --committer= --grep= --all-match --invert-grep --regexp-ignore-case --cherry --cherry-mark"
    " --cherry-pick --boundary --topo-order --date-order --author-date-order --simplify-by-decoration"
    " --walk-reflogs --source --no-walk --do-walk --parents --children --full-history --no-renames"
    " --find-renames[=] --ignore-all-space --ignore-space-change --ignore-blank-lines --minimal --patience"
    " --histogram --diff-algorithm= --unified[=] --no-prefix --relative[=] --full-index --binary --text"
    " --exit-code --quiet --check --diff-merges= --remerge-diff --cc --combined-all-paths --no-ext-diff --no-textconv"
)
_DISPLAY_SHORTS = "pusM?wbRzqS=G=U?iEF"

SPECS: dict[str, OptionSpec] = {
    "add": _spec("AuNnvfq", "--all --no-all --update --intent-to-add --dry-run --verbose --force --quiet"
                 " --ignore-errors --ignore-missing --renormalize --refresh --chmod= --sparse --ignore-removal"
                 " --no-ignore-removal"),
    "blame": _spec("lstwefncpM", "--show-name --show-number --show-email --porcelain --line-porcelain --incremental"
                   " --root --show-stats --date[=] --abbrev[=] --color-lines --color-by-age --minimal"),
    "branch": _spec("adDmMcCfrlvqt?u=", "--all --delete --move --copy --force --remotes --list --verbose --quiet"
                    " --track[=] --no-track --set-upstream-to= --unset-upstream --contains[=] --no-contains[=]"
                    " --merged[=] --no-merged[=] --points-at= --sort= --show-current --create-reflog --column[=]"
                    " --no-column --abbrev[=] --no-abbrev --ignore-case --format[=] --color[=] --no-color"),
    "cat-file": _spec("tspe", "--batch-check --batch --batch-all-objects --follow-symlinks --allow-unknown-type"),
    "checkout": _spec("qfb=B=t?lm", "--quiet --force --merge --detach --track[=] --no-track --orphan= --ours --theirs"
                      " --conflict= --no-guess --guess --ignore-other-worktrees --overwrite-ignore"
                      " --no-overwrite-ignore --progress --no-progress"),
    "cherry-pick": _spec("nxm=X=s=e", "--no-commit --mainline= --strategy= --strategy-option= --continue --abort"
                         " --quit --skip --allow-empty --allow-empty-message --keep-redundant-commits --ff"
                         " --signoff --no-gpg-sign"),
    "clean": _spec("fdxXnqe=", "--force --dry-run --quiet --exclude="),
    "commit": _spec("am=F=C=c=nqvsoi", "--all --message= --file= --reuse-message= --reedit-message= --fixup="
                    " --squash= --amend --no-edit --allow-empty --allow-empty-message --no-verify --verify --quiet"
                    " --verbose --signoff --no-signoff --author= --date= --reset-author --cleanup= --only --include"
                    " --dry-run --short --branch --porcelain --long --status --no-status --untracked-files[=]"
                    " --no-gpg-sign --trailer= --pathspec-from-file= --no-post-rewrite"),
    "config": _spec("l", "--list --get --get-all --local"),
    "describe": _spec("", "--all --tags --long --abbrev[=] --always --first-parent --exact-match --contains"
                      " --candidates= --match= --exclude= --dirty[=] --broken[=]"),
    "diff": _spec(_DISPLAY_SHORTS + "123", "--cached --staged --merge-base --ours --theirs --base"
                  + _DISPLAY, numbers=True),
    "fetch": _spec("apPqvtfnu", "--all --append --prune --prune-tags --quiet --verbose --tags --no-tags --force"
                   " --dry-run --depth= --deepen= --unshallow --update-head-ok --progress --no-progress"
                   " --set-upstream --atomic --no-write-fetch-head --write-fetch-head --keep --no-auto-maintenance"
                   " --no-auto-gc --no-recurse-submodules --show-forced-updates --no-show-forced-updates"),
    "log": _spec(_DISPLAY_SHORTS + "gn=", "--not --no-walk[=] --show-pulls --log-size --mailmap --no-mailmap"
                 + _DISPLAY, numbers=True),
    "ls-files": _spec("cdmostuvkiz", "--cached --deleted --modified --others --stage --unmerged --killed --ignored"
                      " --exclude-standard --directory --no-empty-directory --full-name --error-unmatch --debug"
                      " --eol --deduplicate --abbrev[=] --format[=]"),
    "merge": _spec("m=X=s=nvqe", "--no-edit --edit --ff --no-ff --ff-only --squash --no-squash --commit --no-commit"
                   " --stat --no-stat --log[=] --no-log --message= --strategy= --strategy-option= --abort --continue"
                   " --quit --allow-unrelated-histories --quiet --verbose --progress --no-progress --signoff"
                   " --no-signoff --no-verify --no-gpg-sign --no-verify-signatures --autostash --no-autostash"
                   " --into-name= --no-rerere-autoupdate --rerere-autoupdate"),
    "mv": _spec("fknv", "--force --dry-run --verbose"),
    "pull": _spec("qvX=s=r?n", "--quiet --verbose --rebase[=] --no-rebase --ff --no-ff --ff-only --squash --no-squash"
                  " --commit --no-commit --edit --no-edit --stat --no-stat --log[=] --no-log --strategy="
                  " --strategy-option= --allow-unrelated-histories --autostash --no-autostash --prune --tags"
                  " --no-tags --all --depth= --unshallow --set-upstream --progress --no-progress --signoff"
                  " --no-signoff --no-verify --no-gpg-sign --no-verify-signatures --no-recurse-submodules"
                  " --dry-run --force --append --update-head-ok --atomic"),
    "push": _spec("uqvfdno=", "--set-upstream --quiet --verbose --force --force-with-lease[=] --no-force-with-lease"
                  " --force-if-includes --delete --dry-run --tags --follow-tags --no-follow-tags --all --branches"
                  " --prune --porcelain --atomic --no-atomic --no-verify --verify --progress --no-progress"
                  " --push-option= --no-signed --no-recurse-submodules --ipv4 --ipv6"),
    "rebase": _spec("qvnfX=s=", "--continue --abort --quit --skip --onto= --keep-base --root --quiet --verbose"
                    " --stat --no-stat --force-rebase --no-ff --fork-point --no-fork-point --strategy="
                    " --strategy-option= --autostash --no-autostash --autosquash --no-autosquash --rebase-merges[=]"
                    " --no-rebase-merges --apply --merge --keep-empty --no-keep-empty --reapply-cherry-picks"
                    " --no-reapply-cherry-picks --allow-empty-message --committer-date-is-author-date"
                    " --ignore-date --reset-author-date --signoff --no-verify --verify --no-gpg-sign"
                    " --update-refs --no-update-refs --show-current-patch --whitespace= --ignore-whitespace"),
    "reflog": _spec(_DISPLAY_SHORTS + "gn=", "--all" + _DISPLAY, numbers=True),
    "remote": _spec("vft=m=", "--verbose --fetch --tags --no-tags --push --add --delete --all --dry-run --mirror[=]"),
    "reset": _spec("qN", "--soft --mixed --hard --merge --keep --quiet --no-quiet --refresh --no-refresh"
                   " --intent-to-add --pathspec-from-file= --no-recurse-submodules"),
    "restore": _spec("s=SWqm", "--source= --staged --worktree --quiet --merge --ours --theirs --conflict="
                     " --ignore-unmerged --overlay --no-overlay --progress --no-progress"),
    "rev-parse": _spec("q", "--abbrev-ref[=] --short[=] --verify --quiet --symbolic --symbolic-full-name"
                       " --show-toplevel --show-prefix --show-cdup --is-inside-work-tree --is-bare-repository"
                       " --all --branches[=] --tags[=] --remotes[=] --not"),
    "revert": _spec("nem=X=s=", "--no-commit --no-edit --edit --mainline= --strategy= --strategy-option= --continue"
                    " --abort --quit --skip --signoff --no-gpg-sign"),
    "rm": _spec("fnrq", "--force --dry-run --cached --ignore-unmatch --quiet --sparse --pathspec-from-file="),
    "shortlog": _spec("nsecw?", "--numbered --summary --email --committer --group= --format[=] --all --branches[=]"
                      " --remotes[=] --tags[=] --since= --until= --after= --before= --author= --grep= --merges"
                      " --no-merges --first-parent --max-count=", numbers=True),
    "show": _spec(_DISPLAY_SHORTS + "n=", "--not" + _DISPLAY, numbers=True),
    "show-branch": _spec("ar", "--all --remotes --current --topo-order --date-order --sparse --more[=] --list"
                         " --merge-base --independent --no-name --sha1-name --topics --reflog[=] --color[=]"
                         " --no-color"),
    "stash": _spec("m=uakqS", "--message= --include-untracked --no-include-untracked --all --keep-index"
                   " --no-keep-index --quiet --index --staged --only-untracked"),
    "status": _spec("sbvzu?", "--short --branch --porcelain[=] --long --verbose --untracked-files[=] --ignored[=]"
                    " --ahead-behind --no-ahead-behind --show-stash --renames --no-renames --find-renames[=]"
                    " --column[=] --no-column"),
    "switch": _spec("c=C=dfqmt?", "--create= --force-create= --detach --guess --no-guess --force --discard-changes"
                    " --merge --conflict= --quiet --progress --no-progress --track[=] --no-track --orphan="
                    " --ignore-other-worktrees"),
    "tag": _spec("adfln?m=", "--annotate --delete --force --list --message= --contains[=]"
                 " --no-contains[=] --merged[=] --no-merged[=] --points-at= --sort= --column[=] --no-column"
                 " --format[=] --ignore-case --create-reflog --no-sign"),
}

#: Long options that run a program, write a file, sign, open an editor, or reach other repositories,
#: with the reason; an abbreviation of one of these is refused with its reason.
DANGEROUS = {
    **dict.fromkeys(("--exec", "--upload-pack", "--receive-pack", "--output", "--open-files-in-pager", "--signed",
                     "--ext-diff", "--textconv", "--filters", "--exec-path", "--output-directory", "--run"),
                    "this option runs a program or writes outside git's control"),
    **dict.fromkeys(("--gpg-sign", "--sign", "--local-user", "--show-signature", "--verify-signatures"),
                    "signing runs an external program (gpg)"),
    **dict.fromkeys(("--interactive", "--patch", "--edit-description", "--edit-todo"),
                    "interactive modes need an editor or a terminal"),
    **dict.fromkeys(("--recurse-submodules", "--submodule-prefix", "--git-dir", "--work-tree", "--repo", "--template",
                     "--config", "--config-env", "--separate-git-dir", "--reference-if-able", "--server-option",
                     "--upload-archive", "--namespace", "--super-prefix", "--multiple"),
                    "it points git at other programs, repositories or directories"),
}
#: Short options with the same dangers, per subcommand (letters that are harmless elsewhere).
DANGEROUS_SHORTS = {
    "add": {"p": "interactive", "i": "interactive", "e": "interactive"},
    "commit": {"p": "interactive", "S": "signing"},
    "checkout": {"p": "interactive"},
    "restore": {"p": "interactive"},
    "reset": {"p": "interactive"},
    "stash": {"p": "interactive"},
    "clean": {"i": "interactive"},
    "rebase": {"i": "interactive", "x": "interactive", "S": "signing"},
    "merge": {"S": "signing"},
    "pull": {"S": "signing"},
    "cherry-pick": {"S": "signing"},
    "revert": {"S": "signing"},
    "tag": {"s": "signing", "u": "signing"},
}
SHORT_REASONS = {
    "interactive": "interactive modes need an editor or a terminal",
    "signing": "signing runs an external program (gpg)",
}
