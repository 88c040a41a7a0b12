"""Loading an exercise's test file in the checker: its ``test_*`` functions, with explained asserts.

The file is the instructor's (trusted). Each ``assert`` is rewritten into an
explicit check (so it also holds under ``python -O``) whose failure message shows
the compared values: ``assert c.get("views") == 5, "counts once"`` fails with
``counts once: 15 != 5``.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from learnbackend.errors import ContentError

_NEGATED = {ast.Eq: "!=", ast.NotEq: "==", ast.Lt: ">=", ast.LtE: ">", ast.Gt: "<=", ast.GtE: "<", ast.Is: "is not",
            ast.IsNot: "is", ast.In: "not in", ast.NotIn: "in"}
_LIMIT = 200


def _short_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a repr that fails is shown by its type
        text = f"<{type(value).__name__}>"
    return text if len(text) <= _LIMIT else text[: _LIMIT - 3] + "..."


def explain(message: Any, source: str, left: Any = None, op: str | None = None, right: Any = None) -> str:
    """The text of a failed assert: the author's message (or the assert's source) and the values compared."""
    head = str(message) if message is not None else f"assert {source}"
    if op is None:
        return head
    return f"{head}: {_short_repr(left)} {op} {_short_repr(right)}"


class _Rewriter(ast.NodeTransformer):
    def __init__(self, source: str) -> None:
        self.source = source
        self.count = 0

    def visit_Assert(self, node: ast.Assert) -> Any:
        text = ast.get_source_segment(self.source, node.test) or "..."
        msg = node.msg or ast.Constant(None)
        test = node.test
        if isinstance(test, ast.Compare) and len(test.ops) == 1 and type(test.ops[0]) in _NEGATED:
            self.count += 1
            left, right = f"_lb_left_{self.count}", f"_lb_right_{self.count}"
            compare = ast.Compare(ast.Name(left, ast.Load()), test.ops, [ast.Name(right, ast.Load())])
            explanation = ast.Call(ast.Name("_lb_explain", ast.Load()),
                                   [msg, ast.Constant(text), ast.Name(left, ast.Load()),
                                    ast.Constant(_NEGATED[type(test.ops[0])]), ast.Name(right, ast.Load())], [])
            statements: list[ast.stmt] = [
                ast.Assign([ast.Name(left, ast.Store())], test.left),
                ast.Assign([ast.Name(right, ast.Store())], test.comparators[0]),
                ast.If(ast.UnaryOp(ast.Not(), compare),
                       [ast.Raise(ast.Call(ast.Name("AssertionError", ast.Load()), [explanation], []))], []),
            ]
        else:
            explanation = ast.Call(ast.Name("_lb_explain", ast.Load()), [msg, ast.Constant(text)], [])
            statements = [ast.If(ast.UnaryOp(ast.Not(), test),
                                 [ast.Raise(ast.Call(ast.Name("AssertionError", ast.Load()), [explanation], []))], [])]
        for statement in statements:
            ast.copy_location(statement, node)
        return statements


@dataclass(frozen=True)
class TestCase:
    """One ``test_*`` function of a test file."""

    name: str
    function: Callable[[], Any]
    hidden: bool = False

    @property
    def condition_id(self) -> str:
        return f"hidden/{self.name}" if self.hidden else self.name

    @property
    def description(self) -> str:
        words = self.name.removeprefix("test_").replace("_", " ")
        return f"(hidden) {words}" if self.hidden else words


def load_tests(path: Path, *, hidden: bool = False, label: str | None = None) -> list[TestCase]:
    """The test functions of ``path``, in file order; ContentError when the file cannot be loaded.

    ``label`` names the file in messages (reports carry no absolute paths); default: the path.
    """
    name = label or str(path)
    try:
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source, filename=name)
    except (OSError, UnicodeDecodeError, SyntaxError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise ContentError(f"The tests {name} cannot be read: {reason}") from None
    tree = ast.fix_missing_locations(_Rewriter(source).visit(tree))
    namespace: dict[str, Any] = {"__name__": f"learnbackend_tests_{path.stem}", "__file__": str(path),
                                 "__builtins__": builtins, "_lb_explain": explain}
    try:
        exec(compile(tree, name, "exec"), namespace)
    except Exception as exc:  # noqa: BLE001 - any error of the instructor's file is reported
        raise ContentError(f"The tests {name} fail to load: {type(exc).__name__}: {exc}",
                           fix="test files import only `learnbackend.coding.remote` and the standard library, "
                               "and reach the learner's names through `learner.NAME` inside test functions") from None
    tests = [TestCase(key, value, hidden) for key, value in namespace.items()
             if key.startswith("test") and callable(value) and getattr(value, "__module__", None) == namespace["__name__"]]
    if not tests:
        raise ContentError(f"The tests {name} define no test_* function.")
    return tests
