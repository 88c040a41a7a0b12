"""The course at a glance: per module, how much there is and how much is done."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from learnbackend.course.catalog import Catalog
from learnbackend.course.models import MODULES
from learnbackend.course.progress import ProgressStore

MODULE_TITLES = {
    "roadmap": "Roadmap quiz",
    "git": "Git sandbox",
    "containers": "Containers lab",
    "counter": "Counter lab",
}
MODULE_COMMANDS = {
    "roadmap": "learnbackend quiz",
    "git": "learnbackend git start",
    "containers": "learnbackend containers doctor",
    "counter": "learnbackend counter learn",
}
#: Lab work that counts in a module's progress beside its lesson exercises: module -> "module:function"
#: returning the progress-store ids it records (e.g. one run per counter experiment).
MODULE_ACTIVITIES = {
    "counter": "learnbackend.counter.teach:activity_ids",
}


def activity_ids(module: str) -> list[str]:
    """The module's lab activities (ids recorded in the progress store), if it has any."""
    import importlib

    target = MODULE_ACTIVITIES.get(module)
    if target is None:
        return []
    module_name, _, function = target.partition(":")
    return list(getattr(importlib.import_module(module_name), function)())


@dataclass
class ModuleOverview:
    module: str
    title: str
    command: str
    lessons: int
    exercises: int
    passed: int
    failed: int
    attempts: int

    @property
    def percent(self) -> int:
        return round(100 * self.passed / self.exercises) if self.exercises else 0


@dataclass
class CourseOverview:
    modules: list[ModuleOverview] = field(default_factory=list)
    last_module: str | None = None
    progress_path: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "modules": [dict(vars(m), percent=m.percent) for m in self.modules],
            "last_module": self.last_module,
            "progress_path": self.progress_path,
        }


def course_overview(catalog: Catalog, store: ProgressStore) -> CourseOverview:
    """Counts per module, read from the catalog and the progress store."""
    summary = store.summary()
    overview = CourseOverview(last_module=store.get_value("last_module", kind=str), progress_path=str(store.path))
    for module in MODULES:
        lessons = catalog.by_module(module)
        known = {eid for entry in lessons for eid in entry.exercise_ids()} | set(activity_ids(module))
        # A pass counts wherever it happened: in the module's own flow or in any workspace's `check`.
        statuses = store.statuses(module=module, workspace=None)
        counts = summary.get(module, {})
        overview.modules.append(
            ModuleOverview(
                module=module,
                title=MODULE_TITLES[module],
                command=MODULE_COMMANDS[module],
                lessons=len(lessons),
                exercises=len(known),
                passed=sum(1 for e, s in statuses.items() if s == "passed" and e in known),
                failed=sum(1 for e, s in statuses.items() if s == "failed" and e in known),
                attempts=counts.get("attempts", 0),
            )
        )
    return overview
