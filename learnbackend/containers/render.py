"""Rendering of the containers lab: doctor, the comparison (table + terminal chart), demos, clean."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.markdown import Markdown
from rich.panel import Panel
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from learnbackend.course.render import print_json
from learnbackend.errors import UsageError

if TYPE_CHECKING:
    from learnbackend.containers.content import DemoText
    from learnbackend.containers.demos import DemoResult
    from learnbackend.containers.engine import CleanReport
    from learnbackend.containers.measure import Comparison
    from learnbackend.context import Environment


def _mark(ok: bool) -> Text:
    return Text("✓", style="ok") if ok else Text("✗", style="fail")


def doctor(env: Environment, report: dict[str, Any], *, as_json: bool) -> None:
    virt = report["virtualization"]
    if as_json:
        print_json(env, {"checks": [c.to_dict() for c in report["checks"]], "virtualization": virt.to_dict(),
                         "kernel": report["kernel"], "cpus": report["cpus"]})
        return
    table = Table(title="containers lab: what this machine offers", title_justify="left")
    for column in ("", "what", "found"):
        table.add_column(column)
    for check in report["checks"]:
        table.add_row(_mark(check.ok), check.name, check.detail)
    env.out.print(table)
    for check in report["checks"]:
        if not check.ok and check.fix:
            env.out.print(Text(f"{check.name}: ", style="bold").append(check.fix, style="warn"))
    if virt.host_is_vm or virt.engine_in_vm or virt.in_container:
        where = "inside a container" if virt.in_container else "inside a virtual machine"
        if virt.engine_in_vm and not virt.host_is_vm:
            where = "behind a VM (your Docker engine runs in one)"
        env.out.print(Text(f"\nYou are already virtualized: this runs {where}.", style="title"))
        for signal in virt.signals:
            env.out.print(Text(f"  • {signal}", style="muted"))
        from rich.padding import Padding

        # Padded, not prefixed with spaces: the wrapped lines keep the indent.
        env.out.print(Padding(Text("So every figure the lab measures includes one more layer than it names: a \"bare "
                                   "process\" here is a process in a VM, and a VM here is a VM inside a VM."), (0, 0, 0, 2)))
    else:
        env.out.print(Text(f"\nNo sign of virtualization: this looks like real hardware (kernel {report['kernel']}).",
                           style="ok"))


def with_progress(env: Environment, runs: int, vm_runs: int, *, quiet: bool) -> Comparison:
    """Run :func:`measure.compare` behind a progress bar on stderr."""
    from learnbackend.containers import measure

    if quiet:
        return measure.compare(runs, vm_runs)
    columns = (TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=env.err, transient=True) as progress:
        task = progress.add_task("measuring", total=measure.total_steps(runs, vm_runs))

        def step(label: str) -> None:
            progress.update(task, advance=1, description=label)

        return measure.compare(runs, vm_runs, step)


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    return f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"


def fmt_kib(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value / 1024:.1f} MiB" if value >= 1024 else f"{value:.0f} KiB"


def _bar(value: float, high: float, width: int = 40) -> str:
    """A bar on a linear scale (eighths of a block for the short ones): 225 ms and 2.8 s must look different."""
    if high <= 0:
        return ""
    eighths = round(value / high * width * 8)
    full, part = divmod(eighths, 8)
    return "█" * full + (" ▏▎▍▌▋▊▉"[part] if part else "") if eighths else "▏"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def fmt_range(low: float | None, high: float | None) -> str:
    """``3.1–4.2 ms`` (one unit when both share it); a dash when there is no spread to show."""
    if low is None or high is None or fmt_ms(low) == fmt_ms(high):
        return "—"
    a, b = fmt_ms(low), fmt_ms(high)
    if a.split()[-1] == b.split()[-1]:
        return f"{a.split()[0]}–{b}"
    return f"{a} – {b}"


def comparison(env: Environment, result: Comparison, *, as_json: bool) -> None:
    from rich import box

    if as_json:
        print_json(env, result.to_dict())
        return
    boots = f"{_plural(result.vm_runs, 'boot')} of each VM model" if result.vm_runs else "VM models skipped"
    table = Table(title=f"Launch → first output and memory on this machine ({_plural(result.runs, 'run')} after "
                        f"1 warm-up; {boots})", title_justify="left", box=box.SIMPLE_HEAD, show_edge=False)
    for column, justify in (("model", "left"), ("median", "right"), ("min – max", "right"), ("× container", "right"),
                            ("memory", "right")):
        table.add_column(column, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    container = result.model("container")
    reference = container.launch["median"] if container and container.launch else None
    how = Table.grid(padding=(0, 1))  # what each row measured: under the table, never a squeezed column
    how.add_column(no_wrap=True)
    how.add_column()
    for model in result.models:
        label = Text(f"• {model.label}:", style="bold")
        if not model.available:
            table.add_row(model.label, Text("not available", style="warn"), "", "", "")
            how.add_row(label, Text(model.reason, style="warn"))
            continue
        launch = model.launch or {}
        ratio = f"{launch['median'] / reference:.2g}×" if reference and launch.get("median") else "—"
        table.add_row(model.label, fmt_ms(launch.get("median")), fmt_range(launch.get("min"), launch.get("max")),
                      ratio, fmt_kib(model.memory))
        how.add_row(label, Text(f"{model.note}; memory = {model.memory_what}", style="muted"))
    env.out.print(table)
    env.out.print(Text("What each row ran, and what its memory is:", style="muted"))
    env.out.print(how)
    measured = [m for m in result.models if m.available and m.launch]
    if measured:
        high = max(m.launch["median"] for m in measured)  # type: ignore[index]
        env.out.print(Text("\nLaunch → first output (median, linear scale)", style="title"))
        for model in measured:
            median = model.launch["median"]  # type: ignore[index]
            line = Text(f"{model.label:<24}", style="bold").append(_bar(median, high), style="cyan")
            env.out.print(line.append(f" {fmt_ms(median)}"))
    _timeline(env, result)
    _pay_once(env, result)
    virt = result.virtualization
    if virt.host_is_vm or virt.engine_in_vm:
        env.out.print(Text("\nNote: this machine is itself a VM, so every row runs one layer deeper than it says "
                           "(see `learnbackend containers doctor`).", style="warn"))
    if result.busy:
        env.out.print(Text(f"Note: the host was busy (load average {result.load[0]:.1f} → {result.load[1]:.1f} on "
                           f"{result.load[2]} CPUs): other work competed with these measurements, so they are slower "
                           "and more spread out than on an idle machine.", style="warn"))
    env.out.print(Text(f"VM acceleration: {result.kvm_reason}", style="muted"))
    env.out.print()
    for paragraph in explain_models(result):
        env.out.print(paragraph)
        env.out.print()


def _median(values: list[float] | None) -> float | None:
    import statistics

    return statistics.median(values) if values else None


def _timeline(env: Environment, result: Comparison) -> None:
    """The VM's boot, split by the guest's own clock: before the kernel's clock started, and kernel → /init."""
    guest = result.model("vm")
    if guest is None or not guest.launch or not guest.series.get("guest_kernel_to_init"):
        return
    total = guest.launch["median"]
    kernel = _median(guest.series["guest_kernel_to_init"]) or 0.0
    env.out.print(Text("\nA VM boot, by the guest's own clock (median)", style="title"))
    rows = [("QEMU start, firmware, loading the kernel (host clock − guest clock)", max(total - kernel, 0.0)),
            ("guest kernel: from its first tick to running /init (guest /proc/uptime)", kernel)]
    _figure_rows(env, rows)


def _figure_rows(env: Environment, rows: list[tuple[str, float]]) -> None:
    """Label and value rows: a long label wraps under itself, the value stays on its row, right-aligned."""
    from rich.padding import Padding

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", ratio=1)
    grid.add_column(justify="right", no_wrap=True)
    for label, value in rows:
        grid.add_row(label, fmt_ms(value))
    env.out.print(Padding(grid, (0, 0, 0, 2)))


def _pay_once(env: Environment, result: Comparison) -> None:
    figures = result.pay_once()
    if figures is None:
        return
    first, later = figures["in_vm_first_container_ms"], figures["in_vm_next_containers_ms"]
    host = figures["host_container_ms"]
    env.out.print(Text(f"\nPay the boot once? {figures['containers_per_boot']} containers started one after another "
                       "inside each booted VM (medians)", style="title"))
    rows = [("boot → the first container's output (host clock)", figures["boot_to_first_container_ms"]),
            ("first container in the VM: start → its output (guest clock)", first),
            ("each later container in the VM: start → its output (guest clock)", later),
            ("a container on this host: create + start → its output", host)]
    _figure_rows(env, rows)
    inner = later or first
    if host and inner:
        accel = "KVM" if "KVM" in (result.model("container-in-vm") or result.models[0]).note else "TCG"
        why = ("this guest's CPU is emulated in software (TCG), so every instruction of the runtime costs many "
               "host instructions" if accel == "TCG" else "the guest runs on the real CPU (KVM)")
        from rich.padding import Padding

        env.out.print(Padding(Text(f"Once the VM is up, a container in it cost {inner / host:.1f}× a container on the "
                                   f"host: {why}. The boot is paid once; the price of each container depends on the "
                                   "accelerator.", style="muted"), (0, 0, 0, 2)))


def explain_models(result: Comparison) -> list[str]:
    """The four models of the newsletter, told with this machine's numbers."""
    from learnbackend.containers.demos import load_texts

    values: dict[str, str] = {}
    for model in result.models:
        key = model.key.replace("-", "_")
        launch = model.launch
        values[key] = fmt_ms(launch["median"]) if model.available and launch else "(not available here)"
        values[f"{key}_mem"] = fmt_kib(model.memory) if model.available and model.memory else "(not measured)"
    texts = load_texts().models
    return [texts[k].format(**values) for k in ("bare", "vm", "container", "container-in-vm") if k in texts]


def ask_prediction(env: Environment, text: DemoText, *, predict: str | None, skip: bool, quiet: bool) -> dict[str, Any]:
    """The prediction question: from --predict, skipped with --yes, else asked on the terminal.

    Graded later by :func:`grade_prediction`, against what the demo measured when the question says so.
    """
    from learnbackend.ui.prompts import match_choice, prompter_for

    question = text.predict
    choices = question.choices
    if not quiet:
        if text.concept:
            from rich.markdown import Markdown

            env.out.print(Panel(Markdown(text.concept), title="The idea", title_align="left", border_style="dim"))
        env.out.print(Panel(Text(text.intro), title=text.title, title_align="left", border_style="cyan"))
    value: float | None = None
    if predict is not None:
        number = _number(predict) if question.values is not None else None
        if number is not None:  # a quantity predicted as such: never read as a choice number
            value, given = number, f"{predict.strip()}{(' ' + question.unit) if question.unit else ''}"
        else:
            index = match_choice(predict, choices)
            if index is None:
                raise UsageError(f"{predict!r} is not one of the answers to: {question.question}",
                                 fix="Answer with " + ("a number, " if question.values else "a choice number, ")
                                 + "a letter or the text: " + " | ".join(choices))
            given, value = choices[index], question.values[index] if question.values else None
    elif skip:
        return {"question": question.question, "answer": question.answer, "given": None, "correct": None}
    elif not env.interactive:
        raise UsageError(f"The demo asks first: {question.question} But there is no terminal to ask on.",
                         fix="Pass --predict ANSWER (a number, a letter or the text) or --yes to skip the question.")
    else:
        index = prompter_for(env, "the demo's prediction").select(question.question, choices)
        given, value = choices[index], question.values[index] if question.values else None
    if not quiet:
        env.out.print(Text("Your prediction: ", style="bold").append(given))
        env.out.print(Text("Running it for real…", style="muted"))
    return {"question": question.question, "answer": question.answer, "given": given, "value": value,
            "correct": given == question.answer if question.measured is None else None}


def _number(raw: str) -> float | None:
    try:
        return float(raw.strip().rstrip("×x").strip())
    except ValueError:
        return None


def grade_prediction(text: DemoText, answer: dict[str, Any], figures: dict[str, Any]) -> dict[str, Any]:
    """Grade a prediction about a measured quantity against the measurement, within the stated tolerance."""
    question = text.predict
    if question.measured is None or not isinstance(figures.get(question.measured), (int, float)):
        return answer
    measured = float(figures[question.measured])
    graded = {**answer, "measured": measured, "tolerance": question.tolerance,
              "answer": question.nearest(measured)}
    if answer.get("given") is not None:
        graded["correct"] = question.within(answer.get("value"), measured)
    return graded


def _verdict(text: DemoText, answer: dict[str, Any]) -> Text:
    question = text.predict
    unit = f" {question.unit}" if question.unit else ""
    if "measured" in answer:
        measured = f"{answer['measured']:.3g}{unit}"
        rule = (f"within ±{question.tolerance:.0%} of the measured value" if question.tolerance
                else "exactly the measured value")
        if answer["given"] is None:
            return Text(f"{answer['question']} → measured here: {measured} (“{answer['answer']}”)", style="bold")
        if answer["correct"]:
            return Text(f"✓ You predicted “{answer['given']}”: measured {measured}, {rule}.", style="ok")
        return Text(f"✗ You predicted “{answer['given']}”; measured here: {measured} (“{answer['answer']}”). "
                    f"A prediction counts when it is {rule}.", style="fail")
    if answer["given"] is None:
        return Text(f"{answer['question']} → {answer['answer']}", style="bold")
    if answer["correct"]:
        return Text("✓ You predicted it.", style="ok")
    return Text(f"✗ You predicted “{answer['given']}”; the answer was “{answer['answer']}”.", style="fail")


def demo(env: Environment, text: DemoText, result: DemoResult, answer: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        print_json(env, {**result.to_dict(), "prediction": answer})
        return
    from rich import box

    table = Table(title=text.title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False)
    narrow = result.name == "isolation"  # one row per fact, one column per way of running: labels and values made short
    for i, column in enumerate(result.columns):
        table.add_column(column, overflow="fold", no_wrap=narrow and i == 0)
    for row in result.rows:
        table.add_row(*(_isolation_cell(row[0], row) if narrow else row))
    shown: list[Any] = [table]
    if narrow:
        shown.append(Text("capabilities: how many of the kernel's privileges the process holds (from CapEff); "
                          "—: not measured there.", style="muted"))
    shown += [Text(note, style="muted") for note in result.notes]
    after = [_verdict(text, answer), Markdown(conclusion_of(text, result))]
    for renderable in shown:
        env.out.print(renderable)
    if env.interactive and _height(env, *shown, *after) > env.out.height - 2:
        # The verdict and the conclusion would push the table's top off the screen before it is read.
        from learnbackend.roadmap.play import press_any_key

        press_any_key("Press a key for the verdict… ")
    for renderable in after:
        env.out.print(renderable)


def _height(env: Environment, *renderables: Any) -> int:
    """Lines these take on this console."""
    return sum(len(env.out.render_lines(r, env.out.options, pad=False)) for r in renderables)


#: Short labels for the isolation demo's facts (the data keeps the long ones, as the script prints them).
_ISOLATION_LABELS = {
    "pid of this shell": "its own PID", "processes visible": "processes seen", "network devices": "net devices",
    "root filesystem": "root fs", "capabilities (CapEff)": "capabilities", "memory the kernel reports (MemTotal)":
    "memory (kernel)", "cgroup memory limit": "memory limit", "cgroup CPU quota": "CPU quota",
}


def _isolation_cell(label: str, row: list[str]) -> list[str]:
    """One row of the isolation table made readable at 80 columns: short label, values humanized, never split mid-word."""
    values = [_isolation_value(label, value) for value in row[1:]]
    return [_ISOLATION_LABELS.get(label, label), *values]


def _isolation_value(label: str, value: str) -> str:
    if label.startswith("capabilities"):
        try:
            held = bin(int(value, 16)).count("1")
        except ValueError:
            return value
        return str(held)
    if label.startswith("memory the kernel"):
        number = value.split()[0] if value.split() else ""
        if not number.isdigit():
            return value
        kib = float(number)
        return f"{kib / 1024 / 1024:.1f} GiB" if kib >= 1024 * 1024 else fmt_kib(kib)
    if label == "kernel" and len(value) > 12:  # break at its own dashes, not at column 13
        parts, lines = value.split("-"), [""]
        for i, part in enumerate(parts):
            piece = part + ("-" if i < len(parts) - 1 else "")
            if lines[-1] and len(lines[-1]) + len(piece) > 12:
                lines.append("")
            lines[-1] += piece
        return "\n".join(lines)
    if label == "hostname" and len(value) > 12 and "-" in value:
        head, _, tail = value.partition("-")
        return f"{head}-\n{tail}"
    return value.replace(" of one CPU", " of a CPU")


def conclusion_of(text: DemoText, result: DemoResult) -> str:
    """The conclusion with this run's figures; the fallback text when one of them could not be measured."""
    figures = {k: v for k, v in result.figures.items() if v is not None}
    for template in (text.conclusion, text.fallback):
        if template is None:
            continue
        try:
            return template.format(**figures)
        except (KeyError, ValueError, IndexError):
            continue
    return "Some figures could not be measured here; see the table above."


def clean(env: Environment, report: CleanReport, *, engine_missing: str, as_json: bool) -> None:
    if as_json:
        print_json(env, {**report.to_dict(), "engine": engine_missing or "reachable"})
        return
    if engine_missing:
        env.out.print(Text(f"No Docker engine reachable ({engine_missing}): only leftover VMs were looked for.",
                           style="warn"))
    dirs = f"{len(report.vm_dirs)} ({fmt_kib(report.vm_bytes / 1024)})" if report.vm_dirs else "0"
    table = Table(title="containers clean: removed", title_justify="left")
    table.add_column("kind")
    table.add_column("removed", justify="right")
    table.add_column("which", overflow="fold")
    for kind, count, items in (
            ("containers", str(len(report.containers)), ", ".join(report.containers)),
            ("images", str(len(report.images)), ", ".join(report.images)),
            ("QEMU processes", str(len(report.vms)), ", ".join(map(str, report.vms))),
            ("VM work directories", dirs, ", ".join(report.vm_dirs))):
        table.add_row(kind, count, Text(items, style="muted"))
    env.out.print(table)
    if not report.total:
        env.out.print("Nothing to clean: the lab left no container, image, QEMU or VM work directory behind.")
    if report.skipped:
        env.out.print(Text(f"Left {len(report.skipped)} container(s) of a learnbackend command still running "
                           "(it removes them itself): ", style="muted").append(", ".join(report.skipped)))
    for kept in report.kept:
        env.out.print(Text(f"Kept {kept}.", style="muted"))
    for error in report.errors:
        env.out.print(Text(f"Could not remove {error}", style="fail"))
