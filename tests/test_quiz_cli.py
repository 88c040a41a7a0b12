"""The quiz from scripts and CI: answers files, stdin, JSON results, the map."""

from __future__ import annotations

from pathlib import Path

import yaml

from conftest import FIXTURES, run_cli

GOOD = str(FIXTURES / "lessons" / "good")


def _answers(tmp_path: Path, data: dict[str, object]) -> str:
    path = tmp_path / "answers.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def test_answers_file_runs_exactly_those_questions_and_records_them(tmp_path: Path) -> None:
    answers = _answers(tmp_path, {
        "fixture-tiny/pick-one": "Right one",
        "fixture-tiny/pick-many": ["2", "4"],
        "fixture-tiny/put-in-order": ["one", "three", "two", "four"],
        "fixture-tiny/type-it": "404 not found",
    })
    result = run_cli("--lessons", GOOD, "quiz", "start", "--answers", answers, "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json
    assert data["answered"] == 4 and data["correct"] == 3
    verdicts = {r["id"]: r["correct"] for r in data["results"]}
    assert verdicts == {"fixture-tiny/pick-one": True, "fixture-tiny/pick-many": True,
                        "fixture-tiny/put-in-order": False, "fixture-tiny/type-it": True}
    # recorded: the map shows it
    mapped = run_cli("--lessons", GOOD, "quiz", "map", "--json")
    tiny = next(b for b in mapped.json if b["id"] == "fixture-tiny")
    assert tiny["known"] == 3 and tiny["total"] == 4


RIGHT = {"fixture-tiny/pick-one": "Right one", "fixture-tiny/pick-many": "2,4",
         "fixture-tiny/put-in-order": "one, two, three, four", "fixture-tiny/type-it": "404"}


def _planned_ids(tmp_path: Path, seed: int) -> list[str]:
    """The order a fresh learner gets with this seed (the same engine, a fresh store)."""
    from learnbackend.course.catalog import load_lessons
    from learnbackend.course.progress import ProgressStore
    from learnbackend.roadmap.quiz import QuizEngine

    with ProgressStore.open(tmp_path / "plan.sqlite3") as store:
        plan = QuizEngine(load_lessons([Path(GOOD)]), store).plan("practice", branches=["tiny"], seed=seed)
    return [item.qid for item in plan.items]


def test_stdin_answers_one_per_line_with_questions_shown(tmp_path: Path) -> None:
    lines = "".join(RIGHT[qid] + "\n" for qid in _planned_ids(tmp_path, 7))
    result = run_cli("--lessons", GOOD, "quiz", "start", "--branch", "tiny", "-n", "4", "--seed", "7", input=lines)
    assert result.exit_code == 0, result.stderr
    assert "Question 1/4" in result.stdout and "Question 4/4" in result.stdout
    assert "a)" in result.stdout  # options are lettered for typed answers
    assert "4/4 right" in result.stdout


def test_stdin_running_out_stops_early_and_keeps_what_was_answered(tmp_path: Path) -> None:
    first = _planned_ids(tmp_path, 1)[0]
    result = run_cli("--lessons", GOOD, "quiz", "start", "--branch", "tiny", "--seed", "1", "--json",
                     input=RIGHT[first] + "\n")
    assert result.exit_code == 0, result.stderr
    assert result.json["stopped_early"] is True and result.json["answered"] == 1
    assert result.json["results"] == [{"id": first, "correct": True, "score": 1.0, "given": result.json["results"][0]["given"],
                                       "expected": result.json["results"][0]["expected"]}]


def test_empty_stdin_without_terminal_is_exit_2_not_an_empty_summary() -> None:
    result = run_cli("--lessons", GOOD, "quiz", "start", "--branch", "tiny", input="")
    assert result.exit_code == 2
    assert "no terminal" in result.stderr and "--answers FILE" in result.stderr
    assert "0/0 right" not in result.stdout


def test_unreadable_answer_is_exit_2_and_loses_earlier_answers_nothing(tmp_path: Path) -> None:
    answers = _answers(tmp_path, {"fixture-tiny/pick-one": "Right one", "fixture-tiny/pick-many": "7, 9"})
    result = run_cli("--lessons", GOOD, "quiz", "start", "--answers", answers)
    assert result.exit_code == 2
    assert "'7' is not one of the options" in result.stderr
    progress = run_cli("--lessons", GOOD, "quiz", "map", "--json")
    tiny = next(b for b in progress.json if b["id"] == "fixture-tiny")
    assert tiny["known"] == 1


def test_bad_answers_files(tmp_path: Path) -> None:
    missing = run_cli("quiz", "start", "--answers", str(tmp_path / "nope.yaml"))
    assert missing.exit_code == 2 and "Cannot read the answers file" in missing.stderr
    unknown = run_cli("quiz", "start", "--answers", _answers(tmp_path, {"roadmap-apis/not-a-question": "a"}))
    assert unknown.exit_code == 2 and "has no exercise 'not-a-question'" in unknown.stderr
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    not_mapping = run_cli("quiz", "start", "--answers", str(tmp_path / "list.yaml"))
    assert not_mapping.exit_code == 2 and "must map question ids to answers" in not_mapping.stderr


def test_placement_from_answers_file(tmp_path: Path) -> None:
    answers = _answers(tmp_path, {
        "fixture-tiny/pick-one": "Right one", "fixture-tiny/pick-many": ["2", "4"],
        "fixture-tiny/put-in-order": ["one", "two", "three", "four"], "fixture-tiny/type-it": "404",
    })
    result = run_cli("--lessons", GOOD, "quiz", "placement", "--branch", "tiny", "--answers", answers, "--json")
    assert result.exit_code == 0
    assert result.json["placement_passed"] is True
    mapped = run_cli("--lessons", GOOD, "quiz", "map", "--json")
    assert next(b for b in mapped.json if b["id"] == "fixture-tiny")["placed_out"] is True


def test_review_with_nothing_due() -> None:
    result = run_cli("quiz", "review", "--json")
    assert result.exit_code == 0
    assert result.json["answered"] == 0 and "answer some questions first" in result.json["note"]


def test_map_draws_every_branch() -> None:
    result = run_cli("quiz", "map")
    assert result.exit_code == 0
    for branch in ("Fundamentals", "Languages", "Databases", "APIs", "Hosting", "DevOps"):
        assert branch in result.stdout, branch
    assert result.stdout.index("Fundamentals") < result.stdout.index("DevOps")


def test_wrong_order_is_shown_as_letters_with_the_expected_order_spelt_out(tmp_path: Path) -> None:
    answers = _answers(tmp_path, {"fixture-tiny/put-in-order": "four, three, two, one"})
    result = run_cli("--lessons", GOOD, "quiz", "start", "--answers", answers)
    assert result.exit_code == 0, result.stderr
    assert "You answered: " in result.stdout and " → " in result.stdout
    expected_line = next(line for line in result.stdout.splitlines() if "Expected:" in line)
    assert [len(part.strip()) for part in expected_line.split("Expected:")[1].split("→")] == [1, 1, 1, 1]  # letters
    assert ") one" in result.stdout and ") four" in result.stdout
