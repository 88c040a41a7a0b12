"""`learnbackend quiz ...` (being written)."""

from __future__ import annotations

from learnbackend.apps import make_app

app = make_app("The roadmap quiz: practice, review what is due, see your mastery map.")
