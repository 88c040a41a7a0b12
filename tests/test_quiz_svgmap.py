"""The mind map as SVG: a well-formed image whose nodes carry the learner's mastery colours."""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET
from pathlib import Path

from conftest import FIXTURES, LESSONS, run_cli

from learnbackend.course.catalog import load_lessons
from learnbackend.course.progress import ProgressStore
from learnbackend.roadmap.grading import grade, present
from learnbackend.roadmap.mastery import mastery_map
from learnbackend.roadmap.quiz import QuizEngine
from learnbackend.roadmap.svgmap import COLOURS, mind_map_svg

SVG = "{http://www.w3.org/2000/svg}"
GOOD = FIXTURES / "lessons" / "good"


def _nodes(svg: str) -> dict[str, ET.Element]:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return {g.get("id", ""): g for g in root.iter(f"{SVG}g") if "node" in (g.get("class") or "").split()}


def _fill(node: ET.Element) -> str:
    rect = node.find(f"{SVG}rect")
    assert rect is not None
    return rect.get("fill", "")


def test_a_new_learners_map_has_every_branch_and_topic_unseen(tmp_path: Path) -> None:
    catalog = load_lessons([LESSONS])
    with ProgressStore.open(tmp_path / "p.sqlite3") as store:
        svg = mind_map_svg(mastery_map(catalog, store))
    nodes = _nodes(svg)
    roadmap = catalog.by_module("roadmap")
    assert sum(1 for n in nodes.values() if "branch" in n.get("class", "")) == len(roadmap) == 6
    assert sum(1 for n in nodes.values() if "topic" in n.get("class", "")) == sum(len(e.lesson.topics) for e in roadmap)
    assert {n.get("data-mastery") for n in nodes.values()} == {"unseen"}
    assert {_fill(n) for n in nodes.values()} == {COLOURS["unseen"][0]}
    assert "topic-roadmap-databases-mongodb" in nodes and "topic-roadmap-languages-csharp" in nodes


def _boxes(svg: str) -> list[tuple[float, float, float, float]]:
    boxes = []
    for node in _nodes(svg).values():
        rect = node.find(f"{SVG}rect")
        assert rect is not None
        x, y, w, h = (float(rect.get(k, "0")) for k in ("x", "y", "width", "height"))
        boxes.append((x, y, x + w, y + h))
    return boxes


def test_no_two_labels_overlap_and_all_fit_the_image(tmp_path: Path) -> None:
    catalog = load_lessons([LESSONS])
    with ProgressStore.open(tmp_path / "p.sqlite3") as store:
        svg = mind_map_svg(mastery_map(catalog, store))
    root = ET.fromstring(svg)
    width, height = float(root.get("width", "0")), float(root.get("height", "0"))
    boxes = _boxes(svg)
    for i, a in enumerate(boxes):
        assert a[0] >= 0 and a[1] >= 0 and a[2] <= width and a[3] <= height, a
        for b in boxes[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)


def test_colours_follow_mastery(tmp_path: Path) -> None:
    catalog = load_lessons([GOOD])
    with ProgressStore.open(tmp_path / "p.sqlite3") as store:
        engine = QuizEngine(catalog, store)
        entry = catalog.lessons[0]
        for q in entry.lesson.exercises:
            if q.topic == "Basics":
                item = present(f"{entry.lesson.id}/{q.id}", entry.lesson.id, entry.lesson.title, q, random.Random(1))
                right = q.answer if q.kind == "single" else list(q.answers)
                engine.record(item, grade(item, right), mode="practice")
        nodes = _nodes(mind_map_svg(mastery_map(catalog, store)))
        basics, more = nodes["topic-fixture-tiny-basics"], nodes["topic-fixture-tiny-more"]
        assert basics.get("data-mastery") == "known" and _fill(basics) == COLOURS["known"][0]
        assert basics.get("data-percent") == "100" and "Basics (2/2) 100%" in "".join(basics.itertext())
        assert more.get("data-mastery") == "unseen" and _fill(more) == COLOURS["unseen"][0]
        assert nodes["branch-fixture-tiny"].get("data-mastery") == "learning"  # 2 of 4 known: 50%
        store.set_value("roadmap.placed", ["fixture-tiny"])
        placed = _nodes(mind_map_svg(mastery_map(catalog, store)))["branch-fixture-tiny"]
        assert placed.get("data-percent") == "100" and "(placed out)" in placed.get("data-label", "")


def test_quiz_map_svg_writes_a_file_and_refuses_an_unwritable_path(tmp_path: Path) -> None:
    out = tmp_path / "map.svg"
    result = run_cli("quiz", "map", "--svg", str(out))
    assert result.exit_code == 0, result.stderr
    assert f"Wrote the mind map to {out}" in result.stdout and "Backend roadmap" in result.stdout
    topics = sum(len(e.lesson.topics) for e in load_lessons([LESSONS]).by_module("roadmap"))
    assert len(_nodes(out.read_text(encoding="utf-8"))) == 1 + 6 + topics == 37
    bad = run_cli("quiz", "map", "--svg", str(tmp_path / "no" / "such" / "map.svg"))
    assert bad.exit_code == 2 and "Cannot write" in bad.stderr and "Traceback" not in bad.stderr
