"""Guided experiments: the lesson's prediction questions for an experiment, asked before it runs.

The questions are content (lessons/counter/*.yaml, exercises ``predict-e<N>-...``);
this module finds them and grades the answers. The CLI asks and renders.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any


@dataclass
class Prediction:
    """One prediction question and the learner's answer."""

    exercise_id: str  # "<lesson id>/<exercise id>"
    prompt: str
    choices: list[str]
    answer: str
    explanation: str
    chosen: str = ""

    @property
    def correct(self) -> bool:
        return self.chosen == self.answer


def predictions_for(catalog: Any, experiment_id: str, *, seed: int = 7) -> list[Prediction]:
    """The prediction questions of an experiment, choices shuffled reproducibly."""
    prefix = f"predict-{experiment_id.lower()}-"
    found: list[Prediction] = []
    for entry in catalog.by_module("counter"):
        for exercise in entry.lesson.exercises:
            if exercise.id.startswith(prefix) and exercise.kind == "single":
                choices = list(exercise.choices)
                random.Random(f"{seed}-{exercise.id}").shuffle(choices)
                found.append(Prediction(f"{entry.lesson.id}/{exercise.id}", exercise.prompt, choices, exercise.answer,
                                        exercise.explanation))
    return found
