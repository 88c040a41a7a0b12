"""Rich rendering for the quiz: questions, feedback, session summaries, the mind map."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.markdown import CodeBlock, Markdown, MarkdownElement
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult

    from learnbackend.roadmap.grading import Feedback, Presented
    from learnbackend.roadmap.mastery import BranchMastery
    from learnbackend.roadmap.primers import TopicPrimer
    from learnbackend.roadmap.quiz import SessionPlan, SessionResult

KIND_HELP = {
    "single": "one answer",
    "multiple": "pick every right answer",
    "order": "put them in order",
    "text": "type a short answer",
}


def question(console: Console, item: Presented, number: int, total: int) -> None:
    """The question panel, options lettered a), b)... and wrapped in full."""
    q = item.question
    # What to do comes first: at 80 columns a long topic is what gets cut, never "pick every right answer".
    title = Text(f"Question {number}/{total} · {KIND_HELP[q.kind]}", style="title")
    title.append(f"  {item.branch} › {q.topic} · {q.difficulty}", style="muted")
    body: list[object] = [Markdown(q.prompt)]
    if item.options:
        listing = Table.grid(padding=(0, 1))
        listing.add_column(justify="right", style="key", no_wrap=True)
        listing.add_column()
        for i, option in enumerate(item.options):
            listing.add_row(f"  {chr(ord('a') + i)})", option)
        body.append(Text(""))
        body.append(listing)
    from rich.console import Group

    console.print(Panel(Group(*body), title=title, title_align="left", border_style="cyan"))  # type: ignore[arg-type]


def hint(console: Console, text: str) -> None:
    console.print(Text("Hint: ", style="key") + Text(text))


def _letters(item: Presented, order: list[str]) -> str | None:
    """An order as the panel's letters (d → a → c), or None if an entry is not one of the options."""
    if any(entry not in item.options for entry in order):
        return None
    return " → ".join(chr(ord("a") + item.options.index(entry)) for entry in order)


def feedback(console: Console, fb: Feedback, item: Presented | None = None) -> None:
    given_letters = expected_letters = None
    listing: Table | None = None
    if item is not None and item.kind == "order" and not fb.correct:
        expected = fb.expected.split(" → ")
        given_letters, expected_letters = _letters(item, fb.given.split(" → ")), _letters(item, expected)
    if item is not None and item.kind == "multiple" and not fb.correct and fb.right:
        _multiple_feedback(console, fb, item)
        return
    if fb.correct:
        head = Text("✓ Right.", style="ok")
    elif item is not None and given_letters and expected_letters:
        # Ordering: whole sentences joined by arrows were a wall of text; letters compare at a glance.
        head = Text("✗ Not quite.", style="fail")
        head.append(f"  You answered: {given_letters}", style="muted")
        head.append("\n  Expected:     ", style="bold")
        head.append(expected_letters)
        listing = Table.grid(padding=(0, 1))
        listing.add_column(no_wrap=True)
        listing.add_column()
        for entry in expected:
            listing.add_row(f"{chr(ord('a') + item.options.index(entry))})", entry)
    else:
        head = Text("✗ Not quite.", style="fail")
        head.append(f"  You answered: {fb.given}", style="muted")
        head.append("\n  Expected: ", style="bold")
        head.append(fb.expected)
    for note in fb.notes:
        head.append(f"\n  {note}", style="warn")
    console.print(head)
    if listing is not None:
        from rich.padding import Padding

        console.print(Padding(listing, (0, 0, 0, 4)))
    console.print(Panel(Markdown(fb.explanation), title="Why", title_align="left", border_style="muted"))


def _multiple_feedback(console: Console, fb: Feedback, item: Presented) -> None:
    """Multiple choice, wrong: letters at a glance, then each option once with what was wrong about it."""
    from rich.padding import Padding

    def letters(options: list[str]) -> str:
        return ", ".join(sorted(chr(ord("a") + item.options.index(o)) for o in options if o in item.options)) or "nothing"

    head = Text("✗ Not quite.", style="fail")
    head.append(f"  You picked: {letters(fb.picked)}", style="muted")
    head.append("\n  Right:      ", style="bold")
    head.append(letters(fb.right))
    console.print(head)
    listing = Table.grid(padding=(0, 1))
    listing.add_column(no_wrap=True)
    listing.add_column(no_wrap=True)
    listing.add_column()
    for i, option in enumerate(item.options):
        picked, right = option in fb.picked, option in fb.right
        if picked == right and not right:
            continue  # rightly left out: nothing to say
        mark = (Text("✓ right", style="ok") if picked else Text("missed", style="warn")) if right \
            else Text("✗ wrong", style="fail")
        listing.add_row(f"{chr(ord('a') + i)})", mark, option)
    console.print(Padding(listing, (0, 0, 0, 4)))
    console.print(Panel(Markdown(fb.explanation), title="Why", title_align="left", border_style="muted"))


def plan_note(console: Console, plan: SessionPlan) -> None:
    if plan.note:
        console.print(Text(plan.note, style="warn"))


def summary(console: Console, result: SessionResult, total: int) -> None:
    answered = len(result.feedback)
    # The title on its own line: as a table title it wrapped to the (narrow) table's width.
    console.print(Text(f"{result.mode.capitalize()} session: {', '.join(result.branches) or 'all branches'}",
                       style="bold"))
    if answered:
        table = Table()
        table.add_column("question", style="code")
        table.add_column("")
        table.add_column("score", justify="right")
        for fb in result.feedback:
            table.add_row(fb.qid, Text("✓", style="ok") if fb.correct else Text("✗", style="fail"), f"{fb.score:.2f}")
        console.print(table)
    line = Text(f"{result.correct}/{answered} right", style="bold")
    if result.stopped_early:
        line.append(f" (stopped after {answered} of {total})", style="muted")
    console.print(line)
    if result.placement_passed is True:
        console.print(Text("Placement passed: this branch is marked as known. Review keeps it fresh.", style="ok"))
    elif result.placement_passed is False:
        branch = result.feedback[0].qid.split("/")[0].removeprefix("roadmap-") if result.feedback else "NAME"
        console.print(Text(f"Placement not passed (80% needed). Practise this branch:\n"
                           f"  learnbackend quiz start --branch {branch}", style="warn"))
    console.print(Text("Mind map: learnbackend quiz map · review later: learnbackend quiz review", style="muted"))


def _bar(percent: int, width: int = 12) -> Text:
    filled = round(width * percent / 100)
    style = "ok" if percent >= 80 else "warn" if percent >= 40 else "fail" if percent > 0 else "muted"
    text = Text("■" * filled, style=style)
    text.append("□" * (width - filled), style="muted")
    text.append(f" {percent:3d}%")
    return text


def mind_map(console: Console, branches: list[BranchMastery]) -> None:
    overall = round(sum(b.percent for b in branches) / len(branches)) if branches else 0
    tree = Tree(Text("Backend roadmap ", style="title") + _bar(overall))
    for b in branches:
        label = Text(f"{b.title:<14}", style="bold") + _bar(b.percent)
        if b.placed_out:
            label.append("  placed out", style="ok")
        node = tree.add(label)
        for t in b.topics:
            node.add(Text(f"{t.name:<28}") + _bar(t.percent, width=8) + Text(f"  {t.known}/{t.total} known, {t.seen} seen", style="muted"))
    console.print(tree)


class _CompactCode(CodeBlock):
    """A fenced code block without blank padding lines: a primer must fit an 80x24 terminal."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Syntax(str(self.text).rstrip(), self.lexer_name, theme=self.theme, word_wrap=True, padding=(0, 1))


class _PrimerMarkdown(Markdown):
    elements: ClassVar[dict[str, type[MarkdownElement]]] = {
        **Markdown.elements, "fence": _CompactCode, "code_block": _CompactCode}


def primer(console: Console, taught: TopicPrimer, *, first: bool = True, part: str = "all") -> None:
    """A topic's primer: what, why, one worked example and a primary source, wrapped to the console.

    ``part`` is "intro" (what and why), "example" (the example and the source) or "all".
    A session shows the two parts one after the other, so each fits an 80x24 terminal.
    """
    from rich.console import Group

    p = taught.primer
    heading = f"{'Before the questions: ' if first else ''}{taught.branch} › {p.topic}"
    if part in ("all", "intro"):
        intro: list[object] = [_PrimerMarkdown(p.what), Text(""), Text("Why it matters", style="bold"), _PrimerMarkdown(p.why)]
        if part == "all":
            intro += [Text(""), Text("Example", style="bold"), _PrimerMarkdown(p.example)]
        console.print(Panel(Group(*intro), title=Text(heading, style="title"), title_align="left",  # type: ignore[arg-type]
                            border_style="cyan"))
    if part == "example":
        console.print(Panel(_PrimerMarkdown(p.example), title=Text(f"{heading}: an example", style="title"),
                            title_align="left", border_style="cyan"))
    if part in ("all", "example"):
        # Outside the panel and never wrapped by us: a long address stays one piece to copy or click.
        console.print(Text("Read more: ", style="bold") + Text(p.source.title))
        console.print(Text(p.source.url, style="muted"), soft_wrap=True)


def primer_list(console: Console, taught: list[TopicPrimer], seen: set[str]) -> None:
    """Every primer, by branch, with a tick for the ones already read."""
    table = Table(box=None, padding=(0, 2))
    table.add_column("branch", style="bold", no_wrap=True)
    table.add_column("topic")
    table.add_column("command", style="code", no_wrap=True)
    table.add_column("")
    last = ""
    for t in taught:
        table.add_row(t.branch if t.branch != last else "", t.primer.topic, f"quiz learn {t.slug}",
                      Text("✓ read", style="ok") if t.key in seen else Text(""))
        last = t.branch
    console.print(table)
