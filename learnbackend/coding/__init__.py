"""Code exercises, a course-wide kind: the learner completes a Python file; the instructor's tests decide.

The tests run in the checker's process; the learner's module is imported and
called only in a sandboxed worker process, and values cross between them as
plain JSON data (see :mod:`learnbackend.coding.protocol`).
"""
