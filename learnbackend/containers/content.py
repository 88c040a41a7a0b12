"""The containers lab's content models: the ``container-spec`` exercise kind and the demo texts.

Kept free of imports from ``learnbackend.course.models`` (which imports this
module to join the exercise union), so there is no import cycle.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)]
Text = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]


class _Content(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Expectation(_Content):
    """What must be observed when the container has run (every field given is checked)."""

    exit_code: int | None = Field(default=None, description="The container's exit code must be this.")
    exit_code_not: int | None = Field(default=None, description="The exit code must differ from this.")
    oom_killed: bool | None = Field(default=None, description="Whether the kernel's OOM killer must have struck.")
    output_contains: str | None = Field(default=None, description="Text the output must contain.")
    output_lacks: str | None = Field(default=None, description="Text the output must not contain.")
    lines_starting: str | None = Field(default=None, description="Count the output lines starting with this...")
    at_most: int | None = Field(default=None, description="...there must be at most this many.")
    at_least: int | None = Field(default=None, description="...and at least this many.")

    @model_validator(mode="after")
    def _counting_needs_a_prefix(self) -> Expectation:
        if (self.at_most is not None or self.at_least is not None) and not self.lines_starting:
            raise ValueError("at_most/at_least count lines: give `lines_starting` too")
        if not self.model_dump(exclude_none=True):
            raise ValueError("an expectation must check at least one thing")
        return self


class Trial(_Content):
    """One real run of the learner's spec, possibly with some fields set by the checker."""

    name: Text = Field(description="What this run shows, e.g. 'killed under 32 MiB'.")
    override: dict[str, Any] = Field(default_factory=dict,
                                     description="Spec fields the checker sets for this run (e.g. mem_limit, command).")
    expect: Expectation = Field(description="What must be observed.")
    hint: str = Field(default="", description="Shown when this run does not behave as expected.")


class ContainerSpecExercise(_Content):
    """The learner writes a container spec (YAML) that must achieve an observable goal, checked for real."""

    kind: Literal["container-spec"] = Field(description="A container spec run against the real engine.")
    id: Slug = Field(description="Unique within the lesson.")
    title: Text = Field(description="Shown in lists.")
    prompt: Text = Field(description="The goal, in Markdown.")
    starter: Text = Field(description="The spec file to complete (with TODOs), relative to the lesson file.")
    file: Text = Field(default="spec.yaml", description="Its name in the learner's workspace.")
    required: list[Text] = Field(default_factory=list, description="Spec fields the learner must set.")
    trials: list[Trial] = Field(min_length=1, description="The runs that decide; all must behave as expected.")
    hint_list: list[Text] = Field(alias="hints", min_length=1, description="Nudges, from gentle to explicit.")

    def hints(self) -> list[str]:
        """The hints, in order."""
        return list(self.hint_list)

    def referenced_files(self) -> list[tuple[str, str]]:
        """Files this exercise needs beside the lesson."""
        return [("starter", self.starter)]


class Prediction(_Content):
    """The question asked before a demo runs.

    A question about a measured quantity names the figure (``measured``) and gives each choice its
    value (``values``, null for a choice that is not a number): the prediction is then graded against
    what was measured, within ``tolerance`` (a fraction of the measured value; 0 means exactly), and a
    number given with ``--predict`` is a predicted value, never a choice number.
    """

    question: Text
    choices: list[Text] = Field(min_length=2, max_length=6)
    answer: Text = Field(description="The right choice, verbatim (the demo's conclusion explains it).")
    measured: str | None = Field(default=None, description="The figure of the demo this question predicts.")
    values: list[float | None] | None = Field(default=None, description="The value each choice stands for.")
    tolerance: float = Field(default=0.0, ge=0, le=1, description="Allowed error, as a fraction of the measurement.")
    unit: str = Field(default="", description="The unit of the values (×, processes...), for the verdict.")

    @model_validator(mode="after")
    def _values_match_choices(self) -> Prediction:
        if self.answer not in self.choices:
            raise ValueError("the answer must be one of the choices, verbatim")
        if (self.measured is None) != (self.values is None):
            raise ValueError("`measured` and `values` go together")
        if self.values is not None and len(self.values) != len(self.choices):
            raise ValueError("give one value per choice (null for a choice that is not a number)")
        return self

    def within(self, predicted: float | None, measured: float) -> bool:
        """Whether a predicted value counts as right against the measured one."""
        if predicted is None or math.isnan(measured):  # no number, or a failed measurement
            return False
        return abs(predicted - measured) <= self.tolerance * abs(measured) + 1e-9

    def nearest(self, measured: float) -> str:
        """The choice closest to what was measured (the answer on this machine, this time)."""
        assert self.values is not None
        scored = [(abs(v - measured), c) for v, c in zip(self.values, self.choices, strict=True) if v is not None]
        return min(scored)[1] if scored else self.answer


class DemoText(_Content):
    """The words of one demo: title, introduction, prediction, conclusion."""

    id: Slug
    title: Text
    concept: Text | None = Field(default=None, description="The idea the demo shows, in a few lines, read before "
                                                          "the scenario and the prediction (Markdown).")
    intro: Text
    predict: Prediction
    conclusion: Text
    fallback: Text | None = Field(default=None, description="The conclusion when a figure it quotes could not be "
                                                            "measured here (no engine, no VM).")


class DemoFile(_Content):
    """``lessons/containers/demos/demos.yaml``: the texts of every demo, and the four models explained."""

    format_version: Literal[1]
    demos: list[DemoText]
    models: dict[str, Text] = Field(description="bare, vm, container, container-in-vm: one paragraph each.")
