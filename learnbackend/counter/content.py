"""The counter lab's exercise kind: ``code`` (implement a piece of the design, checked by pytest).

Kept free of imports from ``learnbackend.course.models`` (which imports this
module to join the exercise union), so there is no import cycle.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)]
Text = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
FileName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*\.py$", max_length=64)]


class CodeExercise(BaseModel):
    """The learner completes a Python file (TODO markers); the exercise's pytest tests decide."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    kind: Literal["code"] = Field(description="A Python file to complete, checked with pytest in a sandbox.")
    id: Slug = Field(description="Unique within the lesson.")
    title: Text = Field(description="Shown in lists.")
    prompt: Text = Field(description="What to implement, in Markdown.")
    starter: Text = Field(description="The file to complete (with TODOs), relative to the lesson file.")
    tests: Text = Field(description="The pytest file that checks it, relative to the lesson file.")
    solution: Text = Field(description="A reference solution (used to prove the tests pass when solved).")
    file: FileName = Field(description="Its name in the learner's workspace; the tests import it by this name.")
    timeout_s: float = Field(default=60.0, gt=0, le=600, description="Wall-clock limit for the test run.")
    hint_list: list[Text] = Field(alias="hints", min_length=1, description="Nudges, from gentle to explicit.")

    def hints(self) -> list[str]:
        """The hints, in order."""
        return list(self.hint_list)

    def referenced_files(self) -> list[tuple[str, str]]:
        """Files this exercise needs beside the lesson."""
        return [("starter", self.starter), ("tests", self.tests), ("solution", self.solution)]
