"""Git levels as typed data: the scenario's setup steps, the goal's conditions, the reference solution.

A level is an exercise of kind ``git-level`` in a lesson file under
``lessons/git/``. Its ``setup`` is a list of steps run by the tool (write files,
commit, push, branch...) in the learner's working repository or in the
teammate's clone; its ``done_when`` is a list of conditions checked on the real
repositories. Nothing here imports the course model (which imports this module).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from learnbackend.errors import RefusedError
from learnbackend.gitsandbox.policy import check_git, check_path
from learnbackend.gitsandbox.solution import SolutionSyntaxError, parse_line


def ref_label(ref: str) -> str:
    """A ref as the learner reads it: ``remote:main`` is "main on the remote"."""
    return f"{ref.removeprefix('remote:')} on the remote" if ref.startswith("remote:") else ref


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _relative_path(value: str) -> str:
    try:
        return check_path(value, 0, inside="work")
    except RefusedError:
        raise ValueError(f"{value!r} must be a relative path inside the repository (no '..', no .git)") from None


RelPath = Annotated[str, StringConstraints(min_length=1), Field(description="A path relative to the repository root.")]
Branch = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$", max_length=80),
                   Field(description="A branch name.")]
Ref = Annotated[str, StringConstraints(min_length=1, max_length=120), Field(
    description="A revision of the working repository (HEAD, main, origin/main, HEAD~1...) "
                "or 'remote:BRANCH' for a branch of the remote repository itself.")]
RepoName = Literal["work", "teammate"]


# --- setup steps ------------------------------------------------------------------------
class _Step(_Model):
    repo: RepoName = Field(default="work", description="Where the step runs: the learner's repository "
                           "or the teammate's clone (created from the remote on first use).")


class _PathStep(_Step):
    path: RelPath

    _safe = field_validator("path")(_relative_path)


class WriteStep(_PathStep):
    """Create or overwrite a file."""

    do: Literal["write"]
    text: str = Field(description="The whole content of the file.")


class AppendStep(_PathStep):
    """Append text to a file."""

    do: Literal["append"]
    text: str = Field(description="Text added at the end of the file.")


class DeleteStep(_PathStep):
    """Delete a file from the working tree."""

    do: Literal["delete"]


class AddStep(_Step):
    """Stage files (``git add``); all changes when ``paths`` is empty."""

    do: Literal["add"]
    paths: list[RelPath] = Field(default_factory=list, description="Files to stage; empty means all.")

    _safe = field_validator("paths")(lambda v: [_relative_path(p) for p in v])


class CommitStep(_Step):
    """Commit; by default everything is staged first."""

    do: Literal["commit"]
    message: str = Field(min_length=1, description="The commit message.")
    all: bool = Field(default=True, description="Stage every change first (git add -A).")


class PushStep(_Step):
    """Push the current branch (or ``branch``) to the remote, setting its upstream."""

    do: Literal["push"]
    branch: Branch | None = Field(default=None, description="The branch to push; default: the current one.")


class PullStep(_Step):
    """Pull (fetch + merge) from the remote."""

    do: Literal["pull"]


class FetchStep(_Step):
    """Fetch from the remote (updates origin/* only)."""

    do: Literal["fetch"]


class BranchStep(_Step):
    """Create a branch at HEAD, and optionally switch to it."""

    do: Literal["branch"]
    name: Branch
    switch: bool = Field(default=False, description="Switch to the new branch.")


class SwitchStep(_Step):
    """Switch to an existing branch."""

    do: Literal["switch"]
    name: Branch


class MergeStep(_Step):
    """Merge a branch into the current one (with a merge commit)."""

    do: Literal["merge"]
    name: Branch


SetupStep = Annotated[
    WriteStep | AppendStep | DeleteStep | AddStep | CommitStep | PushStep | PullStep | FetchStep | BranchStep | SwitchStep | MergeStep,
    Field(discriminator="do"),
]


# --- goal conditions --------------------------------------------------------------------
class _Condition(_Model):
    description: str | None = Field(default=None, description="How the learner reads this condition; "
                                       "a sensible default is generated.")

    def describe(self) -> str:
        """The condition in words."""
        return self.description or self._default_description()

    def _default_description(self) -> str:  # pragma: no cover - every subclass overrides it
        return type(self).__name__


class _FileCondition(_Condition):
    path: RelPath

    _safe = field_validator("path")(_relative_path)


class Staged(_FileCondition):
    check: Literal["staged"]

    def _default_description(self) -> str:
        return f"{self.path} is staged"


class Untracked(_FileCondition):
    check: Literal["untracked"]

    def _default_description(self) -> str:
        return f"{self.path} is untracked"


class Modified(_FileCondition):
    check: Literal["modified"]

    def _default_description(self) -> str:
        return f"{self.path} has changes that are not staged"


class Unchanged(_FileCondition):
    check: Literal["unchanged"]

    def _default_description(self) -> str:
        return f"{self.path} is the same as in the last commit"


class FileContains(_FileCondition):
    check: Literal["file-contains"]
    text: str = Field(min_length=1)
    present: bool = True

    def _default_description(self) -> str:
        return f"{self.path} {'contains' if self.present else 'does not contain'} {self.text!r}"


class CommitFile(_FileCondition):
    check: Literal["commit-file"]
    ref: Ref = "HEAD"
    exists: bool = Field(default=True, description="Whether the file must be in that commit at all.")
    contains: str | None = Field(default=None, description="Text the committed file must contain.")
    lacks: str | None = Field(default=None, description="Text the committed file must not contain.")

    def _default_description(self) -> str:
        if not self.exists:
            return f"{self.path} is not in {ref_label(self.ref)}"
        extra = f" with {self.contains!r}" if self.contains else ""
        extra += f" without {self.lacks!r}" if self.lacks else ""
        return f"{self.path} is committed in {ref_label(self.ref)}{extra}"


class HeadChanges(_Condition):
    check: Literal["head-changes"]
    paths: list[RelPath] = Field(min_length=1, description="Exactly the files the last commit changed.")

    def _default_description(self) -> str:
        return "the last commit changes only " + ", ".join(self.paths)


class Clean(_Condition):
    check: Literal["clean"]

    def _default_description(self) -> str:
        return "the working tree is clean (nothing to commit, no merge in progress)"


class NoConflictMarkers(_Condition):
    check: Literal["no-conflict-markers"]

    def _default_description(self) -> str:
        return "no file has conflict markers (<<<<<<<)"


class CommitMessage(_Condition):
    check: Literal["commit-message"]
    ref: Ref = "HEAD"
    matches: str = Field(min_length=1, description="A regular expression (searched, case-insensitive).")

    def _default_description(self) -> str:
        return f"the message of {ref_label(self.ref)} matches /{self.matches}/"


class CommitCount(_Condition):
    check: Literal["commit-count"]
    ref: Ref = "HEAD"
    count: int = Field(ge=0)

    def _default_description(self) -> str:
        return f"{ref_label(self.ref)} has {self.count} commit(s) in its history"


class HasCommit(_Condition):
    check: Literal["has-commit"]
    ref: Ref = "HEAD"
    message: str = Field(min_length=1, description="A regular expression matched against commit messages.")
    present: bool = True

    def _default_description(self) -> str:
        verb = "includes" if self.present else "does not include"
        return f"{ref_label(self.ref)} {verb} a commit matching /{self.message}/"


class SameCommit(_Condition):
    check: Literal["same-commit"]
    ref: Ref = "HEAD"
    other: Ref

    def _default_description(self) -> str:
        return f"{ref_label(self.ref)} and {ref_label(self.other)} are the same commit"


class MergeCommit(_Condition):
    check: Literal["merge-commit"]
    ref: Ref = "HEAD"

    def _default_description(self) -> str:
        return f"{ref_label(self.ref)} is a merge commit"


class BranchExists(_Condition):
    check: Literal["branch-exists"]
    name: Branch
    where: Literal["local", "remote"] = "local"

    def _default_description(self) -> str:
        return f"branch {self.name} exists {'on the remote' if self.where == 'remote' else 'locally'}"


class CurrentBranch(_Condition):
    check: Literal["current-branch"]
    name: Branch

    def _default_description(self) -> str:
        return f"you are on branch {self.name}"


class Upstream(_Condition):
    check: Literal["upstream"]
    branch: Branch
    upstream: str = Field(min_length=1, description="e.g. origin/feature")

    def _default_description(self) -> str:
        return f"{self.branch} tracks {self.upstream}"


Condition = Annotated[
    Staged | Untracked | Modified | Unchanged | FileContains | CommitFile | HeadChanges | Clean | NoConflictMarkers | CommitMessage | CommitCount | HasCommit | SameCommit | MergeCommit | BranchExists | CurrentBranch | Upstream,
    Field(discriminator="check"),
]


class GitLevel(_Model):
    """A git sandbox level: a scenario built on real repositories and a goal checked on them."""

    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)] = Field(
        description="Unique within the lesson; the global id is '<lesson id>/<id>'.")
    kind: Literal["git-level"] = Field(description="A git sandbox level.")
    title: Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)] = Field(description="Shown in lists.")
    goal: Annotated[str, StringConstraints(min_length=1)] = Field(description="What to do, in Markdown.")
    hint_list: list[Annotated[str, StringConstraints(min_length=1)]] = Field(
        alias="hints", min_length=1, description="Hints, revealed one at a time.")
    explanation: Annotated[str, StringConstraints(min_length=1)] = Field(description="Shown on success.")
    setup: list[SetupStep] = Field(default_factory=list, description="Steps that build the scenario, in order.")
    done_when: list[Condition] = Field(min_length=1, description="Every condition must hold for the level to pass.")
    solution: list[str] = Field(min_length=1, description="A reference solution, one command per item "
                                "(git ..., write PATH TEXT, append PATH TEXT, delete PATH); the tests replay it.")

    @field_validator("solution")
    @classmethod
    def _solution_is_replayable(cls, lines: list[str]) -> list[str]:
        for number, line in enumerate(lines, 1):
            try:
                command = parse_line(line, number)
            except SolutionSyntaxError as exc:
                raise ValueError(f"solution {exc}") from None
            if command is None:
                continue
            try:
                if command.op == "git":
                    check_git(command.args, number)
                else:
                    check_path(command.args[0], number, inside="work")
            except RefusedError as exc:  # keep pydantic's message plain
                raise ValueError(f"solution line {number}: {getattr(exc, 'message', exc)}") from None
        return lines

    def hints(self) -> list[str]:
        """The hints, in the order they are revealed."""
        return list(self.hint_list)

    @property
    def uses_teammate(self) -> bool:
        """Whether the scenario has a teammate clone."""
        return any(step.repo == "teammate" for step in self.setup)
