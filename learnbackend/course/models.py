"""The content model: lesson files and the exercises in them, as typed data.

A lesson file is YAML with a ``format_version``; every field is documented here
and exported as JSON Schema by ``learnbackend lessons schema``. Module-specific
exercise kinds (git levels, container specs, code exercises) live beside their
module and join the :data:`Exercise` union below.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

#: The newest lesson format this version understands.
FORMAT_VERSION = 1

MODULES = ("roadmap", "git", "containers", "counter")

Slug = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64),
    Field(description="A lowercase identifier: letters, digits and dashes."),
]
Text = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]


class ContentModel(BaseModel):
    """Base for all content: unknown keys are errors (they are usually typos)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class QuestionBase(ContentModel):
    """Fields shared by every roadmap quiz question."""

    id: Slug = Field(description="Unique within the lesson; the global id is '<lesson id>/<id>'.")
    topic: Text = Field(description="One of the lesson's topics (a node of the mind map).")
    difficulty: Literal["easy", "medium", "hard"] = Field(description="How hard the question is.")
    prompt: Text = Field(description="The question, in Markdown.")
    hint: Text = Field(description="A nudge shown on request, before answering.")
    explanation: Text = Field(description="Shown after the answer: why the right answer is right.")

    def hints(self) -> list[str]:
        return [self.hint]


def _distinct(values: list[str], what: str) -> list[str]:
    seen: set[str] = set()
    for value in values:
        key = value.strip().casefold()
        if key in seen:
            raise ValueError(f"{what} {value!r} appears twice")
        seen.add(key)
    return values


class SingleChoice(QuestionBase):
    """A question with one right choice among several."""

    kind: Literal["single"] = Field(description="One right answer among the choices.")
    choices: list[Text] = Field(min_length=2, max_length=8, description="Shown shuffled.")
    answer: Text = Field(description="The right choice, copied verbatim from `choices`.")

    _choices_distinct = field_validator("choices")(lambda v: _distinct(v, "choice"))

    @field_validator("answer")
    @classmethod
    def _answer_is_a_choice(cls, answer: str, info: ValidationInfo) -> str:
        choices = info.data.get("choices")
        if choices is not None and answer not in choices:
            raise ValueError(f"{answer!r} is not one of the choices; copy it verbatim from `choices`")
        return answer


class MultipleChoice(QuestionBase):
    """A question where several choices are right and all must be picked."""

    kind: Literal["multiple"] = Field(description="Pick every right answer.")
    choices: list[Text] = Field(min_length=2, max_length=8, description="Shown shuffled.")
    answers: list[Text] = Field(min_length=1, description="The right choices, verbatim from `choices`.")

    _choices_distinct = field_validator("choices")(lambda v: _distinct(v, "choice"))

    @field_validator("answers")
    @classmethod
    def _answers_are_choices(cls, answers: list[str], info: ValidationInfo) -> list[str]:
        _distinct(answers, "answer")
        choices = info.data.get("choices")
        if choices is None:
            return answers
        missing = [a for a in answers if a not in choices]
        if missing:
            raise ValueError(f"{missing!r} are not among the choices; copy them verbatim from `choices`")
        if len(answers) == len(choices):
            raise ValueError("every choice is an answer; add at least one wrong choice")
        return answers


class Ordering(QuestionBase):
    """Put items in the right order."""

    kind: Literal["order"] = Field(description="Put the items in order.")
    items: list[Text] = Field(min_length=3, max_length=8, description="In the right order; shown shuffled.")

    _items_distinct = field_validator("items")(lambda v: _distinct(v, "item"))


class FreeText(QuestionBase):
    """A short free-text answer, matched forgivingly (case, spacing, punctuation, small typos)."""

    kind: Literal["text"] = Field(description="Type a short answer.")
    accept: list[Text] = Field(min_length=1, max_length=10, description="Accepted answers.")


# --- the union of every exercise kind -------------------------------------------------
# Module-specific kinds are imported here so that one schema describes every file.
from learnbackend.coding.model import CodeExercise  # noqa: E402
from learnbackend.containers.content import ContainerSpecExercise  # noqa: E402
from learnbackend.gitsandbox.models import GitLevel  # noqa: E402

Exercise = Annotated[
    SingleChoice | MultipleChoice | Ordering | FreeText | ContainerSpecExercise | GitLevel | CodeExercise,
    Field(discriminator="kind"),
]


class Link(ContentModel):
    """A primary source to read further: official documentation, a specification or an RFC."""

    title: Text = Field(description="What the reader will find there, e.g. 'RFC 9110, section 9.2.2 (Idempotent Methods)'.")
    url: Annotated[str, StringConstraints(pattern=r"^https://\S+$")] = Field(description="An https:// address.")


class Primer(ContentModel):
    """A short lesson on one topic of a roadmap branch, shown before the topic's first question."""

    topic: Text = Field(description="The topic it teaches; one of the lesson's `topics`.")
    what: Text = Field(description="What it is, in a few sentences of Markdown.")
    why: Text = Field(description="Why it matters to a backend developer, in a sentence or two.")
    example: Text = Field(description="One worked example, in Markdown (fenced code blocks are kept as written).")
    source: Link = Field(description="One primary source for further reading.")


class Lesson(ContentModel):
    """One lesson file: a titled piece of a module, with its exercises."""

    format_version: Literal[1] = Field(description="The lesson format version; this release reads 1.")
    id: Slug = Field(description="Unique across the whole course, e.g. 'roadmap-databases'.")
    module: Literal["roadmap", "git", "containers", "counter"] = Field(description="The module it belongs to.")
    title: Text = Field(description="Shown in menus and in the mind map.")
    summary: Text = Field(description="One sentence shown in lists.")
    body: str = Field(default="", description="The lesson text, in Markdown.")
    order: int = Field(default=100, description="Position within the module (lower first).")
    topics: list[Text] = Field(default_factory=list, description="Mind-map topics; questions name one of these.")
    exercises: list[Exercise] = Field(default_factory=list, description="The exercises, in order.")
    primers: list[Primer] = Field(default_factory=list, description="Roadmap only: a short lesson per topic, taught before its questions.")

    @field_validator("primers")
    @classmethod
    def _primer_topics_known(cls, primers: list[Primer], info: ValidationInfo) -> list[Primer]:
        topics = info.data.get("topics")
        seen: set[str] = set()
        for primer in primers:
            if topics is not None and primer.topic not in topics:
                raise ValueError(f"primer topic {primer.topic!r} is not in the lesson's topics ({', '.join(topics)})")
            if primer.topic in seen:
                raise ValueError(f"topic {primer.topic!r} has two primers")
            seen.add(primer.topic)
        return primers

    def primer(self, topic: str) -> Primer | None:
        """The primer of this topic, if the lesson has one."""
        return next((p for p in self.primers if p.topic == topic), None)

    def exercise(self, exercise_id: str) -> Exercise | None:
        """The exercise with this (local) id, if any."""
        return next((e for e in self.exercises if e.id == exercise_id), None)


class Pack(ContentModel):
    """The manifest of a lesson directory (``pack.yaml``)."""

    format_version: Literal[1] = Field(description="The pack format version; this release reads 1.")
    name: Slug = Field(description="The pack's name.")
    version: Text = Field(description="The pack's version, recorded in check reports.")
    title: str = Field(default="", description="A human title.")
