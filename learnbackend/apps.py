"""The Typer app factory and the command context shared by every module's CLI.

Kept free of Rich and of engine imports: every sub-app module imports only this
and Typer at load time, so ``learnbackend --help`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from learnbackend.context import Environment


def make_app(help: str, **kwargs: Any) -> typer.Typer:
    """A sub-app with the house settings (plain help text, no completion options)."""
    kwargs.setdefault("no_args_is_help", True)
    return typer.Typer(help=help, rich_markup_mode=None, add_completion=False, **kwargs)


def env_of(ctx: typer.Context) -> Environment:
    """The :class:`Environment` built by the root callback (or a default one)."""
    root = ctx.find_root()
    if root.obj is None:
        from learnbackend.context import Environment

        root.obj = Environment()
    return root.obj
