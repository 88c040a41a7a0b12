"""The ``code`` exercise kind: a Python file to complete, checked by the instructor's tests.

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
    """The learner completes a Python file (TODO markers); the exercise's tests decide.

    The tests run in the checker and reach the learner's module only through
    ``learnbackend.coding.remote.learner`` (calls into a sandboxed worker).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    kind: Literal["code"] = Field(description="A Python file to complete, checked by tests that call it in a sandbox.")
    id: Slug = Field(description="Unique within the lesson.")
    title: Text = Field(description="Shown in lists.")
    prompt: Text = Field(description="What to implement, in Markdown.")
    starter: Text = Field(description="The file to complete (with TODOs), relative to the lesson file.")
    tests: Text = Field(description="The test file that checks it (test_* functions using "
                              "`learnbackend.coding.remote.learner`), relative to the lesson file.")
    hidden_tests: Text | None = Field(default=None, description="More tests, never handed out; they run only when "
                                      "an instructor regrades (check with include_hidden).")
    solution: Text = Field(description="A reference solution; `lessons validate` proves it passes every test "
                                       "(hidden ones too) and that the starter earns 0 points.")
    file: FileName = Field(description="Its name in the learner's workspace; the tests import it by this name.")
    timeout_s: float = Field(default=60.0, gt=0, le=600, description="Wall-clock limit for the test run.")
    hint_list: list[Text] = Field(alias="hints", min_length=1, description="Nudges, from gentle to explicit.")

    def hints(self) -> list[str]:
        """The hints, in order."""
        return list(self.hint_list)

    def referenced_files(self) -> list[tuple[str, str]]:
        """Files this exercise needs beside the lesson."""
        files = [("starter", self.starter), ("tests", self.tests), ("solution", self.solution)]
        if self.hidden_tests is not None:
            files.append(("hidden_tests", self.hidden_tests))
        return files
