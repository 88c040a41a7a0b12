"""JSON Schema export of the lesson format, for editor completion."""

from __future__ import annotations

from typing import Any

from learnbackend.course.models import Lesson


def lesson_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) of a lesson file."""
    schema = Lesson.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://learnbackend.dev/schema/lesson-v1.json"
    schema["title"] = "learnbackend lesson file"
    return schema
