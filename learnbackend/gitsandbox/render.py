"""Rich and JSON rendering for `learnbackend git ...`: levels, goals, the four areas, check results."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markdown import Markdown
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from learnbackend.course.render import print_json

if TYPE_CHECKING:
    from pathlib import Path

    from learnbackend.context import Environment
    from learnbackend.course.results import ExerciseResult
    from learnbackend.gitsandbox.areas import (
        AreaSnapshot,
        BranchInfo,
        CommitInfo,
        FileEntry,
    )
    from learnbackend.gitsandbox.graph import Graph
    from learnbackend.gitsandbox.levels import LevelRef
    from learnbackend.gitsandbox.session import (
        CheckView,
        HintView,
        LevelRow,
        ShellSpec,
        Started,
        StatusView,
    )

_STATE = {"passed": ("✓ passed", "ok"), "failed": ("✗ not yet", "fail"), "started": ("… started", "warn"),
          "new": ("new", "muted")}
_FILE_STYLE = {"untracked": ("?", "red"), "conflict": ("!", "bold red"), "new": ("A", "green"),
               "modified": ("M", "yellow"), "deleted": ("D", "red"), "renamed": ("R", "cyan")}


def _title(ref: LevelRef) -> Text:
    text = Text(f"Level {ref.number}: ", style="title")
    text.append(ref.level.title, style="title")
    text.append(f"  ({ref.key})", style="muted")
    return text


def levels(env: Environment, rows: list[LevelRow], *, as_json: bool) -> None:
    """The level list with progress."""
    if as_json:
        print_json(env, [{"number": r.ref.number, "id": r.ref.key, "title": r.ref.level.title, "state": r.state,
                          "current": r.current, "built": r.built} for r in rows])
        return
    table = Table(title="Git sandbox levels", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("level", style="code", no_wrap=True)
    table.add_column("title")
    table.add_column("progress", no_wrap=True)
    # Under 100 columns, full ids squeeze the titles into many lines: the lesson becomes a heading row.
    narrow = env.out.width < 100
    lesson = None
    for row in rows:
        label, style = _STATE.get(row.state, (row.state, ""))
        number = Text(("▶ " if row.current else "") + str(row.ref.number), style="key" if row.current else "")
        name = row.ref.key
        if narrow:
            row_lesson, _, name = row.ref.key.partition("/")
            if row_lesson != lesson:
                lesson = row_lesson
                table.add_row("", Text(f"{lesson}/", style="bold"), "", "")
            name = f"  {name}"
        table.add_row(number, name, row.ref.level.title, Text(label, style=style))
    env.out.print(table)
    passed = sum(r.state == "passed" for r in rows)
    env.out.print(Text(f"{passed} of {len(rows)} passed. Start one with: learnbackend git start NUMBER", style="muted"))


def started(env: Environment, view: Started, *, rebuilt: bool = False) -> None:
    """The goal of a freshly built level and where to work on it."""
    env.out.print(_title(view.ref))
    if view.concept:
        env.out.print(Panel(Markdown(view.concept), title=f"The idea: {view.ref.entry.lesson.title}", title_align="left",
                            border_style="muted"))
    env.out.print(Panel(Markdown(view.ref.level.goal), title="Goal", title_align="left", border_style="cyan"))
    graphs(env, view.now, view.goal)
    verb = "Rebuilt the level" if rebuilt else "Resumed the level as you left it" if view.resumed else "Built the level"
    where = Text(f"{verb}. Your repository:\n  ", style="muted")
    where.append(str(view.sandbox.work), style="code")
    env.out.print(where)
    guide = Table.grid(padding=(0, 2))
    guide.add_column(style="code", no_wrap=True)
    guide.add_column(style="muted")
    for command, what in (("shell", "open a shell there; your git commands are recorded as your solution"),
                          ("status", "draw the four areas"), ("hint", "reveal a hint"),
                          ("check", "check the goal"), ("reset", "start the level over")):
        guide.add_row(f"  learnbackend git {command}", what)
    env.out.print(guide)
    if view.inside_its_shell:
        env.out.print(Text("You are in this level's shell, whose directory was just replaced: run", style="warn"))
        env.out.print(Text(f"  cd {view.sandbox.work}", style="warn"))
    elif view.inside_other_shell:
        env.out.print(Text("You are still in the shell of another level: type `exit`, then run  "
                           "learnbackend git shell", style="warn"))


def _refs(decoration: str) -> str:
    """' (HEAD -> main, origin/main)' → 'HEAD→main, origin/main': names first, so they are never cut off."""
    names = [n.strip().replace("HEAD -> ", "HEAD→") for n in decoration.strip(" ()").split(",")]
    return ", ".join(n for n in names if n and n != "origin/HEAD")


def _graph_text(lines: list[str], empty: str, *, bare: bool = False) -> Text:
    if not lines:
        return Text(empty, style="muted")
    text = Text(no_wrap=True, overflow="ellipsis")
    for i, line in enumerate(lines):
        if i:
            text.append("\n")
        graph, star, rest = line.partition("* ")
        if not star:
            text.append(line, style="muted")
            continue
        text.append(graph + "● ", style="yellow")
        rest = rest.lstrip()  # a merge is drawn as "*   subject"
        subject, paren, refs = rest.rpartition(" (") if rest.endswith(")") else (rest, "", "")
        names = _refs(refs).replace("HEAD→", "") if bare else _refs(refs)  # a bare remote's HEAD is no checkout
        if paren and names:
            text.append(f"[{names}] ", style="cyan")
        text.append(subject)
    return text


def graphs(env: Environment, now: Graph | None, goal: Graph | None) -> None:
    """Your commit graph beside the goal's, for your repository and for the remote (LearnGitBranching style)."""
    if now is None or goal is None:
        return
    table = Table(box=None, pad_edge=False, expand=True, show_edge=False, padding=(0, 2))
    table.add_column(Text("Commit graph now", style="bold"), ratio=1, no_wrap=True, overflow="ellipsis")
    table.add_column(Text("Goal", style="bold"), ratio=1, no_wrap=True, overflow="ellipsis")
    table.add_row(Text("your repository", style="muted"), Text("your repository", style="muted"))
    table.add_row(_graph_text(now.work, "(no commits)"), _graph_text(goal.work, "(no commits)"))
    table.add_row(Text("remote", style="muted"), Text("remote", style="muted"))
    table.add_row(_graph_text(now.remote, "(no commits)", bare=True), _graph_text(goal.remote, "(no commits)", bare=True))
    env.out.print(table)


def _file_lines(entries: list[FileEntry], empty: str) -> Text:
    if not entries:
        return Text(empty, style="muted")
    text = Text()
    for i, entry in enumerate(entries):
        letter, style = _FILE_STYLE.get(entry.change, ("M", "yellow"))
        text.append(("\n" if i else "") + f"{letter} ", style=style)
        text.append(entry.path)
        text.append(f" {entry.change}", style="muted")
    return text


def _commit_line(commit: CommitInfo | None, text: Text, prefix: str = "") -> None:
    if commit is None:
        text.append(prefix + "(no commit)", style="muted")
        return
    text.append(prefix)
    text.append(commit.sha, style="yellow")
    text.append(" " + commit.summary)


def _local(areas: AreaSnapshot) -> Text:
    text = Text()
    text.append("HEAD → ", style="bold")
    text.append(areas.head or "(none)", style="bold cyan")
    for branch in areas.branches:
        text.append("\n" + ("* " if branch.current else "  "), style="bold")
        text.append(branch.name, style="cyan")
        text.append(" " + (branch.commit.sha if branch.commit else ""), style="yellow")
        if branch.upstream:
            if not (branch.ahead or branch.behind):
                text.append(f" = {branch.upstream}", style="muted")
            else:
                moves = [f"↑{branch.ahead}" if branch.ahead else "", f"↓{branch.behind}" if branch.behind else ""]
                # On a line of its own: in an 80-column terminal it would be cut off after the sha.
                text.append(f"\n    {' '.join(filter(None, moves))} vs {branch.upstream}", style="warn")
    if areas.log:
        text.append("\ncommits on HEAD:", style="muted")
        for commit in areas.log:
            _commit_line(commit, text, "\n")
    else:
        text.append("\nno commits yet", style="muted")
    return text


def _remote(areas: AreaSnapshot) -> Text:
    text = Text()
    if not areas.remote_branches:
        return Text("empty: nothing pushed yet", style="muted")
    tracking = {b.name.removeprefix("origin/"): b for b in areas.tracking}
    for branch in areas.remote_branches:
        text.append(("\n" if text else "") + branch.name, style="cyan")
        text.append(" " + (branch.commit.sha if branch.commit else ""), style="yellow")
        copy: BranchInfo | None = tracking.get(branch.name)
        if copy is None:
            text.append(" not fetched", style="warn")
        elif copy.commit and branch.commit and copy.commit.sha != branch.commit.sha:
            text.append(f"\n  origin/{branch.name}: {copy.commit.sha} (stale)", style="warn")
        else:
            text.append(f" = origin/{branch.name}", style="muted")
    if areas.remote_log:
        text.append("\ncommits on main:", style="muted")
        for commit in areas.remote_log:
            _commit_line(commit, text, "\n")
            if commit.author and not commit.author.startswith("You"):
                text.append(f" ({commit.author.split()[0]})", style="magenta")
    return text


def status(env: Environment, view: StatusView, *, as_json: bool) -> None:
    """The four areas side by side, with the commands that move changes between them."""
    areas = view.areas
    if as_json:
        graph = {"now": view.now.to_dict() if view.now else None, "goal": view.goal.to_dict() if view.goal else None}
        print_json(env, {"level": view.ref.key, "repository": str(view.sandbox.work), **areas.to_dict(), "graph": graph})
        return
    env.out.print(_title(view.ref))
    working = Panel(_file_lines(areas.working, "clean"), title="Working directory", title_align="left",
                    border_style="red")
    staged = Panel(_file_lines(areas.staged, "nothing staged"), title="Staging area", title_align="left",
                   border_style="yellow")
    local = Panel(_local(areas), title="Local repository", title_align="left", border_style="green")
    remote = Panel(_remote(areas), title="Remote (origin)", title_align="left", border_style="blue")
    if env.out.width >= 140:
        grid = Table.grid(expand=True, padding=(0, 1))
        for _ in range(4):
            grid.add_column(ratio=1, overflow="ellipsis", no_wrap=True)
        grid.add_row(working, staged, local, remote)
        grid.add_row(*(Text(label, style="muted", justify="center") for label in
                       ("git add ▶", "git commit ▶", "git push ▶", "◀ git fetch / pull")))
    else:
        # A U-shaped flow: working ▶ staging, down (commit) to the local repository right under
        # the staging area, then ◀ (push) to the remote on the left.
        grid = Table.grid(expand=True)
        grid.add_column(ratio=1, overflow="ellipsis", no_wrap=True)
        grid.add_column(width=12, justify="center")
        grid.add_column(ratio=1, overflow="ellipsis", no_wrap=True)
        grid.add_row(working, Text("\ngit add\n▶", style="muted", justify="center"), staged)
        grid.add_row(Text(""), Text(""), Text("▼ git commit", style="muted", justify="center"))
        grid.add_row(remote, Text("\ngit push\n◀\n▶\ngit fetch\ngit pull", style="muted", justify="center"), local)
    env.out.print(grid)
    graphs(env, view.now, view.goal)
    if areas.merging:
        env.out.print(Text("A merge is in progress: fix the conflicts, `git add` them, then `git commit`.", style="warn"))
    env.out.print(Text(f"Repository: {view.sandbox.work}", style="muted"))


def hint(env: Environment, view: HintView) -> None:
    """The hints revealed so far, the newest last."""
    env.out.print(_title(view.ref))
    for number, text in enumerate(view.shown, 1):
        newest = number == len(view.shown)
        env.out.print(Panel(Markdown(text), title=f"Hint {number} of {view.total}", title_align="left",
                            border_style="magenta" if newest else "muted"))
    if not view.new:
        env.out.print(Text("That was the last hint. `learnbackend git reset` starts the level over.", style="muted"))


def _conditions_table(result: ExerciseResult) -> Table:
    table = Table(show_header=True, header_style="bold", expand=False)
    table.add_column("", no_wrap=True)
    table.add_column("condition")
    table.add_column("expected")
    table.add_column("actual")
    for cond in result.conditions:
        mark = Text("✓", style="ok") if cond.passed else Text("✗", style="fail")
        expected = "" if cond.passed else str(cond.expected)
        actual = "" if cond.passed else str(cond.actual)
        table.add_row(mark, Text(cond.description), Text(expected, style="ok"), Text(actual, style="fail"))
    return table


def checked(env: Environment, view: CheckView, *, as_json: bool) -> None:
    """The check result: what failed (expected vs actual), or the explanation on success."""
    result = view.result
    if as_json:
        print_json(env, {**result.to_dict(), "solution_path": str(view.solution_path) if view.solution_path else None,
                         "next_level": view.next_level.key if view.next_level else None})
        return
    env.out.print(_title(view.ref))
    if result.passed:
        env.out.print(Text("✓ Level passed!", style="ok"))
        env.out.print(Panel(Markdown(view.ref.level.explanation), title="Why it works", title_align="left",
                            border_style="green"))
        recorded = [line for line in view.transcript if line.strip() and not line.startswith("#")]
        if view.solution_path and recorded:
            env.out.print(Text(f"Your commands were saved as the solution: {view.solution_path}", style="muted"))
        elif view.solution_path:
            env.out.print(Text("No commands were recorded (they are only recorded in `learnbackend git shell`), "
                               "so the saved solution is empty.", style="warn"))
        if view.next_level:
            nxt = Text("Next: ", style="muted")
            nxt.append(f"learnbackend git start {view.next_level.number}", style="code")
            nxt.append(f"  ({view.next_level.level.title})", style="muted")
            env.out.print(nxt)
        else:
            env.out.print(Text("Every git level is passed. Well done!", style="ok"))
        return
    met = sum(c.passed for c in result.conditions)
    env.out.print(Text(f"✗ Not yet: {met} of {len(result.conditions)} conditions met.", style="fail"))
    env.out.print(_conditions_table(result))
    env.out.print(Text("Stuck? learnbackend git hint  ·  see the areas: learnbackend git status", style="muted"))


def _why_it_failed(output: str) -> str:
    """The line of git's output that says why a command failed (its first error, else its last line)."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    line = next((line for line in lines if line.startswith(("fatal:", "error:", "! ["))), lines[-1])
    return " ".join(line.split())


def replayed(env: Environment, ref: LevelRef, result: ExerciseResult, *, as_json: bool) -> None:
    """The result of replaying a solution file."""
    if as_json:
        print_json(env, result.to_dict())
        return
    env.out.print(_title(ref))
    steps = result.details.get("replay", {}).get("steps", [])
    table = Table(title="Replay", title_justify="left")
    table.add_column("line", justify="right")
    table.add_column("command")
    table.add_column("exit", justify="right")
    for step in steps:
        command = Text(step["command"])
        if step.get("output"):
            command.append("\n" + _why_it_failed(step["output"]), style="muted")
        table.add_row(str(step["line"]), command, Text(str(step["exit_code"]),
                      style="ok" if step["exit_code"] == 0 else "warn"))
    env.out.print(table)
    if result.passed:
        env.out.print(Text(f"✓ passed ({result.duration_s:.2f} s)", style="ok"))
    elif result.status == "error":
        env.out.print(Text(f"✗ error: {result.message}", style="fail"))
    else:
        env.out.print(Text("✗ the goal is not met:", style="fail"))
        env.out.print(_conditions_table(result))


def entering_shell(env: Environment, spec: ShellSpec) -> None:
    """Printed before the subshell starts."""
    env.out.print(_title(spec.ref))
    env.out.print(Panel(Markdown(spec.ref.level.goal), title="Goal", title_align="left", border_style="cyan"))
    env.out.print(Text(f"Opening a shell in {spec.cwd}", style="muted"))


def left_shell(env: Environment, spec: ShellSpec, code: int, *, passed: bool = False) -> None:
    """Printed when the learner leaves the subshell: what to do next."""
    if passed:
        text = Text("Left the level's shell; it is passed. All levels: ", style="muted")
        text.append("learnbackend git levels", style="code")
    else:
        text = Text("Left the level's shell. Check your work with ", style="muted")
        text.append("learnbackend git check", style="code")
    env.out.print(text)


def solution(env: Environment, ref: LevelRef, lines: list[str]) -> None:
    """A saved solution, verbatim (so it can be redirected into a solution file)."""
    env.out.file.write("\n".join(lines) + "\n")
    env.out.file.flush()


def cleaned(env: Environment, roots: list[Path]) -> None:
    """Which sandboxes were removed."""
    for root in roots:
        env.out.print(Text(f"removed {root}", style="muted"))
    env.out.print(Text(f"Removed {len(roots)} sandbox(es). Your progress is kept.", style="ok"))

