"""Primers: every roadmap topic is taught (what, why, example, source) before it is tested."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import FIXTURES, LESSONS, run_cli

from learnbackend.course.catalog import load_lessons
from learnbackend.course.progress import ProgressStore
from learnbackend.roadmap import primers
from learnbackend.roadmap.quiz import QuizEngine

GOOD = FIXTURES / "lessons" / "good"


def test_every_bundled_roadmap_topic_has_a_primer_with_a_primary_source() -> None:
    catalog = load_lessons([LESSONS / "roadmap"])
    for entry in catalog.lessons:
        assert [p.topic for p in entry.lesson.primers] == list(entry.lesson.topics), entry.lesson.id
        for p in entry.lesson.primers:
            assert p.source.url.startswith("https://"), (entry.lesson.id, p.topic)
            assert len(p.what.split()) >= 25 and p.example.strip(), (entry.lesson.id, p.topic)
            # Code is shown as written (never re-wrapped): it must fit an 80-column panel.
            fenced = False
            for line in p.example.splitlines():
                if line.startswith("```"):
                    fenced = not fenced
                elif fenced:
                    assert len(line) <= 74, (entry.lesson.id, p.topic, line)


def test_a_primer_with_an_unknown_topic_is_a_validation_problem(tmp_path: Path) -> None:
    text = (GOOD / "roadmap" / "tiny.yaml").read_text().replace("  - topic: More\n    what:", "  - topic: Less\n    what:")
    (tmp_path / "roadmap").mkdir()
    (tmp_path / "roadmap" / "tiny.yaml").write_text(text)
    result = run_cli("lessons", "validate", str(tmp_path))
    assert result.exit_code == 2
    assert "primer topic 'Less' is not in the lesson's topics" in result.stderr


def _panel_text(output: str) -> str:
    """The words inside a panel, borders removed and whitespace folded."""
    inner = [re.sub(r"^[│╭╰]\s?|\s?[│╮╯]$", "", line) for line in output.splitlines()]
    return " ".join(" ".join(inner).split())


def test_learn_a_topic_renders_it_at_80_columns_and_marks_it_read() -> None:
    result = run_cli("quiz", "learn", "dns", env={"LEARNBACKEND_WIDTH": "80"})
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines if not line.startswith("https:"))
    text = _panel_text(result.stdout)
    entry = load_lessons([LESSONS / "roadmap"]).lesson("roadmap-fundamentals")
    dns = entry.lesson.primer("DNS")
    assert dns is not None
    # Re-wrapped, but every word is there, in order: nothing cut or lost.
    assert " ".join(dns.what.replace("`", "").split()) in text
    assert "www.example.com. 3600 IN A 192.0.2.10" in text  # the code block is kept as written
    assert "https://www.rfc-editor.org/rfc/rfc1034" in result.stdout
    listing = run_cli("quiz", "learn", "--json")
    rows = {row["slug"]: row for row in listing.json}
    assert rows["dns"]["read"] is True and rows["http"]["read"] is False
    assert len(rows) == sum(len(e.lesson.topics) for e in load_lessons([LESSONS / "roadmap"]).lessons)


@pytest.mark.parametrize("name", ["JavaScript/Node.js", "javascript-node-js", "languages/javascript-node-js", "C#", "c#"])
def test_topics_are_found_by_name_or_slug(name: str) -> None:
    result = run_cli("quiz", "learn", name, "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json["topic"] in ("JavaScript/Node.js", "C#")


def test_unknown_topic_is_a_usage_error_listing_topics() -> None:
    result = run_cli("quiz", "learn", "cobol")
    assert result.exit_code == 2
    assert "No roadmap topic is called 'cobol'" in result.stderr and "dns" in result.stderr


def test_learn_lists_topics_with_commands() -> None:
    result = run_cli("quiz", "learn", env={"LEARNBACKEND_WIDTH": "80"})
    assert result.exit_code == 0
    assert "quiz learn infrastructure-as-code" in result.stdout
    assert all(len(line) <= 80 for line in result.stdout.splitlines())


def test_practice_teaches_each_topic_once_before_its_first_question(tmp_path: Path) -> None:
    catalog = load_lessons([GOOD])
    with ProgressStore.open(tmp_path / "p.sqlite3") as store:
        engine = QuizEngine(catalog, store)
        plan = engine.plan("practice", seed=5)
        assert {key: p.primer.topic for key, p in plan.primers.items()} == {
            "fixture-tiny/Basics": "Basics", "fixture-tiny/More": "More"}
        for taught in plan.primers.values():
            engine.taught(taught)
        assert primers.seen(store) == {"fixture-tiny/Basics", "fixture-tiny/More"}
        assert engine.plan("practice", seed=5).primers == {}
        # Review and placement test what is known: no primers there.
        assert engine.plan("placement", branches=["tiny"], seed=5).primers == {}


def test_each_part_of_every_primer_fits_an_80x24_terminal() -> None:
    import io

    from rich.console import Console

    from learnbackend.roadmap import render
    from learnbackend.ui.console import THEME

    for taught in primers.all_primers(load_lessons([LESSONS])):
        for part in ("intro", "example"):
            out = io.StringIO()
            render.primer(Console(file=out, width=80, theme=THEME), taught, part=part)
            lines = out.getvalue().splitlines()
            # 23 rows: the "press any key" line below must fit too.
            assert len(lines) <= 23, (taught.key, part, len(lines))
            assert all(len(line) <= 80 for line in lines if not line.startswith("https:")), (taught.key, part)
