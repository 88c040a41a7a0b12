"""The bundled question bank: answers learners really type are accepted, wrong ones are not."""

from __future__ import annotations

import pytest
from conftest import LESSONS

from learnbackend.course.catalog import load_lessons
from learnbackend.roadmap.grading import text_matches

CATALOG = load_lessons([LESSONS])

# question id → (answers a learner who knows may type, wrong answers that must stay wrong)
TYPED = {
    "roadmap-hosting/nginx-502": (["HTTP 502", "Bad Gateway", "502", "http 502 bad gateway"],
                                  ["504", "HTTP 504", "Gateway Timeout", "500", "HTTP"]),
    "roadmap-apis/rest-precondition-failed": (["Precondition Failed", "HTTP 412", "412"],
                                              ["409", "409 Conflict", "HTTP 409", "Conflict"]),
    "roadmap-databases/n-plus-one-name": (["SELECT N+1", "N+1 queries problem", "the N+1 problem", "N+1 selects"],
                                          ["N", "problem", "1", "N+2", "select"]),
    "roadmap-languages/go-race-detector": (["go test -race", "-race", "race detector", "--race"],
                                           ["-v", "go vet", "-cover", "go test -v"]),
    "roadmap-devops/gha-needs": (["needs: test", "needs", "needs: [test]"], ["if", "depends_on", "depends: test"]),
    "roadmap-devops/ansible-handlers": (["Ansible handler", "handlers", "handler"], ["notify", "task", "role"]),
    "roadmap-databases/postgres-vacuum": (["autovacuum daemon", "VACUUM", "autovacuum"], ["ANALYZE", "REINDEX", "checkpoint"]),
    "roadmap-databases/dynamodb-ttl": (["TTL attribute", "TTL", "Time to Live"], ["Streams", "DAX", "TTS"]),
    "roadmap-hosting/docker-multi-stage": (["multi-stage Dockerfile", "multistage builds", "multi stage build"],
                                           ["BuildKit", "layers", "docker compose"]),
}


def test_bank_loads() -> None:
    assert not CATALOG.problems


@pytest.mark.parametrize("qid", sorted(TYPED))
def test_free_text_accepts_what_a_knowing_learner_types(qid: str) -> None:
    _entry, question = CATALOG.exercise(qid)
    good, bad = TYPED[qid]
    for answer in good:
        assert text_matches(answer, list(question.accept)), (qid, answer)
    for answer in bad:
        assert not text_matches(answer, list(question.accept)), (qid, answer)


def test_a_workspace_question_file_does_not_print_the_hint(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from learnbackend.roadmap.handler import HANDLER, QUESTION_FILE

    entry, question = CATALOG.exercise("roadmap-hosting/docker-pid1-sigterm")
    HANDLER.materialize(entry, question, tmp_path)
    text = (tmp_path / QUESTION_FILE).read_text(encoding="utf-8")
    assert question.prompt.strip().splitlines()[0] in text
    assert question.hint not in text and "learnbackend hint" in text
