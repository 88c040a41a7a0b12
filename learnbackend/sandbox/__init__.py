"""The sandboxed runner for learner code: a subprocess with a timeout, resource limits and no network."""

from __future__ import annotations

from learnbackend.sandbox.runner import (
    SandboxedProcess,
    SandboxResult,
    run_sandboxed,
    start_sandboxed,
)

__all__ = ["SandboxResult", "SandboxedProcess", "run_sandboxed", "start_sandboxed"]
