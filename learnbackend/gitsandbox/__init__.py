"""The git sandbox: real repositories, a bare remote and a teammate, checked through GitPython.

Kept import-free: the recorder wrapper imports :mod:`solution` and :mod:`policy`
on every git command the learner types.
"""
