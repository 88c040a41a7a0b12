"""The sandboxed runner for learner code: a subprocess with a timeout, resource limits and no network."""

from __future__ import annotations

from learnbackend.sandbox.runner import SandboxResult, run_sandboxed

__all__ = ["SandboxResult", "run_sandboxed"]
